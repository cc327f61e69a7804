//! The facade's integration tests, one binary: each module is one concern (the client and its
//! builder, end to end against the mock, faults, path checks, secrets). One binary links the
//! SDK once instead of five times.

mod client;
mod e2e;
mod faults;
/// The fault suite again, with a standard tower layer around each call and another around each
/// attempt: the same results.
#[path = "faults.rs"]
mod faults_layered;
mod paths;
mod secrets;
