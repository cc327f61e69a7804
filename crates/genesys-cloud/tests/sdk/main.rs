//! The facade's integration tests, one binary: each module is one concern (the client and its
//! builder, end to end against the mock, faults, path checks, secrets). One binary links the
//! SDK once instead of five times.

mod bulk;
mod client;
mod e2e;
mod everyday;
// The fault suite is compiled twice on purpose: plain, and with a standard tower layer around
// each call and another around each attempt, which must give the same results.
#[allow(clippy::duplicate_mod)]
mod faults;
#[allow(clippy::duplicate_mod)]
#[path = "faults.rs"]
mod faults_layered;
mod jobs;
mod limits;
mod modify;
mod open_messaging;
mod paths;
mod polled;
mod secrets;
