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

// The facade's surface is a chosen list. The root holds what ordinary use needs; the modules
// hold the rest, each a list of what a user of this crate names, inlined so the facade's docs
// hold every item at the path a user writes (`genesys_cloud::models::CreateUser`) and
// `cargo doc --no-deps -p genesys-cloud` documents all of it once. The inner crates keep their
// own larger surfaces for those who build on them directly.

/// Every operation of the API: one module per tag with its builders (behind the tag's Cargo
/// feature), and what a call gives back: [`Call`](api::Call), [`Paginator`](api::Paginator),
/// [`Listing`](api::Listing).
pub mod api {
    #[doc(inline)]
    pub use genesys_cloud_api::*;
    #[doc(inline)]
    pub use genesys_cloud_core::pagination::{Listing, PageInfo, Paginator};
    #[doc(inline)]
    pub use genesys_cloud_core::{
        encode_path_segment, Call, CallOptions, CallWithResponse, Operation, OperationMeta, RequestParts,
    };
}

/// Every model of the API, generated: one type per definition, each behind the Cargo feature
/// of the tags that use it.
#[doc(inline)]
pub use genesys_cloud_models as models;

/// OAuth: the grants, the secret type that keeps tokens out of logs, the token cache and pool,
/// PKCE.
pub mod auth {
    #[doc(inline)]
    pub use genesys_cloud_auth::{
        pkce, CacheOptions, ClientCredentials, Grant, Secret, StaticToken, TokenCache, TokenInfo, TokenPool,
        TokenProvider,
    };
}

/// Configuration from a file and the environment, and the handle that reloads it.
pub mod config {
    #[doc(inline)]
    pub use genesys_cloud_config::{
        Config, ConfigBuilder, ConfigError, ConfigHandle, Credentials, Format, Gateway, Listening, LogFormat, LogLevel,
        Logging, Proxy, RateLimits, Reauthentication, ReloadEvent, Retry, Timeouts, ENV_VARS,
    };
}

/// The tower stack calls go through: its layers (to compose your own, or to read what they
/// do), the extension points' service types, the settings, and the `http` types a layer
/// author needs.
pub mod transport {
    /// The `bytes` crate: request and response bodies.
    pub use genesys_cloud_core::bytes;
    /// The `http` crate: requests, responses, headers, as the stack's services take them.
    pub use genesys_cloud_core::http;
    #[doc(inline)]
    pub use genesys_cloud_transport::{
        http_body, AttemptTimeoutLayer, AuthLayer, Base, BaseUrlLayer, Body, BoxError, CallContext, CallTimeoutLayer,
        Deadline, Endpoint, FleetPaceStats, HeadersLayer, HttpService, HyperClient, Live, LogFormat, LogHandle,
        LogLevel, LogSettings, LoggingLayer, PaceLayer, PaceStats, Pacer, Proxy, RateLimitStatus, RateLimits,
        RateStore, Reauthorize, Region, Retry, RetryBudget, RetryLayer, SdkService, SpanLayer, StackService, Timeouts,
        TlsConfig, Transport, TransportBuilder, DEFAULT_MAX_RESPONSE_SIZE,
    };
}

#[cfg(feature = "notification-service")]
#[cfg_attr(docsrs, doc(cfg(feature = "notification-service")))]
#[doc(inline)]
pub use genesys_cloud_notifications as notifications;

/// Processes of one integration sharing, on Redis, what the platform limits across them: one
/// OAuth token per expiry for the whole fleet ([`ClientBuilder::fleet`]).
#[cfg(feature = "fleet")]
#[cfg_attr(docsrs, doc(cfg(feature = "fleet")))]
pub mod fleet {
    #[doc(inline)]
    pub use genesys_cloud_fleet::{Fleet, RedisStore, StoreStats};
}

pub use genesys_cloud_transport::Region;

/// HTTP methods, as [`Raw::request`] takes them.
pub use genesys_cloud_core::http::Method;
/// HTTP status codes, as [`Error::status`] and [`Response::status`](Response#structfield.status)
/// give them.
pub use genesys_cloud_core::http::StatusCode;
pub use genesys_cloud_core::{Error, ErrorKind, Response, Result, RetryOverride};

mod export;
pub mod guide;
mod job_options;
#[cfg(feature = "organization")]
#[cfg_attr(docsrs, doc(cfg(feature = "organization")))]
pub mod limits;
pub mod modify;
mod polling;

/// The names of what the client reports through the `metrics` facade crate with the feature
/// `metrics`: the pacer's, the retry layer's and the token requests'. Install a recorder (a
/// Prometheus exporter, say) and they appear.
pub mod metrics {
    #[doc(inline)]
    pub use genesys_cloud_auth::metrics::TOKEN_REQUESTS;
    #[doc(inline)]
    pub use genesys_cloud_transport::metrics::{
        PACE_WAITS, PACE_WAIT_SECONDS, RATE_LIMITED, RATE_REMAINING, RETRIES, RETRIES_REFUSED,
    };
}
pub mod jobs;
#[cfg(feature = "open-messaging")]
#[cfg_attr(docsrs, doc(cfg(feature = "open-messaging")))]
pub mod open_messaging;
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

/// Traits for code generic over what ordinary use reaches through inherent methods: per-call
/// options ([`api::Operation`]), the model helpers ([`models::Model`]), and the stream
/// combinators of [`futures::TryStreamExt`] and [`futures::StreamExt`] (`try_collect()`,
/// `next()`, …) for a paginator's streams. Calling operations and reading listings with
/// `try_next()` needs none of them.
pub mod prelude {
    pub use futures_util::{StreamExt as _, TryStreamExt as _};
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
    /// The transport, as the executor every call goes through.
    executor: genesys_cloud_core::SharedExecutor,
    /// The same transport, for what it holds: tokens, pacer, TLS, proxy, log, configuration.
    transport: transport::Transport,
    /// The notification channels of every listener of this client (the service counts them
    /// per user and app).
    #[cfg(feature = "notification-service")]
    channels: Arc<notifications::ChannelBudget>,
    /// Through a fleet: its channel leases, under the client's scope.
    #[cfg(all(feature = "fleet", feature = "notification-service"))]
    channel_leases: Option<FleetLeases>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // What the client was built with, secrets hidden by each part's own `Debug`.
        f.debug_tuple("Client").field(&self.inner.transport).finish()
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
        self.inner.transport.config()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The executor the tag accessors (generated, in `tags.rs`) hand their builders: calls
    /// leave the crate through the builders and [`raw`](Self::raw) only.
    pub(crate) fn executor(&self) -> genesys_cloud_core::SharedExecutor {
        self.inner.executor.clone()
    }

    /// Logs in now, rather than at the first call: fetches a token from the grant (or
    /// refreshes the one held) and returns its info (lifetime, refresh token). A bad client
    /// id or secret fails here, with an [`ErrorKind::Auth`] error.
    pub async fn login(&self) -> Result<auth::TokenInfo> {
        match self.inner.transport.token_cache() {
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
        self.inner.transport.pacer().map(|p| p.stats()).unwrap_or_default()
    }

    /// Waits until every HTTP log line of this client so far is written (lines are written
    /// by a thread of their own, off the request path; dropping the last clone of the client
    /// writes out the rest). It blocks for at most 5 s: call it outside async code or from
    /// `spawn_blocking`.
    pub fn flush_logs(&self) {
        self.inner.transport.log_handle().flush();
    }

    /// The escape hatch: any method, any path under the API host, any JSON; built parts sent
    /// as they are; a download link from a response.
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
        let transport = &self.inner.transport;
        let options = options.tls(transport.tls().clone()).proxy(transport.proxy().cloned());
        let listener = notifications::Notifications::with_options(self.inner.executor.clone(), options)
            .budget(self.inner.channels.clone());
        #[cfg(feature = "fleet")]
        let listener = match &self.inner.channel_leases {
            Some(FleetLeases(store, scope)) => listener.leases(store.clone(), scope.clone()),
            None => listener,
        };
        listener
    }
}

/// Builds a [`Client`]: where calls go, how tokens are obtained, retries, timeouts, logging,
/// extra tower layers.
///
/// Each setting is handed to [`transport::TransportBuilder`], where it is declared, documented
/// and defaulted once; follow a setter's link for the whole of it. Settings may be given in
/// any order. Each has one precedence: what the code sets, then the environment, then the
/// configuration file ([`config`](Self::config)), then the defaults. Every check (a base URL
/// that does not parse, a region that does not exist) happens in [`build`](Self::build).
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
#[derive(Debug, Default)]
#[must_use = "a builder does nothing until it is built"]
pub struct ClientBuilder {
    transport: transport::TransportBuilder,
    /// The fleet's channel leases and its namespace: the notification service's setting,
    /// not the transport's.
    #[cfg(all(feature = "fleet", feature = "notification-service"))]
    channel_leases: Option<FleetLeases>,
}

/// A fleet's channel leases and the namespace (in a builder) or the scope (in a client) of
/// their keys.
#[cfg(all(feature = "fleet", feature = "notification-service"))]
#[derive(Clone)]
struct FleetLeases(Arc<dyn notifications::ChannelLeases>, String);

#[cfg(all(feature = "fleet", feature = "notification-service"))]
impl fmt::Debug for FleetLeases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("FleetLeases").field(&self.1).finish_non_exhaustive()
    }
}

/// Setters that hand their setting to the transport's builder. Each keeps a one-line summary
/// and links to the setting's one declaration.
macro_rules! to_transport {
    ($( $summary:literal fn $name:ident($($arg:ident: $ty:ty),*); )*) => {$(
        #[doc = $summary]
        #[doc = ""]
        #[doc = concat!(
            "The setting: [`TransportBuilder::", stringify!($name),
            "`](transport::TransportBuilder::", stringify!($name), ")."
        )]
        pub fn $name(mut self, $($arg: $ty),*) -> Self {
            self.transport = self.transport.$name($($arg),*);
            self
        }
    )*};
}

impl ClientBuilder {
    to_transport! {
        "Takes settings from a configuration (file and environment) where the code sets none; its hot settings follow reloads."
        fn config(handle: config::ConfigHandle);
        "Calls go to this region (default `us_east_1`)."
        fn region(region: Region);
        "Calls go to a custom base URL (`https://api.example.com`)."
        fn base_url(url: &str);
        "Calls go to this endpoint (a custom base URL, or a gateway)."
        fn endpoint(endpoint: transport::Endpoint);
        "Client-credentials tokens, cached and refreshed for every call."
        fn client_credentials(client_id: impl Into<String>, client_secret: impl Into<auth::Secret>);
        "Tokens from any grant (SAML2 bearer, authorization code, PKCE, refresh token)."
        fn grant(grant: auth::Grant);
        "Token cache options (refresh margin, wait limit, refresh on/off) for whichever grant the client uses."
        fn cache_options(options: auth::CacheOptions);
        "A fixed access token, obtained elsewhere."
        fn access_token(token: impl Into<auth::Secret>);
        "Tokens from your own provider."
        fn token_provider(provider: Arc<dyn auth::TokenProvider>);
        "Retry settings."
        fn retry(retry: transport::Retry);
        "Time limits: connect, each attempt, the whole call."
        fn timeouts(timeouts: transport::Timeouts);
        "Rate limits: pacing each token under its stated limit, and the token pool's size."
        fn rate_limits(limits: transport::RateLimits);
        "A pool of `tokens` client-credentials tokens, calls spread over them in turn."
        fn token_pool(tokens: usize);
        "HTTP logging (secrets always redacted)."
        fn logging(settings: transport::LogSettings);
        "Logging through a shared handle whose settings can change while the client runs."
        fn log_handle(handle: transport::LogHandle);
        "A proxy for every request (HTTP CONNECT, optional credentials, `NO_PROXY`)."
        fn proxy(proxy: config::Proxy);
        "TLS settings: extra trusted CAs and a client certificate (mTLS)."
        fn tls(tls: transport::TlsConfig);
        "The largest response body the client reads, in bytes once inflated (default 256 MiB)."
        fn max_response_size(bytes: usize);
        "Replaces the HTTP client underneath the SDK's layers (a test double, another client)."
        fn http_service(service: impl transport::StackService);
    }

    /// Shares with the other processes of `fleet` what the platform limits across them: the
    /// OAuth client's token (one token request per expiry for the whole fleet, the pool the
    /// fleet's), its rate budgets (each token's and the client's turns, in order) and, with
    /// the `notification-service` feature, its notification channels and topics (each topic
    /// carried by one process at a time, taken over when its holder dies). Redis failing never
    /// stops a call: the process goes on alone until it answers. Only client-credentials
    /// clients share these.
    ///
    /// The settings:
    /// [`TransportBuilder::token_store`](transport::TransportBuilder::token_store),
    /// [`TransportBuilder::rate_store`](transport::TransportBuilder::rate_store) and, for the
    /// notification service, `Notifications::leases`.
    #[cfg(feature = "fleet")]
    #[cfg_attr(docsrs, doc(cfg(feature = "fleet")))]
    pub fn fleet(mut self, fleet: &fleet::Fleet) -> Self {
        self.transport = self
            .transport
            .token_store(fleet.token_store(), fleet.namespace())
            .rate_store(fleet.rate_store(), fleet.namespace());
        #[cfg(feature = "notification-service")]
        {
            self.channel_leases = Some(FleetLeases(fleet.channel_leases(), fleet.namespace().to_owned()));
        }
        self
    }

    /// Adds a tower layer around each logical call (the first added is the outermost); it
    /// sees one request per call.
    ///
    /// The setting: [`TransportBuilder::with_layer`](transport::TransportBuilder::with_layer).
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<transport::HttpService> + Send + Sync + 'static,
        L::Service: transport::StackService,
    {
        self.transport = self.transport.with_layer(layer);
        self
    }

    /// Adds a tower layer around each attempt (the first added is the outermost); it sees
    /// every attempt.
    ///
    /// The setting:
    /// [`TransportBuilder::with_attempt_layer`](transport::TransportBuilder::with_attempt_layer).
    pub fn with_attempt_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<transport::HttpService> + Send + Sync + 'static,
        L::Service: transport::StackService,
    {
        self.transport = self.transport.with_attempt_layer(layer);
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
    /// token; the system's root certificates are read at the first `https` connection); it
    /// needs a Tokio runtime when calls are made.
    pub fn build(self) -> Result<Client> {
        let transport = self.transport.build()?;
        #[cfg(all(feature = "fleet", feature = "notification-service"))]
        let channel_leases = self.channel_leases.and_then(|FleetLeases(store, namespace)| {
            transport.fleet_key_prefix(&namespace).map(|scope| FleetLeases(store, scope))
        });
        let inner = Inner {
            executor: Arc::new(transport.clone()),
            transport,
            #[cfg(feature = "notification-service")]
            channels: Arc::default(),
            #[cfg(all(feature = "fleet", feature = "notification-service"))]
            channel_leases,
        };
        Ok(Client { inner: Arc::new(inner) })
    }
}
