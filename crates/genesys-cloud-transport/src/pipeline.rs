//! The default stack, fused: the same stages as the public layers (span, call timeout,
//! retry, attempt timeout, auth, SDK headers, base URL, logging, hyper), run by the same
//! functions, but composed as one future per call. Layered with tower, each stage costs a
//! boxed service clone, a `Oneshot` and a boxed future per call; fused, a call costs one box.
//! Users who want to reorder or replace stages build the stack from the layers instead
//! ([`crate::TransportBuilder::from_service`]); user layers wrap either.

use crate::client::HyperClient;
use crate::layers::{
    absolute, attempt_timeout, call_limit, call_timeout, retry_loop, Bearer, HeadersLayer, HttpService,
};
use crate::logging::{call_span, logged, LogHandle};
use crate::region::Base;
use crate::RetryConfig;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::Error;
use std::sync::Arc;
use std::time::Duration;
use tower::util::BoxCloneSyncService;

/// The stages of one host's stack.
pub(crate) struct Pipeline {
    /// The default whole-call limit and a `tracing` span per call; `None` for token requests
    /// (their caller, a call of the API stack, has both).
    pub(crate) call: Option<Duration>,
    pub(crate) retry: RetryConfig,
    pub(crate) attempt: Duration,
    pub(crate) auth: Option<Bearer>,
    pub(crate) headers: HeadersLayer,
    pub(crate) base: Base,
    pub(crate) logging: LogHandle,
    pub(crate) client: HyperClient,
}

impl Pipeline {
    /// The pipeline as the erased service the transport holds.
    pub(crate) fn service(this: Arc<Self>) -> HttpService {
        BoxCloneSyncService::new(PipelineService(this))
    }

    /// One call. The whole-call limit is a deadline: each attempt's one timer fires at its own
    /// limit or at the deadline, whichever is first, and no retry waits past it.
    pub(crate) async fn call(&self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let Some(default) = self.call else {
            return retry_loop(&self.retry, req, None, |r| self.attempt(r, None)).await;
        };
        use tracing::Instrument as _;
        let span = call_span(&req);
        let limit = call_limit(&req, default);
        let deadline = Deadline { at: tokio::time::Instant::now() + limit, limit };
        retry_loop(&self.retry, req, Some(deadline), |r| self.attempt(r, Some(deadline))).instrument(span).await
    }

    async fn attempt(&self, req: Request<Bytes>, deadline: Option<Deadline>) -> Result<Response<Bytes>, Error> {
        let authorized = async {
            match &self.auth {
                Some(auth) => auth.authorize(req, |r| self.wire(r)).await,
                None => self.wire(req).await,
            }
        };
        let own = tokio::time::Instant::now() + self.attempt;
        let (at, whole_call) = match deadline {
            Some(d) if d.at <= own => (d.at, Some(d.limit)),
            _ => (own, None),
        };
        tokio::time::timeout_at(at, authorized)
            .await
            .unwrap_or_else(|_| Err(whole_call.map_or_else(|| attempt_timeout(self.attempt), call_timeout)))
    }

    async fn wire(&self, mut req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        self.headers.apply(&mut req);
        absolute(&self.base, &mut req)?;
        logged(&self.logging, req, |r| self.client.send(&self.base, r)).await
    }
}

/// When a call must be over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: tokio::time::Instant,
    pub(crate) limit: Duration,
}

#[derive(Clone)]
struct PipelineService(Arc<Pipeline>);

impl PipelineService {
    async fn run(self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        self.0.call(req).await
    }
}

crate::layers::boxed_service!(PipelineService);
