//! The transport and its builder: every setting of a client, declared, documented and
//! defaulted here once, and the stack composed from them.

use crate::body;
use crate::budget::RetryBudget;
use crate::client::{HyperClient, DEFAULT_MAX_RESPONSE_SIZE};
use crate::fleet::RateStore;
use crate::layers::{
    AttemptTimeoutLayer, AuthLayer, BaseUrlLayer, CallContext, CallTimeoutLayer, HeadersLayer, HttpService, RetryLayer,
    StackService,
};
use crate::live::Live;
use crate::logging::{LogHandle, LogSettings, LoggingLayer, SpanLayer};
use crate::pace::{PaceLayer, Pacer};
use crate::region::{Base, Endpoint, Region};
use crate::tls::TlsConfig;
use genesys_cloud_auth::{CacheOptions, Grant, Secret, StaticToken, TokenCache, TokenPool, TokenProvider, TokenStore};
use genesys_cloud_config::{
    Config, ConfigHandle, Credentials, Listening, Proxy, RateLimits, ReloadEvent, Retry, Timeouts,
};
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, Error, Executor, SharedExecutor};
use std::sync::Arc;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};

/// The executor over the stack. Cheap to clone: clones share the connections, the tokens,
/// the pacer, the retry budget and the settings.
#[derive(Clone)]
pub struct Transport {
    /// The whole stack, erased once: the application's call layers, the SDK's, the attempts.
    calls: HttpService,
    shared: Arc<Shared>,
}

/// What the clones of a transport share besides the stack.
struct Shared {
    api_host: String,
    token_cache: Option<Arc<TokenCache>>,
    token_pool: Option<Arc<TokenPool>>,
    pacer: Option<Arc<Pacer>>,
    retry_budget: Arc<RetryBudget>,
    tls: TlsConfig,
    proxy: Option<Proxy>,
    logs: LogHandle,
    config: Option<ConfigHandle>,
    /// The login host (and port) and the client id of client-credentials tokens: what a
    /// fleet's keys name.
    oauth_client: Option<String>,
    /// The operations called so far, by path template and tags: at most one entry per
    /// operation of the spec, so it stays small.
    used: std::sync::RwLock<std::collections::BTreeSet<Used>>,
    /// The transport's listener on that configuration: removed with the last clone.
    _listening: Option<Listening>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What the transport was built with, secrets hidden by each part's own `Debug`.
        f.debug_struct("Transport")
            .field("api_host", &self.shared.api_host)
            .field("tokens", &self.shared.token_cache)
            .field("proxy", &self.shared.proxy)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl Executor for Transport {
    fn execute(&self, request: Request<Bytes>) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        let call = self.calls.clone().oneshot(body::request_in(request));
        Box::pin(async move { call.await.map(body::response_out) })
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
        self.note_use((meta.path_template, meta.tags));
        request.extensions_mut().insert(CallContext::new(Some(meta), options));
        self.execute(request)
    }

    fn api_host(&self) -> Option<String> {
        Some(self.shared.api_host.clone())
    }
}

impl Transport {
    /// A builder.
    pub fn builder() -> TransportBuilder {
        TransportBuilder::default()
    }

    /// The token cache, when the transport was built with a grant (the first token's, with a
    /// pool).
    pub fn token_cache(&self) -> Option<Arc<TokenCache>> {
        self.shared.token_cache.clone()
    }

    /// The token pool, when the transport was built with a grant and a pool of more than one.
    pub fn token_pool(&self) -> Option<Arc<TokenPool>> {
        self.shared.token_pool.clone()
    }

    /// The pacer (and through it, what pacing has done so far: requests, 429s, waits), when
    /// the transport has tokens.
    pub fn pacer(&self) -> Option<Arc<Pacer>> {
        self.shared.pacer.clone()
    }

    /// The retry budget every call of this transport (token requests included) draws on,
    /// and what it refused.
    pub fn retry_budget(&self) -> Arc<RetryBudget> {
        self.shared.retry_budget.clone()
    }

    /// The TLS settings, for other sockets of the same client (the notification WebSocket).
    pub fn tls(&self) -> &TlsConfig {
        &self.shared.tls
    }

    /// The proxy, for other sockets of the same client (with
    /// [`connect_tcp`](crate::connect_tcp)).
    pub fn proxy(&self) -> Option<&Proxy> {
        self.shared.proxy.as_ref()
    }

    /// The HTTP log's handle: its settings now, lines dropped, and
    /// [`flush`](LogHandle::flush).
    pub fn log_handle(&self) -> &LogHandle {
        &self.shared.logs
    }

    /// The configuration the transport was built with, if any.
    pub fn config(&self) -> Option<&ConfigHandle> {
        self.shared.config.as_ref()
    }

    /// The start of a fleet's keys for this transport's OAuth client under `namespace`:
    /// `genesys:{namespace}:{login host[:port]}:{client id}` (the token store's and the rate
    /// store's keys go on from it). `None` without client credentials: only their tokens are
    /// shared.
    pub fn fleet_key_prefix(&self, namespace: &str) -> Option<String> {
        self.shared.oauth_client.as_ref().map(|client| format!("genesys:{namespace}:{client}"))
    }

    /// The spec's operations this transport and its clones have called, sorted, each as its
    /// path template (`/api/v2/users/{userId}`) and its tags (`["Users"]`): what the client
    /// uses, for reading its limits.
    pub fn operations_used(&self) -> Vec<(&'static str, &'static [&'static str])> {
        // A poisoned lock still holds a valid set: the insert cannot leave it half done.
        let used = self.shared.used.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        used.iter().copied().collect()
    }

    /// Records a call of an operation; a read lock only once it is known.
    fn note_use(&self, operation: Used) {
        let known = self.shared.used.read().unwrap_or_else(std::sync::PoisonError::into_inner).contains(&operation);
        if !known {
            self.shared.used.write().unwrap_or_else(std::sync::PoisonError::into_inner).insert(operation);
        }
    }
}

/// An operation called: its path template and its tags.
type Used = (&'static str, &'static [&'static str]);

type WrapFn = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// `service` inside the application's `layers`, the first added outermost.
fn wrapped(layers: &[WrapFn], service: HttpService) -> HttpService {
    layers.iter().rev().fold(service, |inner, wrap| wrap(inner))
}

/// How tokens are obtained, as set in code.
enum AuthSource {
    Grant(Grant),
    Token(Secret),
    Provider(Arc<dyn TokenProvider>),
}

/// Builds a [`Transport`]: where calls go, how tokens are obtained, retries, timeouts, pacing,
/// logging, proxy, TLS, extra tower layers. The facade's `ClientBuilder` hands each of its
/// settings to this builder, so each is declared, documented and defaulted here once.
///
/// Settings may be given in any order. Each has one precedence: what the code sets, then the
/// configuration ([`config`](Self::config): its file and the environment), then the defaults.
/// Every check (a base URL that does not parse, a region that does not exist) happens in
/// [`build`](Self::build).
#[derive(Default)]
#[must_use = "a builder does nothing until it is built"]
pub struct TransportBuilder {
    config: Option<ConfigHandle>,
    endpoint: Option<Result<Endpoint, Error>>,
    auth: Option<AuthSource>,
    cache_options: Option<CacheOptions>,
    retry: Option<Retry>,
    timeouts: Option<Timeouts>,
    rate_limits: Option<RateLimits>,
    token_pool: Option<usize>,
    logging: Option<LogHandle>,
    proxy: Option<Proxy>,
    tls: Option<TlsConfig>,
    max_response_size: Option<usize>,
    /// Where the fleet keeps its tokens, and the namespace of its keys.
    token_store: Option<(Arc<dyn TokenStore>, String)>,
    /// Where the fleet takes its turns, and the namespace of its keys.
    rate_store: Option<(Arc<dyn RateStore>, String)>,
    call_layers: Vec<WrapFn>,
    attempt_layers: Vec<WrapFn>,
    http: Option<HttpService>,
}

impl std::fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("config", &self.config.as_ref().map(|c| c.path().map(|p| p.to_path_buf())))
            .field("endpoint", &self.endpoint.as_ref().map(|e| e.as_ref().ok()))
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("rate_limits", &self.rate_limits)
            .field("token_pool", &self.token_pool)
            .field("proxy", &self.proxy)
            .field("tls", &self.tls)
            .field("call_layers", &self.call_layers.len())
            .field("attempt_layers", &self.attempt_layers.len())
            .field("http_service", &self.http.is_some())
            .field("token_store", &self.token_store.as_ref().map(|(_, namespace)| namespace))
            .field("rate_store", &self.rate_store.as_ref().map(|(_, namespace)| namespace))
            .finish_non_exhaustive()
    }
}

/// The key of an OAuth client's token in a fleet's store: the user's namespace, the login
/// host and port (the region) and the client id, so two regions, clients or deployments never
/// share one.
fn token_key(namespace: &str, login_host: &str, client_id: &str) -> String {
    format!("genesys:{namespace}:{}:token", oauth_client(login_host, client_id))
}

/// An OAuth client as a fleet's keys name it: its login host (and port) and its id.
fn oauth_client(login_host: &str, client_id: &str) -> String {
    format!("{login_host}:{client_id}")
}

/// The endpoint a configuration names: its gateway, else its base URL, else its region.
fn endpoint_of(c: &Config) -> Result<Option<Endpoint>, Error> {
    if let Some(g) = &c.gateway {
        return Endpoint::gateway(&g.protocol, &g.host, g.port, &g.path_params_login, &g.path_params_api).map(Some);
    }
    if let Some(url) = &c.base_url {
        return Endpoint::custom(url).map(Some);
    }
    match &c.region {
        Some(region) => Ok(Some(region.parse::<Region>()?.endpoint())),
        None => Ok(None),
    }
}

/// The token cache options a configuration names.
fn cache_of(c: &Config) -> CacheOptions {
    CacheOptions::default()
        .refresh_enabled(c.reauthentication.refresh_access_token)
        .wait_limit(c.reauthentication.refresh_token_wait_max)
}

impl TransportBuilder {
    /// Takes settings from a configuration (file and environment) where the code sets none.
    /// Its hot settings (logging, retry, the attempt and call timeouts, pacing,
    /// reauthentication) follow reloads of the file from the next call on, unless the code
    /// set them; a reload that changes a cold one (hosts, proxy, credentials, the connect
    /// timeout, the token pool's size) is reported as
    /// [`ReloadEvent::NeedsNewClient`] and changes nothing.
    pub fn config(mut self, handle: ConfigHandle) -> Self {
        self.config = Some(handle);
        self
    }

    /// Calls go to this region (default `us_east_1`, `api.mypurecloud.com`).
    pub fn region(mut self, region: Region) -> Self {
        self.endpoint = Some(Ok(region.endpoint()));
        self
    }

    /// Calls go to a custom base URL (`https://api.example.com`); the login host is derived
    /// by replacing `api.` with `login.`. A URL that does not parse fails
    /// [`build`](Self::build).
    pub fn base_url(mut self, url: &str) -> Self {
        self.endpoint = Some(Endpoint::custom(url));
        self
    }

    /// Calls go to this endpoint (a custom base URL, or a [gateway](Endpoint::gateway)).
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.endpoint = Some(Ok(endpoint));
        self
    }

    /// Client-credentials tokens, cached and refreshed for every call.
    pub fn client_credentials(self, client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        self.grant(Grant::client_credentials(client_id, client_secret))
    }

    /// Tokens from any grant (client credentials, SAML2 bearer, authorization code, PKCE,
    /// refresh token), through a [`TokenCache`] on the login host: a [`TokenPool`] of them
    /// when the pool's size is more than one and the grant is client credentials.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.auth = Some(AuthSource::Grant(grant));
        self
    }

    /// Token cache options (refresh margin, wait limit, refresh on/off) for whichever grant
    /// is used. Default: the configuration's reauthentication settings, else
    /// [`CacheOptions::default`].
    pub fn cache_options(mut self, options: CacheOptions) -> Self {
        self.cache_options = Some(options);
        self
    }

    /// A fixed access token, obtained elsewhere.
    pub fn access_token(mut self, token: impl Into<Secret>) -> Self {
        self.auth = Some(AuthSource::Token(token.into()));
        self
    }

    /// Tokens from `provider` (your own, or a [`StaticToken`]).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.auth = Some(AuthSource::Provider(provider));
        self
    }

    /// Retry settings: attempts, backoff, `Retry-After` cap (read per call).
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Time limits: the connect limit applies when the transport is built; the attempt and
    /// call limits are read per call.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Rate limits: pacing each token under the limit its responses state (on by default;
    /// [`RateLimits::unpaced`] turns it off), the limit assumed until the headers say, and
    /// the size of the client-credentials token pool (default 1).
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = Some(limits);
        self
    }

    /// A pool of `tokens` client-credentials tokens, calls spread over them in turn, each
    /// paced on its own (Genesys Cloud limits each token): bulk work goes up to `tokens` times
    /// as fast. It overrides the pool size of [`rate_limits`](Self::rate_limits) and of the
    /// configuration, and leaves pacing to them.
    pub fn token_pool(mut self, tokens: usize) -> Self {
        self.token_pool = Some(tokens);
        self
    }

    /// HTTP logging (levels trace/debug/error/none, text or JSON, console and/or file;
    /// secrets always redacted). Default: the configuration's, else none.
    pub fn logging(self, settings: LogSettings) -> Self {
        self.log_handle(LogHandle::new(settings))
    }

    /// Logging through a shared handle whose settings can change while the client runs.
    pub fn log_handle(mut self, handle: LogHandle) -> Self {
        self.logging = Some(handle);
        self
    }

    /// A proxy for every request (HTTP CONNECT, optional credentials, `NO_PROXY`), or the
    /// environment's with [`Proxy::from_env`].
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// TLS settings: extra trusted CAs and a client certificate (mTLS). Server certificates
    /// are always verified.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The largest response body the client reads, in bytes once inflated (every response is
    /// held whole in memory); a larger one is an
    /// [`ErrorKind::TooLarge`](genesys_cloud_core::ErrorKind::TooLarge) error, not retried.
    /// Default [`DEFAULT_MAX_RESPONSE_SIZE`] (256 MiB). It applies to the SDK's HTTP client,
    /// not to one set with [`http_service`](Self::http_service).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = Some(bytes);
        self
    }

    /// Adds a tower layer around each logical call (the first added is the outermost): it
    /// sees one request per call, before the SDK's timeouts and retries. Standard layers fit
    /// as they are: any whose service answers with an [`http_body::Body`] and fails with an
    /// error convertible to [`BoxError`](crate::BoxError) (tower-http's `TraceLayer`, tower's
    /// `ConcurrencyLimitLayer`, …); its errors become the SDK's (tower's timeout a timeout
    /// error, anything else a transport error).
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

    /// Shares the OAuth client's token (or token pool) with the other processes of a fleet
    /// through `store`, under keys namespaced by `namespace`, the region and the client id:
    /// the fleet sends one token request per expiry, and a 401 re-mints once for all of it
    /// (see [`TokenCache::shared_through`]). The store failing never stops a call: the process
    /// mints on its own until it answers again. Only client-credentials grants share; default:
    /// none, each process mints its own.
    pub fn token_store(mut self, store: Arc<dyn TokenStore>, namespace: impl Into<String>) -> Self {
        self.token_store = Some((store, namespace.into()));
        self
    }

    /// Takes each attempt's turn from a fleet's `store` too, after this process's own pacing:
    /// the turns of each token's budget (as its answers state it) and of the OAuth client's
    /// (when the store keeps one) are handed out in order across the fleet, and a 429's
    /// `Retry-After` holds the token for all of it. Keys are namespaced by `namespace`, the
    /// region and the client id. The store failing never stops a call: the attempt is paced by
    /// this process alone. Default: none.
    pub fn rate_store(mut self, store: Arc<dyn RateStore>, namespace: impl Into<String>) -> Self {
        self.rate_store = Some((store, namespace.into()));
        self
    }

    /// Replaces the HTTP client underneath the SDK's layers (hyper) with `service`: a test
    /// double, or another client. Every layer of the SDK and of the application still runs
    /// around it; requests reach it with absolute URIs.
    pub fn http_service(mut self, service: impl StackService) -> Self {
        self.http = Some(service.into_http_service());
        self
    }

    /// The SDK's layers of one attempt over `http`, to `base`, with `auth` and pacing if
    /// given.
    fn attempts(
        http: &HttpService,
        base: &Base,
        logs: &LogHandle,
        timeouts: &Live<Timeouts>,
        auth: Option<(AuthLayer, PaceLayer)>,
    ) -> HttpService {
        let inner = LoggingLayer::new(logs.clone()).layer(http.clone());
        let inner = BaseUrlLayer::new(base.clone()).layer(inner);
        let inner = HeadersLayer::default().layer(inner);
        let inner = AttemptTimeoutLayer::live(timeouts.clone()).layer(inner);
        match auth {
            Some((auth, pace)) => BoxCloneSyncService::new(auth.layer(pace.layer(inner))),
            None => BoxCloneSyncService::new(inner),
        }
    }

    /// The transport. Nothing is sent, and the system's root certificates are read at the
    /// first `https` connection, not here.
    pub fn build(self) -> Result<Transport, Error> {
        let snapshot = self.config.as_ref().map(|h| h.load());
        let from_file = snapshot.as_deref();
        let endpoint = match self.endpoint {
            Some(endpoint) => endpoint?,
            None => from_file.map(endpoint_of).transpose()?.flatten().unwrap_or_else(|| Region::default().endpoint()),
        };
        let proxy = self.proxy.or_else(|| from_file.and_then(|c| c.proxy.clone()));
        let tls = self.tls.unwrap_or_default();
        let retry = Live::new(self.retry.clone().or_else(|| from_file.map(|c| c.retry.clone())).unwrap_or_default());
        let timeouts =
            Live::new(self.timeouts.clone().or_else(|| from_file.map(|c| c.timeouts.clone())).unwrap_or_default());
        let limits = self.rate_limits.clone().or_else(|| from_file.map(|c| c.rate_limits.clone())).unwrap_or_default();
        let rate_limits = Live::new(match self.token_pool {
            Some(tokens) => limits.token_pool(tokens),
            None => limits,
        });
        let logs = match &self.logging {
            Some(handle) => handle.clone(),
            None => LogHandle::new(from_file.map(|c| c.logging.clone()).unwrap_or_default()),
        };
        let cache = self.cache_options.clone().or_else(|| from_file.map(cache_of)).unwrap_or_default();
        let auth = match self.auth {
            Some(auth) => Some(auth),
            None => match from_file.map(|c| &c.credentials) {
                Some(Credentials { client_id: Some(id), client_secret: Some(secret), .. }) => {
                    Some(AuthSource::Grant(Grant::client_credentials(id.clone(), secret.clone())))
                }
                _ => None,
            },
        };

        // The OAuth client the fleet's keys name.
        let auth_client = match &auth {
            Some(AuthSource::Grant(Grant::ClientCredentials(c))) => Some(c.client_id.clone()),
            _ => None,
        };
        let http = match self.http {
            Some(custom) => custom,
            None => BoxCloneSyncService::new(
                HyperClient::new(timeouts.load().connect, proxy.as_ref(), &tls)?
                    .max_response_size(self.max_response_size.unwrap_or(DEFAULT_MAX_RESPONSE_SIZE)),
            ),
        };
        let retry_budget = Arc::new(RetryBudget::default());
        let (mut token_cache, mut token_pool) = (None, None);
        let provider: Option<Arc<dyn TokenProvider>> = match auth {
            None => None,
            Some(AuthSource::Provider(p)) => Some(p),
            Some(AuthSource::Token(token)) => Some(Arc::new(StaticToken::new(token))),
            Some(AuthSource::Grant(grant)) => {
                // Token requests: the SDK's attempt layers without auth, retried on connection
                // failures and 429 only (a grant is not idempotent).
                let attempts = Self::attempts(&http, &endpoint.login, &logs, &timeouts, None);
                let login: SharedExecutor = Arc::new(Transport {
                    calls: BoxCloneSyncService::new(
                        RetryLayer::live(retry.clone()).budget(retry_budget.clone()).layer(attempts),
                    ),
                    shared: Arc::new(Shared {
                        api_host: endpoint.login.host().to_owned(),
                        token_cache: None,
                        token_pool: None,
                        pacer: None,
                        retry_budget: retry_budget.clone(),
                        tls: tls.clone(),
                        proxy: proxy.clone(),
                        logs: logs.clone(),
                        config: None,
                        oauth_client: None,
                        used: Default::default(),
                        _listening: None,
                    }),
                });
                let size = rate_limits.load().token_pool;
                let shared = match (&self.token_store, &grant) {
                    (Some((store, namespace)), Grant::ClientCredentials(c)) => {
                        Some((store.clone(), token_key(namespace, endpoint.login.authority().as_str(), &c.client_id)))
                    }
                    _ => None,
                };
                if size > 1 && matches!(grant, Grant::ClientCredentials(_)) {
                    let mut pool = TokenPool::new(login, grant, cache, size);
                    if let Some((store, key)) = shared {
                        pool = pool.shared_through(store, &key);
                    }
                    let pool = Arc::new(pool);
                    token_cache = pool.caches().first().cloned();
                    token_pool = Some(pool.clone());
                    Some(pool)
                } else {
                    let mut one = TokenCache::new(login, grant, cache);
                    if let Some((store, key)) = shared {
                        one = one.shared_through(store, format!("{key}:0"));
                    }
                    let cache = Arc::new(one);
                    token_cache = Some(cache.clone());
                    Some(cache)
                }
            }
        };
        let client_id = match &auth_client {
            Some(id) => id.as_str(),
            None => "",
        };
        let pacer = provider.as_ref().map(|_| {
            let pacer = Pacer::new(rate_limits.clone());
            Arc::new(match &self.rate_store {
                Some((store, namespace)) => {
                    let prefix =
                        format!("genesys:{namespace}:{}:{client_id}:rate", endpoint.login.authority().as_str());
                    pacer.with_fleet(store.clone(), prefix)
                }
                None => pacer,
            })
        });
        let hosts = [&endpoint.api, &endpoint.login];
        let auth =
            provider.zip(pacer.clone()).map(|(p, pacer)| (AuthLayer::new(p).to_hosts(hosts), PaceLayer::shared(pacer)));
        let attempts = wrapped(&self.attempt_layers, Self::attempts(&http, &endpoint.api, &logs, &timeouts, auth));
        let calls = SpanLayer.layer(
            CallTimeoutLayer::live(timeouts.clone())
                .layer(RetryLayer::live(retry.clone()).budget(retry_budget.clone()).layer(attempts)),
        );
        let calls = wrapped(&self.call_layers, BoxCloneSyncService::new(calls));

        let listening = self.config.as_ref().map(|handle| {
            // The hot settings the code left to the configuration follow its reloads.
            let follow_retry = self.retry.is_none().then(|| retry.clone());
            let follow_timeouts = self.timeouts.is_none().then(|| timeouts.clone());
            let follow_rate_limits = self.rate_limits.is_none().then(|| rate_limits.clone());
            let follow_logs = self.logging.is_none().then(|| logs.clone());
            let follow_cache = self.cache_options.is_none().then(|| token_cache.clone()).flatten();
            handle.on_change(move |event| {
                let ReloadEvent::Reloaded(c) = event else { return };
                if let Some(live) = &follow_retry {
                    live.set(c.retry.clone());
                }
                if let Some(live) = &follow_timeouts {
                    live.set(c.timeouts.clone());
                }
                if let Some(live) = &follow_rate_limits {
                    // Pacing follows; the pool's size is cold (a change is reported).
                    let pool = live.load().token_pool;
                    live.set(c.rate_limits.clone().token_pool(pool));
                }
                if let Some(logs) = &follow_logs {
                    logs.set(c.logging.clone());
                }
                if let Some(cache) = &follow_cache {
                    cache.set_options(cache_of(c));
                }
            })
        });
        let shared = Shared {
            api_host: endpoint.api.host().to_owned(),
            token_cache,
            token_pool,
            pacer,
            retry_budget,
            tls,
            proxy,
            logs,
            config: self.config,
            oauth_client: auth_client.as_ref().map(|id| oauth_client(endpoint.login.authority().as_str(), id)),
            used: Default::default(),
            _listening: listening,
        };
        Ok(Transport { calls, shared: Arc::new(shared) })
    }
}
