//! Each attempt's time limit.

use super::call_timeout::TimeLimited;
use super::context::deadline;
use super::service::SdkService;
use crate::body::Body;
use crate::live::Live;
use genesys_cloud_config::Timeouts;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::Error;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Limits each attempt (the current `timeouts.attempt`, read per attempt); the timer fires at
/// the call's [`Deadline`](crate::Deadline) instead when that comes first. An expired attempt is an
/// [`ErrorKind::Timeout`](genesys_cloud_core::ErrorKind::Timeout) error (retried for idempotent operations), never a response.
#[derive(Clone, Debug)]
pub struct AttemptTimeoutLayer {
    timeouts: Live<Timeouts>,
}

impl AttemptTimeoutLayer {
    /// Each attempt gets at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self::live(Live::new(Timeouts::default().attempt(timeout)))
    }

    /// Each attempt gets at most the `attempt` limit of the current `timeouts`.
    pub fn live(timeouts: Live<Timeouts>) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeout<S>;
    fn layer(&self, inner: S) -> AttemptTimeout<S> {
        AttemptTimeout { inner, timeouts: self.timeouts.clone() }
    }
}

/// The service of [`AttemptTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct AttemptTimeout<S> {
    inner: S,
    timeouts: Live<Timeouts>,
}

impl<S: SdkService> Service<Request<Body>> for AttemptTimeout<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = TimeLimited<S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let limit = self.timeouts.with(|t| t.attempt);
        let own = Instant::now() + limit;
        let (at, limit, whole_call) = match deadline(&req) {
            Some(d) if d.at <= own => (d.at, d.limit, true),
            _ => (own, limit, false),
        };
        TimeLimited::new(at, self.inner.call(req), limit, whole_call)
    }
}
