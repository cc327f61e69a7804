//! The transport's integration tests over real sockets, one binary (one link instead of five):
//! layers composed by hand, logging, mTLS, proxies, the whole stack. (Tracing has its own:
//! see `tests/tracing.rs`.)

#[allow(dead_code)]
mod common;
mod layers;
mod logging;
mod mtls;
mod proxy;
mod stack;
