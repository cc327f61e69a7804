//! The default stack, fused: the same stages as the public layers (span, call timeout,
//! retry, attempt timeout, auth, SDK headers, base URL, logging, hyper), run by the same
//! functions ([`RetryPolicy`], [`Bearer`], [`HeadersLayer::apply`], [`HyperClient::prepare`],
//! [`AttemptLog`]), but as one future per call. Layered with tower, each stage costs a boxed
//! service clone, a `Oneshot`, a boxed future and a copy of the request per call, and every
//! stage's future nests inside the next; fused, a call is one box holding a few small
//! futures, the request is prepared once (headers, absolute URI) and each attempt sends a
//! copy of it. Users who want to reorder or replace stages build the stack from the layers
//! instead ([`crate::TransportBuilder::from_service`]); user layers wrap either.

use crate::client::HyperClient;
use crate::layers::{
    attempt_timeout, call_timeout, is_idempotent, meta, wire_copy, Bearer, HeadersLayer, HttpService, RetryPolicy,
    Settled,
};
use crate::logging::{call_span, AttemptLog, LogHandle};
use crate::region::Base;
use crate::RetryConfig;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, CallOptions, Error, OperationMeta, RequestParts, RetryOverride};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
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

    /// One call of a request that carries its operation and options in its extensions.
    pub(crate) fn start(self: &Arc<Self>, req: Request<Bytes>) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        let meta = meta(&req);
        let options = req.extensions().get::<CallOptions>();
        let (timeout, retry) = options.map_or((None, None), |o| (o.timeout, o.retry));
        self.start_with(req, Call { meta, timeout, retry })
    }

    /// One call of an operation, its request built without extensions.
    pub(crate) fn start_parts(
        self: &Arc<Self>,
        parts: RequestParts,
    ) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        match parts.into_wire() {
            Ok((req, meta, options)) => {
                self.start_with(req, Call { meta: Some(meta), timeout: options.timeout, retry: options.retry })
            }
            Err(e) => Box::pin(std::future::ready(Err(e))),
        }
    }

    /// One call as a boxed future, inside the call's `tracing` span when a subscriber wants it.
    fn start_with(
        self: &Arc<Self>,
        req: Request<Bytes>,
        call: Call,
    ) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        let this = self.clone();
        if this.call.is_some() {
            let span = call_span(call.meta, req.method());
            if !span.is_disabled() {
                use tracing::Instrument as _;
                return Box::pin(async move { this.call(req, call).await }.instrument(span));
            }
        }
        Box::pin(async move { this.call(req, call).await })
    }

    /// One call. The whole-call limit is a deadline: each attempt's one timer fires at its own
    /// limit or at the deadline, whichever is first, and no retry waits past it.
    async fn call(&self, mut req: Request<Bytes>, call: Call) -> Result<Response<Bytes>, Error> {
        // What every attempt shares is done once: SDK headers, the absolute URI, gzip.
        self.headers.apply(&mut req);
        HyperClient::prepare(&self.base, &mut req)?;
        let started = Instant::now();
        let deadline = self.call.map(|default| {
            let limit = call.timeout.unwrap_or(default);
            Deadline { at: started + limit, limit }
        });
        let idempotent = is_idempotent(call.meta, &req);
        let policy = RetryPolicy::new(&self.retry, idempotent, call.retry, started, deadline);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let now = if attempt == 1 { started } else { Instant::now() };
            let result = self.attempt(&req, call.meta, attempt, now, deadline).await;
            match policy.settle(attempt, result) {
                Settled::Done(result) => return result,
                Settled::Wait(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// One attempt, begun at `now`, under its timer.
    async fn attempt(
        &self,
        template: &Request<Bytes>,
        meta: Option<&'static OperationMeta>,
        attempt: u32,
        now: Instant,
        deadline: Option<Deadline>,
    ) -> Result<Response<Bytes>, Error> {
        let own = now + self.attempt;
        let (at, whole_call) = match deadline {
            Some(d) if d.at <= own => (d.at, Some(d.limit)),
            _ => (own, None),
        };
        tokio::time::timeout_at(at, self.authorized(template, meta, attempt))
            .await
            .unwrap_or_else(|_| Err(whole_call.map_or_else(|| attempt_timeout(self.attempt), call_timeout)))
    }

    /// A copy of `template` with the bearer token; after a 401, one more with a fresh token.
    async fn authorized(
        &self,
        template: &Request<Bytes>,
        meta: Option<&'static OperationMeta>,
        attempt: u32,
    ) -> Result<Response<Bytes>, Error> {
        let send = |req| self.exchange(req, meta, attempt);
        match &self.auth {
            Some(auth) => auth.authorize(template, meta.is_none_or(|m| m.needs_auth), wire_copy, send).await,
            None => send(wire_copy(template)).await,
        }
    }

    /// One request on the wire, logged. The request goes to hyper at once; the future holds
    /// only hyper's response future and the log.
    fn exchange(
        &self,
        req: Request<Bytes>,
        meta: Option<&'static OperationMeta>,
        attempt: u32,
    ) -> impl std::future::Future<Output = Result<Response<Bytes>, Error>> + '_ {
        let log = AttemptLog::start(&self.logging, &req, meta, attempt);
        let sent = self.client.send_prepared(req);
        async move {
            let result = sent.await;
            log.finish(&self.logging, &result);
            result
        }
    }
}

/// What the stack reads about a call besides its request.
#[derive(Clone, Copy)]
pub(crate) struct Call {
    meta: Option<&'static OperationMeta>,
    /// The call's own whole-call limit (`with_timeout`).
    timeout: Option<Duration>,
    /// The call's own retry settings (`with_retry`).
    retry: Option<RetryOverride>,
}

/// When a call must be over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: tokio::time::Instant,
    pub(crate) limit: Duration,
}

#[derive(Clone)]
struct PipelineService(Arc<Pipeline>);

impl tower::Service<Request<Bytes>> for PipelineService {
    type Response = Response<Bytes>;
    type Error = Error;
    type Future = BoxFuture<'static, Result<Response<Bytes>, Error>>;

    fn poll_ready(&mut self, _cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        self.0.start(req)
    }
}
