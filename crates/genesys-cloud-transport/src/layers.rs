//! The layers of the stack. Each is a tower [`Layer`] over the erased [`HttpService`], so
//! users can see, reorder and wrap them.

use crate::config::RetryConfig;
use genesys_cloud_auth::TokenProvider;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::error::parse_retry_after;
use genesys_cloud_core::executor::Attempts;
use genesys_cloud_core::http::{header, HeaderValue, Request, Response, StatusCode};
use genesys_cloud_core::meta::is_idempotent_method;
use genesys_cloud_core::{CallOptions, Error, ErrorKind, OperationMeta};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

/// The one service type the stack is erased to: a request with a full body in, a response
/// with a full body (any status) or an SDK error out.
pub type HttpService = BoxCloneSyncService<Request<Bytes>, Response<Bytes>, Error>;

/// A cheaply cloned handle on the next service: each layer clones its inner service once per
/// call, and the inner layers hold handles too, so a call costs one clone per layer rather
/// than a clone of the whole chain per layer.
#[derive(Clone)]
pub(crate) struct Next(Arc<HttpService>);

impl Next {
    pub(crate) fn new(inner: HttpService) -> Self {
        Self(Arc::new(inner))
    }

    pub(crate) fn call(&self, req: Request<Bytes>) -> tower::util::Oneshot<HttpService, Request<Bytes>> {
        HttpService::clone(&self.0).oneshot(req)
    }
}

/// A copy of a request: bodies are bytes, so every attempt can be replayed.
pub fn clone_request(req: &Request<Bytes>) -> Request<Bytes> {
    let mut out = wire_copy(req);
    *out.extensions_mut() = req.extensions().clone();
    out
}

/// What goes on the wire of a request: method, URI, headers and body (shared), not the
/// extensions, which only the stack reads.
pub(crate) fn wire_copy(req: &Request<Bytes>) -> Request<Bytes> {
    let mut out = Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    *out.headers_mut() = req.headers().clone();
    out
}

pub(crate) fn meta(req: &Request<Bytes>) -> Option<&'static OperationMeta> {
    req.extensions().get::<&'static OperationMeta>().copied()
}

/// Whether `req` may be sent twice: its operation says, else its method.
pub(crate) fn is_idempotent(meta: Option<&'static OperationMeta>, req: &Request<Bytes>) -> bool {
    meta.map_or_else(|| is_idempotent_method(req.method()), |m| m.idempotent)
}

/// `tower::Service` for a cloneable stage with `async fn run(self, req)`: cloned per call,
/// always ready.
macro_rules! boxed_service {
    ($name:ident) => {
        impl ::tower::Service<::genesys_cloud_core::http::Request<::genesys_cloud_core::bytes::Bytes>> for $name {
            type Response = ::genesys_cloud_core::http::Response<::genesys_cloud_core::bytes::Bytes>;
            type Error = ::genesys_cloud_core::Error;
            type Future = ::genesys_cloud_core::BoxFuture<'static, Result<Self::Response, Self::Error>>;

            fn poll_ready(&mut self, _cx: &mut ::std::task::Context<'_>) -> ::std::task::Poll<Result<(), Self::Error>> {
                // Inner services are driven per call (`oneshot`), so a stage is always ready.
                ::std::task::Poll::Ready(Ok(()))
            }

            fn call(
                &mut self,
                req: ::genesys_cloud_core::http::Request<::genesys_cloud_core::bytes::Bytes>,
            ) -> Self::Future {
                let this = self.clone();
                Box::pin(async move { this.run(req).await })
            }
        }
    };
}
pub(crate) use boxed_service;

// ---------------------------------------------------------------------------------------------

/// Sets the SDK's headers (`User-Agent`, `purecloud-sdk`) where the request has none.
#[derive(Clone, Debug)]
pub struct HeadersLayer {
    user_agent: HeaderValue,
    sdk: HeaderValue,
}

impl Default for HeadersLayer {
    fn default() -> Self {
        let version = env!("CARGO_PKG_VERSION");
        Self {
            user_agent: HeaderValue::from_str(&format!("genesys-cloud-rs/{version}")).expect("a valid header value"),
            sdk: HeaderValue::from_str(&format!("rust-{version}")).expect("a valid header value"),
        }
    }
}

impl HeadersLayer {
    pub(crate) fn apply(&self, req: &mut Request<Bytes>) {
        let headers = req.headers_mut();
        headers.entry(header::USER_AGENT).or_insert_with(|| self.user_agent.clone());
        headers.entry("purecloud-sdk").or_insert_with(|| self.sdk.clone());
    }
}

impl Layer<HttpService> for HeadersLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        let this = self.clone();
        let inner = Next::new(inner);
        let svc = tower::service_fn(move |mut req: Request<Bytes>| {
            this.apply(&mut req);
            inner.call(req)
        });
        BoxCloneSyncService::new(svc)
    }
}

// ---------------------------------------------------------------------------------------------

/// Adds the bearer token; on a 401 drops that token, takes a fresh one and replays once.
#[derive(Clone)]
pub struct AuthLayer {
    provider: Arc<dyn TokenProvider>,
}

impl AuthLayer {
    /// Tokens from `provider`.
    pub fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self { provider }
    }
}

impl Layer<HttpService> for AuthLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        BoxCloneSyncService::new(AuthService { inner: Next::new(inner), bearer: Bearer::new(self.provider.clone()) })
    }
}

#[derive(Clone)]
struct AuthService {
    inner: Next,
    bearer: Bearer,
}

impl AuthService {
    async fn run(self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let needs_auth = meta(&req).is_none_or(|m| m.needs_auth);
        self.bearer.authorize(&req, needs_auth, clone_request, |r| self.inner.call(r)).await
    }
}

boxed_service!(AuthService);

/// The auth stage's state, shared by [`AuthLayer`] and the fused stack: the token provider
/// and the header of the last token.
#[derive(Clone)]
pub(crate) struct Bearer {
    provider: Arc<dyn TokenProvider>,
    /// The header of the last token, so each call does not format and validate it again.
    last: Arc<arc_swap::ArcSwapOption<(genesys_cloud_auth::Secret, HeaderValue)>>,
}

impl Bearer {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self { provider, last: Arc::default() }
    }

    /// A token valid now: the provider's ready one, else its (possibly refreshing) future.
    async fn token(&self) -> Result<genesys_cloud_auth::Secret, Error> {
        match self.provider.ready() {
            Some(token) => Ok(token),
            None => self.provider.token().await,
        }
    }

    /// Puts `token` in `req`'s `Authorization` header.
    fn set(&self, req: &mut Request<Bytes>, token: &genesys_cloud_auth::Secret) -> Result<(), Error> {
        let value = match &*self.last.load() {
            Some(last) if last.0 == *token => last.1.clone(),
            _ => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| Error::new(ErrorKind::Auth, "the access token is not a valid header value"))?;
                value.set_sensitive(true);
                self.last.store(Some(Arc::new((token.clone(), value.clone()))));
                value
            }
        };
        req.headers_mut().insert(header::AUTHORIZATION, value);
        Ok(())
    }

    /// After a 401 with `stale`: drops it and takes a fresh token, or `None` when the
    /// provider cannot mint another (the 401 stands).
    async fn renew(&self, stale: &genesys_cloud_auth::Secret) -> Result<Option<genesys_cloud_auth::Secret>, Error> {
        self.provider.invalidate(stale);
        let fresh = self.provider.token().await?;
        Ok((fresh != *stale).then_some(fresh))
    }

    /// Sends a copy of `template` (made by `copy`) through `send`, with the bearer token when
    /// the operation needs one; after a 401, drops that token, takes a fresh one and sends one
    /// more copy. A copy is made only when it is sent.
    pub(crate) async fn authorize<C, F, Fut>(
        &self,
        template: &Request<Bytes>,
        needs_auth: bool,
        copy: C,
        send: F,
    ) -> Result<Response<Bytes>, Error>
    where
        C: Fn(&Request<Bytes>) -> Request<Bytes>,
        F: Fn(Request<Bytes>) -> Fut,
        Fut: std::future::Future<Output = Result<Response<Bytes>, Error>>,
    {
        if !needs_auth {
            return send(copy(template)).await;
        }
        let token = self.token().await?;
        let mut req = copy(template);
        self.set(&mut req, &token)?;
        let response = send(req).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let Some(fresh) = self.renew(&token).await? else {
            return Ok(response);
        };
        let mut req = copy(template);
        self.set(&mut req, &fresh)?;
        send(req).await
    }
}

// ---------------------------------------------------------------------------------------------

/// Limits each attempt; an expired attempt is an [`ErrorKind::Timeout`] error (retried for
/// idempotent operations), never a response.
#[derive(Clone, Debug)]
pub struct AttemptTimeoutLayer {
    timeout: Duration,
}

impl AttemptTimeoutLayer {
    /// Each attempt gets at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl Layer<HttpService> for AttemptTimeoutLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        BoxCloneSyncService::new(AttemptTimeout { inner: Next::new(inner), limit: self.timeout })
    }
}

/// The error of an attempt that ran past `limit`.
pub(crate) fn attempt_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the attempt took longer than {limit:?}"))
}

/// The error of a call that ran past `limit`.
pub(crate) fn call_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the call took longer than {limit:?}"))
}

/// The whole-call limit of `req`: its own (`with_timeout`), else `default`.
pub(crate) fn call_limit(req: &Request<Bytes>, default: Duration) -> Duration {
    req.extensions().get::<CallOptions>().and_then(|o| o.timeout).unwrap_or(default)
}

#[derive(Clone)]
struct AttemptTimeout {
    inner: Next,
    limit: Duration,
}

impl AttemptTimeout {
    async fn run(self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        tokio::time::timeout(self.limit, self.inner.call(req))
            .await
            .unwrap_or_else(|_| Err(attempt_timeout(self.limit)))
    }
}

boxed_service!(AttemptTimeout);

// ---------------------------------------------------------------------------------------------

/// Limits the whole call, retries included: the per-call `with_timeout`, else the default.
#[derive(Clone, Debug)]
pub struct CallTimeoutLayer {
    default: Duration,
}

impl CallTimeoutLayer {
    /// Calls without their own limit get `default`.
    pub fn new(default: Duration) -> Self {
        Self { default }
    }
}

impl Layer<HttpService> for CallTimeoutLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        BoxCloneSyncService::new(CallTimeout { inner: Next::new(inner), default: self.default })
    }
}

#[derive(Clone)]
struct CallTimeout {
    inner: Next,
    default: Duration,
}

impl CallTimeout {
    async fn run(self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        let limit = call_limit(&req, self.default);
        tokio::time::timeout(limit, self.inner.call(req)).await.unwrap_or_else(|_| Err(call_timeout(limit)))
    }
}

boxed_service!(CallTimeout);

// ---------------------------------------------------------------------------------------------

/// Retries: 429 always; 502, 503, 504, timeouts and broken connections only for idempotent
/// operations; connection failures (nothing was sent) always. Waits what `Retry-After` says
/// (seconds or HTTP-date) up to a cap, else full-jitter exponential backoff; stops at the
/// attempt or elapsed-time budget.
#[derive(Clone, Debug)]
pub struct RetryLayer {
    config: RetryConfig,
}

impl RetryLayer {
    /// Retries as `config` says.
    pub fn new(config: RetryConfig) -> Self {
        Self { config }
    }
}

impl Layer<HttpService> for RetryLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        BoxCloneSyncService::new(Retry { inner: Next::new(inner), config: self.config.clone() })
    }
}

#[derive(Clone)]
struct Retry {
    inner: Next,
    config: RetryConfig,
}

enum Decision {
    Done,
    RetryAfter(Duration),
}

fn full_jitter(config: &RetryConfig, attempt: u32) -> Duration {
    full_jitter_backoff(config.base_delay, config.max_delay, attempt)
}

/// Full-jitter exponential backoff: a random wait between zero and `min(max, base × 2^attempt)`
/// (the whole ceiling when no randomness is to be had). The retry loop's, and the one other
/// reconnecting parts of the SDK (the notification socket) use.
pub fn full_jitter_backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1u32 << attempt.min(20)).min(max);
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() || cap.is_zero() {
        return cap;
    }
    Duration::from_nanos(u64::from_le_bytes(bytes) % (cap.as_nanos().min(u64::MAX as u128) as u64).max(1))
}

impl Retry {
    async fn run(self, req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        retry_loop(&self.config, req, |r| self.inner.call(r)).await
    }
}

/// The retry policy of one call: what [`RetryLayer`] and the fused stack both apply after
/// each attempt.
pub(crate) struct RetryPolicy<'a> {
    config: &'a RetryConfig,
    idempotent: bool,
    max_attempts: u32,
    max_elapsed: Duration,
    started: tokio::time::Instant,
    deadline: Option<crate::pipeline::Deadline>,
}

/// What follows an attempt.
pub(crate) enum Settled {
    /// The call's outcome (attempts recorded).
    Done(Result<Response<Bytes>, Error>),
    /// Another attempt after this wait.
    Wait(Duration),
}

impl<'a> RetryPolicy<'a> {
    /// The policy for `req` (its operation's idempotency, its own retry options), starting now.
    pub(crate) fn of(
        config: &'a RetryConfig,
        req: &Request<Bytes>,
        started: tokio::time::Instant,
        deadline: Option<crate::pipeline::Deadline>,
    ) -> Self {
        let over = req.extensions().get::<CallOptions>().and_then(|o| o.retry);
        Self::new(config, is_idempotent(meta(req), req), over, started, deadline)
    }

    /// The policy of a call whose idempotency and retry options are known.
    pub(crate) fn new(
        config: &'a RetryConfig,
        idempotent: bool,
        over: Option<genesys_cloud_core::RetryOverride>,
        started: tokio::time::Instant,
        deadline: Option<crate::pipeline::Deadline>,
    ) -> Self {
        Self {
            config,
            idempotent,
            max_attempts: over.and_then(|o| o.max_attempts).unwrap_or(config.max_attempts).max(1),
            max_elapsed: over.and_then(|o| o.max_elapsed).unwrap_or(config.max_elapsed),
            started,
            deadline,
        }
    }

    fn decide(&self, attempt: u32, result: &Result<Response<Bytes>, Error>) -> Decision {
        let config = self.config;
        match result {
            Ok(resp) => match resp.status().as_u16() {
                429 => match parse_retry_after(resp.headers(), SystemTime::now()) {
                    // A wait past the cap is not worth holding the call for: the caller
                    // gets the error at once, with `retry_after()` set.
                    Some(wait) if wait > config.max_retry_after => Decision::Done,
                    Some(wait) => Decision::RetryAfter(wait),
                    None => Decision::RetryAfter(full_jitter(config, attempt)),
                },
                502..=504 if self.idempotent => Decision::RetryAfter(
                    parse_retry_after(resp.headers(), SystemTime::now())
                        .filter(|w| *w <= config.max_retry_after)
                        .unwrap_or_else(|| full_jitter(config, attempt)),
                ),
                _ => Decision::Done,
            },
            Err(e) => match e.kind() {
                ErrorKind::Connect => Decision::RetryAfter(full_jitter(config, attempt)),
                ErrorKind::Transport | ErrorKind::Timeout if self.idempotent => {
                    Decision::RetryAfter(full_jitter(config, attempt))
                }
                _ => Decision::Done,
            },
        }
    }

    /// After attempt number `attempt` gave `result`: the call's outcome, or the wait before
    /// the next attempt.
    pub(crate) fn settle(&self, attempt: u32, result: Result<Response<Bytes>, Error>) -> Settled {
        let wait = match self.decide(attempt, &result) {
            Decision::Done => return Settled::Done(with_attempts(result, attempt)),
            Decision::RetryAfter(wait) => wait,
        };
        let now = tokio::time::Instant::now();
        let deadline = self.deadline;
        if deadline.is_some_and(|d| now >= d.at) && matches!(&result, Err(e) if e.kind() == ErrorKind::Timeout) {
            // The whole call's time is up: no attempt may follow.
            return Settled::Done(with_attempts(result, attempt));
        }
        // A wait that would end past the call's deadline is not worth starting.
        let past_deadline = deadline.is_some_and(|d| now + wait >= d.at);
        if attempt >= self.max_attempts || (now - self.started) + wait > self.max_elapsed || past_deadline {
            return Settled::Done(match result {
                Err(e) if attempt > 1 => Err(e.into_retries_exhausted(attempt)),
                other => with_attempts(other, attempt),
            });
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
        Settled::Wait(wait)
    }
}

/// The retry policy of [`RetryLayer`] around any way of sending one attempt.
pub(crate) async fn retry_loop<F, Fut>(
    config: &RetryConfig,
    req: Request<Bytes>,
    mut send: F,
) -> Result<Response<Bytes>, Error>
where
    F: FnMut(Request<Bytes>) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Bytes>, Error>>,
{
    let policy = RetryPolicy::of(config, &req, tokio::time::Instant::now(), None);
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let mut this_attempt = clone_request(&req);
        this_attempt.extensions_mut().insert(Attempts(attempt));
        match policy.settle(attempt, send(this_attempt).await) {
            Settled::Done(result) => return result,
            Settled::Wait(wait) => tokio::time::sleep(wait).await,
        }
    }
}

fn with_attempts(result: Result<Response<Bytes>, Error>, attempts: u32) -> Result<Response<Bytes>, Error> {
    match result {
        // One attempt is what a response without the extension means.
        Ok(mut r) => {
            if attempts > 1 {
                r.extensions_mut().insert(Attempts(attempts));
            }
            Ok(r)
        }
        Err(e) => Err(e.with_attempts(attempts)),
    }
}

boxed_service!(Retry);

/// Makes origin-form request URIs absolute on a base URL, so the layers inside (logging) see
/// the full URL.
#[derive(Clone, Debug)]
pub struct BaseUrlLayer {
    base: Arc<crate::region::Base>,
}

impl BaseUrlLayer {
    /// Requests go to `base`.
    pub fn new(base: crate::region::Base) -> Self {
        Self { base: Arc::new(base) }
    }
}

/// Makes an origin-form request URI absolute on `base`.
pub(crate) fn absolute(base: &crate::region::Base, req: &mut Request<Bytes>) -> Result<(), Error> {
    if req.uri().scheme().is_none() {
        *req.uri_mut() = base.join_uri(req.uri())?;
    }
    Ok(())
}

impl Layer<HttpService> for BaseUrlLayer {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        let base = self.base.clone();
        let inner = Next::new(inner);
        BoxCloneSyncService::new(tower::service_fn(move |mut req: Request<Bytes>| {
            let call = absolute(&base, &mut req).map(|()| inner.call(req));
            async move { call?.await }
        }))
    }
}
