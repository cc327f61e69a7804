//! The transport of genesys-cloud-rs: hyper-util's pooled client with rustls under a tower
//! stack, implementing [`genesys_cloud_core::Executor`].
//!
//! The stack is the composition of the public layers of this crate, outer to inner:
//!
//! 1. the application's call layers ([`TransportBuilder::with_layer`]): each sees every
//!    logical call once;
//! 2. [`SpanLayer`]: one `tracing` span per call;
//! 3. [`CallTimeoutLayer`]: the whole call, retries included (per call: `with_timeout`); it
//!    sets the call's [`Deadline`];
//! 4. [`RetryLayer`]: 429 always, 502/503/504 and broken connections for idempotent
//!    operations, `Retry-After` in both forms with a cap, full-jitter backoff, budgets, never
//!    waiting past the deadline; 404s for a bounded time when the call asks (a read right
//!    after a create);
//! 5. the application's attempt layers ([`TransportBuilder::with_attempt_layer`]): each sees
//!    every attempt (metrics, rate limiting, per-attempt tracing);
//! 6. [`AuthLayer`]: the bearer token from a [`TokenProvider`] (one token, or a
//!    [`TokenPool`]'s in turn); after a 401, a fresh token and one replay, which the retry
//!    layer sends as one more attempt ([`Reauthorize`]);
//! 7. [`PaceLayer`]: each token kept under its rate limit, learned from the
//!    `inin-ratelimit-*` headers ([`RateLimits`]);
//! 8. [`AttemptTimeoutLayer`]: each attempt as it goes out (or the deadline, when it comes
//!    first), so waiting for a token or for the pacer is not a slow attempt;
//! 9. [`HeadersLayer`]: `User-Agent: genesys-cloud-rs/<version>` and `purecloud-sdk`
//!    (tower-http's `SetRequestHeader`);
//! 10. [`BaseUrlLayer`]: the absolute URL on the API host of the [`Endpoint`];
//! 11. [`LoggingLayer`]: each attempt as it goes out, with secrets redacted;
//! 12. the HTTP service: [`HyperClient`] (gzip by tower-http's `Decompression`), through a
//!     [`Proxy`] if set, or the one [`TransportBuilder::http_service`] puts there.
//!
//! Requests and responses carry a whole [`Body`], an [`http_body::Body`], so tower's and
//! tower-http's layers fit at both extension points as they are. Retry and timeouts are
//! [`Live`] settings, read per call.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod budget;
mod client;
mod layers;
mod live;
mod logging;
mod pace;
mod proxy;
mod region;
mod tls;

// The public surface is what users compose: the layers, the transport and its builder, the
// call's context, the settings, the body and error types. The services and futures the layers
// make stay in their modules, unnameable: `<RetryLayer as Layer<S>>::Service` names one.
pub use body::{Body, BoxError};
pub use budget::RetryBudget;
pub use client::{HyperClient, DEFAULT_MAX_RESPONSE_SIZE};
pub use genesys_cloud_config::{Proxy, RateLimits, Retry, Timeouts};
pub use layers::{
    full_jitter_backoff, AttemptTimeoutLayer, AuthLayer, BaseUrlLayer, CallContext, CallTimeoutLayer, Deadline,
    HeadersLayer, HttpService, Reauthorize, RetryLayer, SdkService,
};
pub use live::Live;
pub use logging::{
    LogFormat, LogHandle, LogLevel, LogSettings, LoggingLayer, SpanLayer, LOG_DROP_WAIT, LOG_QUEUE_BYTES,
    LOG_QUEUE_LINES,
};
pub use pace::{PaceLayer, PaceStats, Pacer, RateLimitStatus};

use body::error_from_layer;
use client::HyperCall;
use layers::{AttemptTimeout, Auth, BaseUrl, CallTimeout, Headers, RetryService};
use logging::{Logging, Spanned};
use pace::Paced;
pub use proxy::connect_tcp;
pub use region::{Base, Endpoint, Region};
pub use tls::TlsConfig;

/// The `http-body` crate the stack's bodies implement.
pub use http_body;

use genesys_cloud_auth::{CacheOptions, Grant, StaticToken, TokenCache, TokenPool, TokenProvider};
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, Error, Executor, SharedExecutor};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

/// The executor over the stack. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    calls: CallStack,
    api_host: String,
    token_cache: Option<Arc<TokenCache>>,
    token_pool: Option<Arc<TokenPool>>,
    pacer: Option<Arc<Pacer>>,
    retry_budget: Arc<RetryBudget>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("api_host", &self.api_host).finish_non_exhaustive()
    }
}

impl Executor for Transport {
    fn execute(&self, request: Request<Bytes>) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        let request = body::request_in(request);
        match &self.calls {
            CallStack::Sdk(service) => start(service.clone(), request),
            CallStack::Layered(service) => start(service.clone(), request),
        }
    }

    /// The request with its operation and options as one [`CallContext`], the one entry its
    /// extensions have.
    fn execute_parts(
        &self,
        parts: genesys_cloud_core::RequestParts,
    ) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        let (mut request, meta, options) = match parts.into_wire() {
            Ok(wire) => wire,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let options = (!options.is_empty()).then_some(options);
        request.extensions_mut().insert(CallContext::new(Some(meta), options));
        self.execute(request)
    }

    fn api_host(&self) -> Option<String> {
        Some(self.api_host.clone())
    }
}

impl Transport {
    /// A builder.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    /// The erased service at the top of the stack.
    pub fn service(&self) -> HttpService {
        match &self.calls {
            CallStack::Sdk(service) => BoxCloneSyncService::new(service.clone()),
            CallStack::Layered(service) => service.clone(),
        }
    }

    /// The token cache, when the transport was built with a grant (the first token's, with a
    /// pool).
    pub fn token_cache(&self) -> Option<Arc<TokenCache>> {
        self.token_cache.clone()
    }

    /// The token pool, when the transport was built with a grant and a pool of more than one.
    pub fn token_pool(&self) -> Option<Arc<TokenPool>> {
        self.token_pool.clone()
    }

    /// The pacer (and through it, what pacing has done so far: requests, 429s, waits), when
    /// the transport has tokens.
    pub fn pacer(&self) -> Option<Arc<Pacer>> {
        self.pacer.clone()
    }

    /// The retry budget every call of this transport (token requests included) draws on,
    /// and what it refused.
    pub fn retry_budget(&self) -> Arc<RetryBudget> {
        self.retry_budget.clone()
    }
}

type WrapFn = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// `service` inside the application's `layers`, the first added outermost.
fn wrapped(layers: &[WrapFn], service: HttpService) -> HttpService {
    layers.iter().rev().fold(service, |inner, wrap| wrap(inner))
}

/// How tokens are obtained.
enum AuthSource {
    None,
    Grant(Grant, CacheOptions),
    Provider(Arc<dyn TokenProvider>),
}

/// Builds a [`Transport`]. Settings may come in any order; [`build`](Self::build) checks them.
#[must_use = "a builder does nothing until it is built"]
pub struct TransportBuilder {
    endpoint: Endpoint,
    timeouts: Live<Timeouts>,
    retry: Live<Retry>,
    rate_limits: Live<RateLimits>,
    auth: AuthSource,
    call_layers: Vec<WrapFn>,
    attempt_layers: Vec<WrapFn>,
    http: Option<HttpService>,
    proxy: Option<Proxy>,
    logging: LogHandle,
    tls: TlsConfig,
    max_response_size: usize,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        Self {
            endpoint: Region::default().endpoint(),
            timeouts: Live::default(),
            retry: Live::default(),
            rate_limits: Live::default(),
            auth: AuthSource::None,
            call_layers: Vec::new(),
            attempt_layers: Vec::new(),
            http: None,
            proxy: None,
            logging: LogHandle::new(LogSettings::default()),
            tls: TlsConfig::default(),
            max_response_size: DEFAULT_MAX_RESPONSE_SIZE,
        }
    }
}

impl std::fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("endpoint", &self.endpoint)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("rate_limits", &self.rate_limits)
            .field("call_layers", &self.call_layers.len())
            .field("attempt_layers", &self.attempt_layers.len())
            .field("http_service", &self.http.is_some())
            .field("proxy", &self.proxy)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// A service the stack can take at an extension point, as it is: requests of [`Body`], any
/// response body that is an [`http_body::Body`], any error convertible to [`BoxError`].
/// Implemented for every such service (the services of tower's and tower-http's layers, a
/// `service_fn` double); [`into_http_service`](Self::into_http_service) erases it.
pub trait StackService: Clone + Send + Sync + 'static {
    /// The service as the stack's [`HttpService`]: its errors become the SDK's (tower's
    /// timeout a timeout error, anything else a transport error naming it) and its response body is read whole into a [`Body`] (at once
    /// when it is one already).
    fn into_http_service(self) -> HttpService;
}

impl<T, B> StackService for T
where
    T: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn into_http_service(self) -> HttpService {
        BoxCloneSyncService::new(Adapted(self))
    }
}

/// The adapter behind [`StackService::into_http_service`].
#[derive(Clone)]
struct Adapted<T>(T);

impl<T, B> Service<Request<Body>> for Adapted<T>
where
    T: Service<Request<Body>, Response = Response<B>>,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = body::Collected<T::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.0.poll_ready(cx).map_err(error_from_layer)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        body::Collected::new(self.0.call(req))
    }
}

/// The innermost service: hyper, or the one the application put there.
#[derive(Clone)]
enum HttpBackend {
    Hyper(HyperClient),
    Custom(HttpService),
}

impl Service<Request<Body>> for HttpBackend {
    type Response = Response<Body>;
    type Error = Error;
    type Future = futures_util::future::Either<HyperCall, BoxFuture<'static, Result<Response<Body>, Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            HttpBackend::Hyper(h) => h.poll_ready(cx),
            HttpBackend::Custom(c) => c.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        match self {
            HttpBackend::Hyper(h) => futures_util::future::Either::Left(h.call(req)),
            HttpBackend::Custom(c) => futures_util::future::Either::Right(c.call(req)),
        }
    }
}

/// The SDK's layers of one attempt below the auth layer.
type SdkAttempt = AttemptTimeout<Headers<BaseUrl<Logging<HttpBackend>>>>;

/// The future of a service of `Request<Body>`.
type FutureOf<S> = <S as Service<Request<Body>>>::Future;

/// One attempt's stack. The SDK's layers are composed as they are, and boxed (as an
/// [`HttpService`]) only when the application's attempt layers sit around them: a call
/// through the SDK's layers alone allocates neither a copy of the stack nor its future.
#[derive(Clone)]
enum AttemptStack {
    /// With the bearer token and pacing: API calls.
    Authorized(Auth<Paced<SdkAttempt>>),
    /// Without: token requests.
    Anonymous(SdkAttempt),
    /// With the application's attempt layers around the SDK's.
    Layered(HttpService),
}

impl Service<Request<Body>> for AttemptStack {
    type Response = Response<Body>;
    type Error = Error;
    type Future = futures_util::future::Either<
        FutureOf<Auth<Paced<SdkAttempt>>>,
        futures_util::future::Either<FutureOf<SdkAttempt>, FutureOf<HttpService>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            AttemptStack::Authorized(s) => s.poll_ready(cx),
            AttemptStack::Anonymous(s) => s.poll_ready(cx),
            AttemptStack::Layered(s) => s.poll_ready(cx),
        }
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        use futures_util::future::Either::{Left, Right};
        match self {
            AttemptStack::Authorized(s) => Left(s.call(req)),
            AttemptStack::Anonymous(s) => Right(Left(s.call(req))),
            AttemptStack::Layered(s) => Right(Right(s.call(req))),
        }
    }
}

/// The SDK's layers of one call.
type SdkCall = Spanned<CallTimeout<RetryService<AttemptStack>>>;

/// The top of the stack: the SDK's call layers as they are, or boxed with the application's
/// call layers around them.
#[derive(Clone)]
enum CallStack {
    Sdk(SdkCall),
    Layered(HttpService),
}

/// Starts a call through `service`. The SDK's own top of the stack is always ready, and so
/// are most call layers: the call starts at once, and its future holds neither the request
/// nor the service. A layer that is not ready yet (a concurrency limit) is waited for as
/// tower says.
fn start<S>(mut service: S, request: Request<Body>) -> BoxFuture<'static, Result<Response<Bytes>, Error>>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Error> + Send + 'static,
    S::Future: Send + 'static,
{
    use futures_util::FutureExt as _;
    let bytes = |result: Result<Response<Body>, Error>| result.map(body::response_out);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => Box::pin(service.call(request).map(bytes)),
        Poll::Ready(Err(e)) => Box::pin(std::future::ready(Err(e))),
        Poll::Pending => Box::pin(service.oneshot(request).map(bytes)),
    }
}

impl TransportBuilder {
    /// Calls go to this region (default `us_east_1`).
    pub fn region(mut self, region: Region) -> Self {
        self.endpoint = region.endpoint();
        self
    }

    /// Calls go to this endpoint (a custom base URL or a gateway).
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// Sends every request through a proxy (HTTP CONNECT), or the one the environment names
    /// with [`Proxy::from_env`].
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The proxy set so far (for other sockets of the same client, such as the notification
    /// WebSocket, with [`connect_tcp`]).
    pub fn proxy_settings(&self) -> Option<&Proxy> {
        self.proxy.as_ref()
    }

    /// The TLS settings set so far (for other sockets of the same client, such as the
    /// notification WebSocket).
    pub fn tls_settings(&self) -> &TlsConfig {
        &self.tls
    }

    /// TLS settings: extra CAs and a client certificate (mTLS).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// HTTP logging settings (default: none).
    pub fn logging(mut self, settings: LogSettings) -> Self {
        self.logging = LogHandle::new(settings);
        self
    }

    /// Logging through a shared handle, so settings can change while the client runs.
    pub fn log_handle(mut self, handle: LogHandle) -> Self {
        self.logging = handle;
        self
    }

    /// Time limits (the connect limit applies when the transport is built; the attempt and
    /// call limits are read per call).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Live::new(timeouts);
        self
    }

    /// Time limits through a shared setting: a change applies to the next call.
    pub fn live_timeouts(mut self, timeouts: Live<Timeouts>) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Live::new(retry);
        self
    }

    /// Retry settings through a shared setting: a change applies to the next call.
    pub fn live_retry(mut self, retry: Live<Retry>) -> Self {
        self.retry = retry;
        self
    }

    /// Rate-limit settings: pacing on or off, the token pool's size, the limit assumed until
    /// the headers say. Default: pacing on, one token.
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Live::new(limits);
        self
    }

    /// Rate-limit settings through a shared setting: pacing on or off applies to the next
    /// call (the pool's size when the transport is built).
    pub fn live_rate_limits(mut self, limits: Live<RateLimits>) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Tokens from a grant, through a [`TokenCache`] on the login host (a [`TokenPool`] of
    /// them when [`RateLimits::token_pool`] is more than one and the grant is client
    /// credentials).
    pub fn grant(mut self, grant: Grant, options: CacheOptions) -> Self {
        self.auth = AuthSource::Grant(grant, options);
        self
    }

    /// Tokens from `provider` (bring your own, or a [`StaticToken`]).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.auth = AuthSource::Provider(provider);
        self
    }

    /// A fixed access token.
    pub fn access_token(self, token: impl Into<genesys_cloud_auth::Secret>) -> Self {
        self.token_provider(Arc::new(StaticToken::new(token)))
    }

    /// Adds a tower layer around each logical call (the first added is the outermost): it
    /// sees one request per call, before the SDK's timeouts and retries. Any layer fits whose
    /// service answers with an [`http_body::Body`] and fails with an error convertible to
    /// [`BoxError`] (tower-http's `TraceLayer`, tower's `ConcurrencyLimitLayer`, …); its errors
    /// become the SDK's (tower's timeout a timeout error, anything else a transport error).
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: StackService,
    {
        self.call_layers.push(Box::new(move |inner| layer.layer(inner).into_http_service()));
        self
    }

    /// Adds a tower layer around each attempt (the first added is the outermost): it sits
    /// inside the retry layer and sees every attempt, before the attempt timeout and the
    /// token (metrics, rate limiting, per-attempt tracing). The same layers fit as for
    /// [`with_layer`](Self::with_layer).
    pub fn with_attempt_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: StackService,
    {
        self.attempt_layers.push(Box::new(move |inner| layer.layer(inner).into_http_service()));
        self
    }

    /// The largest response body the client reads, in bytes once inflated (every response is
    /// held whole in memory); a larger one is an [`ErrorKind::TooLarge`](genesys_cloud_core::ErrorKind::TooLarge)
    /// error, not retried. Default [`DEFAULT_MAX_RESPONSE_SIZE`] (256 MiB). It applies to the
    /// SDK's HTTP client, not to one set with [`http_service`](Self::http_service).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Replaces the innermost HTTP service (hyper) with `service`: a test double, or another
    /// client. Every layer of the SDK and of the application still runs around it; requests
    /// reach it with absolute URIs.
    pub fn http_service(mut self, service: impl StackService) -> Self {
        self.http = Some(service.into_http_service());
        self
    }

    /// The SDK's layers of one attempt over `wire`, to `base`, with `auth` and pacing if given;
    /// the application's attempt layers around them when `with_app_layers`.
    fn attempts(
        &self,
        wire: &HttpBackend,
        base: &Base,
        auth: Option<(AuthLayer, PaceLayer)>,
        with_app_layers: bool,
    ) -> AttemptStack {
        let inner = LoggingLayer::new(self.logging.clone()).layer(wire.clone());
        let inner = BaseUrlLayer::new(base.clone()).layer(inner);
        let inner = HeadersLayer::default().layer(inner);
        let inner = AttemptTimeoutLayer::live(self.timeouts.clone()).layer(inner);
        let sdk = match auth {
            Some((auth, pace)) => AttemptStack::Authorized(auth.layer(pace.layer(inner))),
            None => AttemptStack::Anonymous(inner),
        };
        if !with_app_layers || self.attempt_layers.is_empty() {
            return sdk;
        }
        AttemptStack::Layered(wrapped(&self.attempt_layers, BoxCloneSyncService::new(sdk)))
    }

    /// The transport. Nothing is sent, and the system's root certificates are read at the
    /// first `https` connection, not here.
    pub fn build(mut self) -> Result<Transport, Error> {
        let api_host = self.endpoint.api.host().to_owned();
        let wire = match self.http.take() {
            Some(custom) => HttpBackend::Custom(custom),
            None => HttpBackend::Hyper(
                HyperClient::new(self.timeouts.load().connect, self.proxy.as_ref(), &self.tls)?
                    .max_response_size(self.max_response_size),
            ),
        };
        let mut token_cache = None;
        let mut token_pool = None;
        let retry_budget = Arc::new(RetryBudget::default());
        let provider: Option<Arc<dyn TokenProvider>> = match std::mem::replace(&mut self.auth, AuthSource::None) {
            AuthSource::None => None,
            AuthSource::Provider(p) => Some(p),
            AuthSource::Grant(grant, options) => {
                // Token requests: the SDK's attempt layers without auth, retried on connection
                // failures and 429 only (a grant is not idempotent).
                let attempts = self.attempts(&wire, &self.endpoint.login, None, false);
                let login: SharedExecutor = Arc::new(Transport {
                    calls: CallStack::Layered(BoxCloneSyncService::new(
                        RetryLayer::live(self.retry.clone()).budget(retry_budget.clone()).layer(attempts),
                    )),
                    api_host: self.endpoint.login.host().to_owned(),
                    token_cache: None,
                    token_pool: None,
                    pacer: None,
                    retry_budget: retry_budget.clone(),
                });
                let size = self.rate_limits.load().token_pool;
                if size > 1 && matches!(grant, Grant::ClientCredentials(_)) {
                    let pool = Arc::new(TokenPool::new(login, grant, options, size));
                    token_cache = pool.caches().first().cloned();
                    token_pool = Some(pool.clone());
                    Some(pool)
                } else {
                    let cache = Arc::new(TokenCache::new(login, grant, options));
                    token_cache = Some(cache.clone());
                    Some(cache)
                }
            }
        };
        let pacer = provider.as_ref().map(|_| Arc::new(Pacer::new(self.rate_limits.clone())));
        let hosts = [&self.endpoint.api, &self.endpoint.login];
        let auth =
            provider.zip(pacer.clone()).map(|(p, pacer)| (AuthLayer::new(p).to_hosts(hosts), PaceLayer::shared(pacer)));
        let attempts = self.attempts(&wire, &self.endpoint.api, auth, true);
        let calls = SpanLayer.layer(
            CallTimeoutLayer::live(self.timeouts.clone())
                .layer(RetryLayer::live(self.retry.clone()).budget(retry_budget.clone()).layer(attempts)),
        );
        let calls = if self.call_layers.is_empty() {
            CallStack::Sdk(calls)
        } else {
            CallStack::Layered(wrapped(&self.call_layers, BoxCloneSyncService::new(calls)))
        };
        Ok(Transport { calls, api_host, token_cache, token_pool, pacer, retry_budget })
    }
}
