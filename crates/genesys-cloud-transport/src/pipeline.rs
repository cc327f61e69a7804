//! The default stack, fused: the same stages as the public layers (span, call timeout,
//! retry, attempt timeout, auth, SDK headers, base URL, logging, hyper), run by the same
//! functions, but composed as one future per call. Layered with tower, each stage costs a
//! boxed service clone, a `Oneshot` and a boxed future per call; fused, a call costs one box.
//! Users who want to reorder or replace stages build the stack from the layers instead
//! ([`crate::TransportBuilder::from_service`]); user layers wrap either.

use crate::client::HyperClient;
use crate::layers::{absolute, retry_loop, AuthService, HeadersLayer, HttpService};
use crate::logging::{call_span, logged, LogHandle};
use crate::region::Base;
use crate::RetryConfig;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, CallOptions, Error, ErrorKind};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::util::BoxCloneSyncService;
use tower::Service;

/// The stages of one host's stack.
pub(crate) struct Pipeline {
    /// The default whole-call limit and a `tracing` span per call; `None` for token requests
    /// (their caller, a call of the API stack, has both).
    pub(crate) call: Option<Duration>,
    pub(crate) retry: RetryConfig,
    pub(crate) attempt: Duration,
    pub(crate) auth: Option<AuthService>,
    pub(crate) headers: HeadersLayer,
    pub(crate) base: Base,
    pub(crate) logging: LogHandle,
    pub(crate) client: HyperClient,
}

impl Pipeline {
    /// The pipeline as the erased service the transport holds.
    pub(crate) fn into_service(self) -> HttpService {
        BoxCloneSyncService::new(PipelineService(Arc::new(self)))
    }

    async fn call(&self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let Some(default) = self.call else {
            return retry_loop(&self.retry, req, |r| self.attempt(r)).await;
        };
        use tracing::Instrument as _;
        let span = call_span(&req);
        let limit = req.extensions().get::<CallOptions>().and_then(|o| o.timeout).unwrap_or(default);
        let retried = retry_loop(&self.retry, req, |r| self.attempt(r));
        match tokio::time::timeout(limit, retried).instrument(span).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("the call took longer than {limit:?}"))),
        }
    }

    async fn attempt(&self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let authorized = async {
            match &self.auth {
                Some(auth) => auth.authorize(req, |r| self.wire(r)).await,
                None => self.wire(req).await,
            }
        };
        match tokio::time::timeout(self.attempt, authorized).await {
            Ok(r) => r,
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("the attempt took longer than {:?}", self.attempt))),
        }
    }

    async fn wire(&self, mut req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        self.headers.apply(&mut req);
        absolute(&self.base, &mut req)?;
        logged(&self.logging, req, |r| self.client.send(&self.base, r)).await
    }
}

#[derive(Clone)]
struct PipelineService(Arc<Pipeline>);

impl Service<Request<Bytes>> for PipelineService {
    type Response = Response<Bytes>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Bytes>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let pipeline = self.0.clone();
        Box::pin(async move { pipeline.call(req).await })
    }
}
