//! The transport's integration tests over real sockets, one binary (one link instead of six):
//! layers composed by hand, logging, mTLS, proxies, the whole stack, tracing.

#[allow(dead_code)]
mod common;
mod layers;
mod logging;
mod mtls;
mod proxy;
mod stack;
mod tracing;
