//! The whole call's time limit, and the call's deadline the layers below read.

use super::context::{CallContext, Deadline};
use super::service::SdkService;
use crate::body::Body;
use crate::live::Live;
use genesys_cloud_config::Timeouts;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{Error, ErrorKind};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// The error of an attempt that ran past `limit`.
fn attempt_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the attempt took longer than {limit:?}"))
}

/// The error of a call that ran past `limit`.
fn call_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the call took longer than {limit:?}"))
}

pin_project_lite::pin_project! {
    /// The future of [`CallTimeout`] and [`AttemptTimeout`]: the inner future under one timer;
    /// when the timer fires first, the error says which limit it was.
    pub struct TimeLimited<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        limit: Duration,
        whole_call: bool,
    }
}

impl<F: std::future::Future> TimeLimited<F> {
    /// `inner` until `at`, when the error names `limit` (and whether it was the whole call's).
    pub(super) fn new(at: Instant, inner: F, limit: Duration, whole_call: bool) -> Self {
        Self { inner: tokio::time::timeout_at(at, inner), limit, whole_call }
    }
}

impl<F: std::future::Future<Output = Result<Response<Body>, Error>>> std::future::Future for TimeLimited<F> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) if *this.whole_call => Poll::Ready(Err(call_timeout(*this.limit))),
            Poll::Ready(Err(_)) => Poll::Ready(Err(attempt_timeout(*this.limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Limits the whole call, retries included: the call's own `with_timeout`, else the
/// current default (`timeouts.call`, read per call).
#[derive(Clone, Debug)]
pub struct CallTimeoutLayer {
    timeouts: Live<Timeouts>,
}

impl CallTimeoutLayer {
    /// Calls without their own limit get `default`.
    pub fn new(default: Duration) -> Self {
        Self::live(Live::new(Timeouts::default().call(default)))
    }

    /// Calls without their own limit get the `call` limit of the current `timeouts`.
    pub fn live(timeouts: Live<Timeouts>) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for CallTimeoutLayer {
    type Service = CallTimeout<S>;
    fn layer(&self, inner: S) -> CallTimeout<S> {
        CallTimeout { inner, timeouts: self.timeouts.clone() }
    }
}

/// The service of [`CallTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct CallTimeout<S> {
    inner: S,
    timeouts: Live<Timeouts>,
}

impl<S: SdkService> Service<Request<Body>> for CallTimeout<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = TimeLimited<S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let context = CallContext::of_mut(&mut req);
        let own = context.options.as_ref().and_then(|o| o.timeout);
        let limit = own.unwrap_or_else(|| self.timeouts.with(|t| t.call));
        let at = Instant::now() + limit;
        context.deadline = Some(Deadline { at, limit });
        // The stages below stop at the deadline too, so the error passes the retry layer and
        // has the attempt count: the attempt timer fires there when it comes first, the
        // retry layer starts no wait past it, and the auth and pace layers give up a wait for
        // a token or a turn there. This one stands for what a stage of the application's
        // waits (a concurrency limit), and for stacks without those layers.
        TimeLimited::new(at, self.inner.call(req), limit, true)
    }
}

/// `wait`, given up at the call's deadline (when it has one) with the call's timeout error:
/// for the waits of a stage outside any attempt's timer (a token, a turn of the pacer), so
/// the error reaches the retry layer, which counts the attempt, before the call's timer fires.
pub(crate) async fn until_deadline<T>(
    deadline: Option<Deadline>,
    wait: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.at, wait).await.unwrap_or_else(|_| Err(call_timeout(d.limit))),
        None => wait.await,
    }
}
