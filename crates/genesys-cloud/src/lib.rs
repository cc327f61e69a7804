//! The Rust SDK for the Genesys Cloud Platform API v2.
//!
//! ```no_run
//! use genesys_cloud::Client;
//!
//! # async fn run(id: &str, secret: &str) -> genesys_cloud::Result<()> {
//! let client = Client::builder().client_credentials(id, secret).build()?;
//! let me = client.users().get_users_me().expand(["presence"]).send().await?;
//! let mut queues = client.routing().get_routing_queues().page_size(100).into_paginator().items();
//! while let Some(queue) = queues.try_next().await? {
//!     println!("{:?}", queue.name);
//! }
//! # Ok(()) }
//! ```
//!
//! - [`Client`] is cheap to clone, `Send + Sync`, and holds everything it uses: there are no
//!   process-wide globals, and several clients can live in one process.
//! - Every operation of the API is a method of a tag accessor (`client.users()`,
//!   `client.routing()`, …) behind the tag's Cargo feature; see [`api`].
//! - [`Client::raw`] calls any path with any JSON, for endpoints the spec gets wrong.
//!
//! Calls go through [`transport`] (hyper with rustls under a stack of tower layers: retries,
//! timeouts, OAuth via [`auth`]). [`ClientBuilder::with_layer`] and
//! [`ClientBuilder::with_attempt_layer`] add tower layers around each call and each attempt;
//! [`ClientBuilder::http_service`] replaces the HTTP client underneath (a test double).
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::sync::Arc;

// Inlined, so the facade's docs hold every item at the path a user writes
// (`genesys_cloud::models::CreateUser`): `cargo doc --no-deps -p genesys-cloud` documents all
// of it once.
#[doc(inline)]
pub use genesys_cloud_api as api;
#[doc(inline)]
pub use genesys_cloud_auth as auth;
#[doc(inline)]
pub use genesys_cloud_config as config;
#[doc(inline)]
pub use genesys_cloud_core as core;
#[doc(inline)]
pub use genesys_cloud_models as models;
#[cfg(feature = "notification-service")]
#[cfg_attr(docsrs, doc(cfg(feature = "notification-service")))]
#[doc(inline)]
pub use genesys_cloud_notifications as notifications;
#[doc(inline)]
pub use genesys_cloud_transport as transport;

pub use genesys_cloud_transport::Region;

/// HTTP methods, as [`Raw::request`] takes them.
pub use genesys_cloud_core::http::Method;
/// HTTP status codes, as [`Error::status`] and [`Response::status`](Response#structfield.status)
/// give them.
pub use genesys_cloud_core::http::StatusCode;
pub use genesys_cloud_core::{Error, ErrorKind, Response, Result, RetryOverride};

pub mod guide;
pub mod jobs;
mod raw;
pub use raw::{Raw, RawRequest};

/// Every operation and every tag of the API: operation id, HTTP method and path, tag, Cargo
/// feature, and the method to call. Search this page for a path (`/api/v2/users/{userId}`) or
/// an operation id (`getUser`) to find what to call.
#[doc = include_str!("generated/operations.md")]
pub mod operations {}

/// What a tag accessor returns when its Cargo feature is off: nothing can be called on it.
/// The accessor is deprecated with a note naming the feature, so the compiler says which one
/// to enable.
#[doc(hidden)]
#[derive(Debug)]
pub struct FeatureOff(());

/// The README's code blocks, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

// `client.users()`, `client.routing()`, …: one inherent accessor per tag, generated.
#[rustfmt::skip]
#[path = "generated/tags.rs"]
mod tags;

/// Traits for code generic over what ordinary use reaches through inherent methods: the tag
/// accessors trait ([`api::Tags`]), per-call options ([`core::Operation`]), the model helpers
/// ([`models::Model`]), and the stream combinators of [`futures::TryStreamExt`] and
/// [`futures::StreamExt`] (`try_collect()`, `next()`, …) for a paginator's streams.
/// Calling operations and reading listings with `try_next()` needs none of them.
pub mod prelude {
    pub use futures_util::{StreamExt as _, TryStreamExt as _};
    pub use genesys_cloud_api::Tags as _;
    pub use genesys_cloud_core::Operation as _;
    pub use genesys_cloud_models::Model as _;
}

/// The `futures-util` crate the SDK's streams implement, for its stream combinators.
pub use futures_util as futures;

/// A Genesys Cloud client: every operation of the API, sent through one executor.
///
/// Cloning is cheap (one `Arc`); clones share the executor, its connections and its tokens.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    executor: core::SharedExecutor,
    /// The token cache, when tokens come from a grant.
    tokens: Option<Arc<auth::TokenCache>>,
    /// The pacer of the client's tokens, when it has any.
    pacer: Option<Arc<transport::Pacer>>,
    /// The TLS settings of the transport, for the notification socket.
    #[cfg_attr(not(feature = "notification-service"), allow(dead_code))]
    tls: transport::TlsConfig,
    /// The proxy of the transport, for the notification socket.
    #[cfg_attr(not(feature = "notification-service"), allow(dead_code))]
    proxy: Option<config::Proxy>,
    /// Kept so the configuration watcher lives exactly as long as the client.
    config: Option<config::ConfigHandle>,
    /// The client's listener on that configuration: removed with the client.
    _listening: Option<config::Listening>,
    /// The HTTP log, for [`Client::flush_logs`].
    logs: transport::LogHandle,
    /// The notification channels of every listener of this client (the service counts them
    /// per user and app).
    #[cfg(feature = "notification-service")]
    channels: Arc<notifications::ChannelBudget>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What the client was built with, secrets hidden by each part's own `Debug`.
        f.debug_struct("Client")
            .field("api_host", &self.inner.executor.api_host())
            .field("tokens", &self.inner.tokens)
            .field("proxy", &self.inner.proxy)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client from `~/.genesyscloudrust/config` (or `GENESYS_CLOUD_CONFIG_PATH`) and the
    /// `GENESYS_CLOUD_*` environment variables, with client credentials from
    /// `GENESYS_CLOUD_CLIENT_ID` and `GENESYS_CLOUD_CLIENT_SECRET`.
    pub fn from_default_config() -> Result<Self> {
        let handle = config::ConfigHandle::builder()
            .default_path()
            .build()
            .map_err(|e| Error::build(format!("configuration: {e}")))?;
        Client::builder().config(handle).build()
    }

    /// The configuration handle the client was built with, if any.
    pub fn config(&self) -> Option<&config::ConfigHandle> {
        self.inner.config.as_ref()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The executor calls go through (for crates that take one, such as the notifications).
    pub fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
    }

    /// Logs in now, rather than at the first call: fetches a token from the grant (or
    /// refreshes the one held) and returns its info (lifetime, refresh token). A bad client
    /// id or secret fails here, with an [`ErrorKind::Auth`] error.
    pub async fn login(&self) -> Result<auth::TokenInfo> {
        match &self.inner.tokens {
            Some(cache) => cache.fetch_now().await,
            None => Err(Error::new(
                ErrorKind::Auth,
                "the client has no grant to log in with (it was given a token or a token provider)",
            )),
        }
    }

    /// What pacing has done so far over the client's tokens: attempts sent, 429s answered,
    /// attempts held back and for how long (zero when the client has no tokens).
    pub fn pace_stats(&self) -> transport::PaceStats {
        self.inner.pacer.as_ref().map(|p| p.stats()).unwrap_or_default()
    }

    /// Waits until every HTTP log line of this client so far is written (lines are written
    /// by a thread of their own, off the request path; dropping the last clone of the client
    /// writes out the rest). It blocks for at most 5 s: call it outside async code or from
    /// `spawn_blocking`.
    pub fn flush_logs(&self) {
        self.inner.logs.flush();
    }

    /// The escape hatch: any method, any path under the API host, any JSON.
    pub fn raw(&self) -> Raw {
        Raw::new(self.inner.executor.clone())
    }

    /// The notification service through this client: its calls use the client's tokens,
    /// retries and logging, its `wss://` sockets the client's TLS settings.
    #[cfg(feature = "notification-service")]
    #[cfg_attr(docsrs, doc(cfg(feature = "notification-service")))]
    pub fn notification_service(&self) -> notifications::Notifications {
        self.notification_service_with(notifications::Options::default())
    }

    /// [`notification_service`](Self::notification_service) with other options (the TLS
    /// settings and the proxy are the client's).
    #[cfg(feature = "notification-service")]
    #[cfg_attr(docsrs, doc(cfg(feature = "notification-service")))]
    pub fn notification_service_with(&self, options: notifications::Options) -> notifications::Notifications {
        let options = options.tls(self.inner.tls.clone()).proxy(self.inner.proxy.clone());
        notifications::Notifications::with_options(self.executor(), options).budget(self.inner.channels.clone())
    }
}

impl api::Tags for Client {
    fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
    }
}

/// How tokens are obtained, as set in code.
enum AuthChoice {
    Grant(auth::Grant),
    Token(auth::Secret),
    Provider(Arc<dyn auth::TokenProvider>),
}

/// How logging is set in code.
enum LoggingChoice {
    Settings(transport::LogSettings),
    Handle(transport::LogHandle),
}

/// Builds a [`Client`]: where calls go, how tokens are obtained, retries, timeouts, logging,
/// extra tower layers.
///
/// Settings may be given in any order. Each has one precedence: what the code sets, then the
/// environment, then the configuration file ([`config`](Self::config)), then the defaults.
/// Every check (a base URL that does not parse, a region that does not exist) happens in
/// [`build`](Self::build).
///
/// ```no_run
/// # async fn demo() -> genesys_cloud::Result<()> {
/// use genesys_cloud::{Client, Region};
/// let client = Client::builder()
///     .region(Region::EuWest1)
///     .client_credentials("my-client-id", "my-client-secret")
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Default)]
#[must_use = "a builder does nothing until it is built"]
pub struct ClientBuilder {
    config: Option<config::ConfigHandle>,
    endpoint: Option<Result<transport::Endpoint>>,
    auth: Option<AuthChoice>,
    cache_options: Option<auth::CacheOptions>,
    retry: Option<transport::Retry>,
    timeouts: Option<transport::Timeouts>,
    rate_limits: Option<transport::RateLimits>,
    token_pool: Option<usize>,
    logging: Option<LoggingChoice>,
    proxy: Option<config::Proxy>,
    tls: Option<transport::TlsConfig>,
    /// The layers and the HTTP service; the rest is set on it in `build`.
    transport: transport::TransportBuilder,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config.as_ref().map(|c| c.path().map(|p| p.to_path_buf())))
            .field("endpoint", &self.endpoint.as_ref().map(|e| e.as_ref().ok()))
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("rate_limits", &self.rate_limits)
            .field("token_pool", &self.token_pool)
            .field("proxy", &self.proxy)
            .field("tls", &self.tls)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

/// The endpoint a configuration names: its gateway, else its base URL, else its region.
fn endpoint_of(c: &config::Config) -> Result<Option<transport::Endpoint>> {
    if let Some(g) = &c.gateway {
        return transport::Endpoint::gateway(&g.protocol, &g.host, g.port, &g.path_params_login, &g.path_params_api)
            .map(Some);
    }
    if let Some(url) = &c.base_url {
        return transport::Endpoint::custom(url).map(Some);
    }
    match &c.region {
        Some(region) => Ok(Some(region.parse::<Region>()?.endpoint())),
        None => Ok(None),
    }
}

/// The token cache options a configuration names.
fn cache_of(c: &config::Config) -> auth::CacheOptions {
    auth::CacheOptions::default()
        .refresh_enabled(c.reauthentication.refresh_access_token)
        .wait_limit(c.reauthentication.refresh_token_wait_max)
}

impl ClientBuilder {
    /// Takes settings from a configuration (file and environment, see [`config`]) where the
    /// code sets none. Its hot settings (logging, retry, the attempt and call timeouts, pacing,
    /// reauthentication) follow reloads of the file from the next call on, unless the code
    /// set them; a reload that changes a cold one (hosts, proxy, credentials, the connect
    /// timeout) is reported as [`config::ReloadEvent::NeedsNewClient`] and changes nothing.
    pub fn config(mut self, handle: config::ConfigHandle) -> Self {
        self.config = Some(handle);
        self
    }

    /// Calls go to this region (default `us_east_1`, `api.mypurecloud.com`).
    pub fn region(mut self, region: Region) -> Self {
        self.endpoint = Some(Ok(region.endpoint()));
        self
    }

    /// Calls go to a custom base URL (`https://api.example.com`); the login host is derived
    /// by replacing `api.` with `login.`. A URL that does not parse fails [`build`](Self::build).
    pub fn base_url(mut self, url: &str) -> Self {
        self.endpoint = Some(transport::Endpoint::custom(url));
        self
    }

    /// Calls go to this endpoint (e.g. a [gateway](transport::Endpoint::gateway)).
    pub fn endpoint(mut self, endpoint: transport::Endpoint) -> Self {
        self.endpoint = Some(Ok(endpoint));
        self
    }

    /// Client-credentials tokens, cached and refreshed for every call.
    pub fn client_credentials(self, client_id: impl Into<String>, client_secret: impl Into<auth::Secret>) -> Self {
        self.grant(auth::Grant::client_credentials(client_id, client_secret))
    }

    /// Tokens from any grant (SAML2 bearer, authorization code, PKCE, refresh token).
    pub fn grant(mut self, grant: auth::Grant) -> Self {
        self.auth = Some(AuthChoice::Grant(grant));
        self
    }

    /// Tokens from a grant with cache options (refresh margin, wait limit, refresh on/off).
    pub fn grant_with(mut self, grant: auth::Grant, options: auth::CacheOptions) -> Self {
        self.auth = Some(AuthChoice::Grant(grant));
        self.cache_options = Some(options);
        self
    }

    /// Token cache options (refresh margin, wait limit, refresh on/off) for whichever grant
    /// the client uses.
    pub fn cache_options(mut self, options: auth::CacheOptions) -> Self {
        self.cache_options = Some(options);
        self
    }

    /// A fixed access token, obtained elsewhere.
    pub fn access_token(mut self, token: impl Into<auth::Secret>) -> Self {
        self.auth = Some(AuthChoice::Token(token.into()));
        self
    }

    /// Tokens from your own provider.
    pub fn token_provider(mut self, provider: Arc<dyn auth::TokenProvider>) -> Self {
        self.auth = Some(AuthChoice::Provider(provider));
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: transport::Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Rate limits: pacing each token under the limit its responses state (on by default;
    /// [`RateLimits::unpaced`](transport::RateLimits::unpaced) turns it off) and the size of
    /// the client-credentials token pool (default 1), each token paced on its own.
    pub fn rate_limits(mut self, limits: transport::RateLimits) -> Self {
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
    /// secrets always redacted).
    pub fn logging(mut self, settings: transport::LogSettings) -> Self {
        self.logging = Some(LoggingChoice::Settings(settings));
        self
    }

    /// Logging through a shared handle whose settings can change while the client runs.
    pub fn log_handle(mut self, handle: transport::LogHandle) -> Self {
        self.logging = Some(LoggingChoice::Handle(handle));
        self
    }

    /// A proxy for every request (HTTP CONNECT, optional credentials, `NO_PROXY`), or the
    /// environment's with [`config::Proxy::from_env`].
    pub fn proxy(mut self, proxy: config::Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// TLS settings: extra trusted CAs and a client certificate (mTLS). Server certificates
    /// are always verified.
    pub fn tls(mut self, tls: transport::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Time limits.
    pub fn timeouts(mut self, timeouts: transport::Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Adds a tower layer around each logical call (the first added is the outermost); it
    /// sees one request per call. Standard layers fit as they are: tower-http's
    /// `TraceLayer`, tower's `ConcurrencyLimitLayer`, any whose service answers with an
    /// `http_body::Body` and fails with an error convertible to [`transport::BoxError`].
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<transport::HttpService> + Send + Sync + 'static,
        L::Service: transport::StackService,
    {
        self.transport = self.transport.with_layer(layer);
        self
    }

    /// Adds a tower layer around each attempt (the first added is the outermost): inside the
    /// retry layer, it sees every attempt (metrics, rate limiting, per-attempt tracing). The
    /// same layers fit as for [`with_layer`](Self::with_layer).
    pub fn with_attempt_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<transport::HttpService> + Send + Sync + 'static,
        L::Service: transport::StackService,
    {
        self.transport = self.transport.with_attempt_layer(layer);
        self
    }

    /// The largest response body the client reads, in bytes once inflated; a larger one is an
    /// [`ErrorKind::TooLarge`] error. Default
    /// [`DEFAULT_MAX_RESPONSE_SIZE`](transport::DEFAULT_MAX_RESPONSE_SIZE) (256 MiB).
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.transport = self.transport.max_response_size(bytes);
        self
    }

    /// Replaces the HTTP client underneath the SDK's layers with `service` (a test double,
    /// another client): retries, timeouts, tokens, headers and logging still apply, and it
    /// receives requests with absolute URIs. The one way to replace the transport.
    pub fn http_service(mut self, service: impl transport::StackService) -> Self {
        self.transport = self.transport.http_service(service);
        self
    }

    /// The authorization-code flow in one call, as the Python SDK's
    /// `get_code_authorization_token`: exchanges `code` for a token right away and returns the
    /// client with the token info (refresh token, lifetime). The client refreshes with the
    /// refresh token from then on.
    pub async fn authorization_code(
        self,
        client_id: impl Into<String>,
        client_secret: impl Into<auth::Secret>,
        code: impl Into<auth::Secret>,
        redirect_uri: impl Into<String>,
    ) -> Result<(Client, auth::TokenInfo)> {
        let grant = auth::Grant::AuthorizationCode {
            client: auth::ClientCredentials::new(client_id, client_secret),
            code: code.into(),
            redirect_uri: redirect_uri.into(),
        };
        self.grant(grant).build_and_login().await
    }

    /// [`build`](Self::build), then [`Client::login`]: the client and its first token's info,
    /// so bad credentials fail here rather than at the first call.
    pub async fn build_and_login(self) -> Result<(Client, auth::TokenInfo)> {
        let client = self.build()?;
        let info = client.login().await?;
        Ok((client, info))
    }

    /// The client. Creating it does no I/O (the first call, or [`Client::login`], fetches the
    /// token; the system's root certificates are read at the first `https` connection); it needs a
    /// Tokio runtime when calls are made.
    pub fn build(self) -> Result<Client> {
        let snapshot = self.config.as_ref().map(|h| h.load());
        let from_file = snapshot.as_deref();
        let endpoint = match self.endpoint {
            Some(endpoint) => endpoint?,
            None => from_file.map(endpoint_of).transpose()?.flatten().unwrap_or_else(|| Region::default().endpoint()),
        };
        let proxy = self.proxy.or_else(|| from_file.and_then(|c| c.proxy.as_ref()).cloned());
        let tls = self.tls.unwrap_or_default();
        let retry =
            transport::Live::new(self.retry.clone().or_else(|| from_file.map(|c| c.retry.clone())).unwrap_or_default());
        let timeouts = transport::Live::new(
            self.timeouts.clone().or_else(|| from_file.map(|c| c.timeouts.clone())).unwrap_or_default(),
        );
        let limits = self.rate_limits.clone().or_else(|| from_file.map(|c| c.rate_limits.clone())).unwrap_or_default();
        let rate_limits = transport::Live::new(match self.token_pool {
            Some(tokens) => limits.token_pool(tokens),
            None => limits,
        });
        let logs = match self.logging {
            Some(LoggingChoice::Handle(ref h)) => h.clone(),
            Some(LoggingChoice::Settings(ref s)) => transport::LogHandle::new(s.clone()),
            None => transport::LogHandle::new(from_file.map(|c| c.logging.clone()).unwrap_or_default()),
        };
        let cache = self.cache_options.clone().or_else(|| from_file.map(cache_of)).unwrap_or_default();
        let mut t = self
            .transport
            .endpoint(endpoint)
            .tls(tls.clone())
            .live_retry(retry.clone())
            .live_timeouts(timeouts.clone())
            .live_rate_limits(rate_limits.clone())
            .log_handle(logs.clone());
        if let Some(proxy) = &proxy {
            t = t.proxy(proxy.clone());
        }
        t = match self.auth {
            Some(AuthChoice::Grant(grant)) => t.grant(grant, cache),
            Some(AuthChoice::Token(token)) => t.access_token(token),
            Some(AuthChoice::Provider(provider)) => t.token_provider(provider),
            None => match from_file.map(|c| &c.credentials) {
                Some(config::Credentials { client_id: Some(id), client_secret: Some(secret), .. }) => {
                    t.grant(auth::Grant::client_credentials(id.clone(), secret.clone()), cache)
                }
                _ => t,
            },
        };
        let transport = t.build()?;
        let tokens = transport.token_cache();
        let pacer = transport.pacer();
        let listening = self.config.as_ref().map(|handle| {
            // The hot settings the code left to the configuration follow its reloads.
            let follow_retry = self.retry.is_none().then(|| retry.clone());
            let follow_timeouts = self.timeouts.is_none().then(|| timeouts.clone());
            let follow_rate_limits = self.rate_limits.is_none().then(|| rate_limits.clone());
            let follow_logs = self.logging.is_none().then(|| logs.clone());
            let follow_cache = self.cache_options.is_none().then(|| tokens.clone()).flatten();
            handle.on_change(move |event| {
                let config::ReloadEvent::Reloaded(c) = event else { return };
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
        let executor: core::SharedExecutor = Arc::new(transport);
        let inner = Inner {
            executor,
            tokens,
            pacer,
            tls,
            proxy,
            config: self.config,
            _listening: listening,
            logs,
            #[cfg(feature = "notification-service")]
            channels: Arc::default(),
        };
        Ok(Client { inner: Arc::new(inner) })
    }
}
