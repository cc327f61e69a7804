//! The Rust SDK for the Genesys Cloud Platform API v2.
//!
//! ```ignore
//! use genesys_cloud::prelude::*;
//!
//! let client = genesys_cloud::Client::builder().client_credentials(id, secret).build()?;
//! let me = client.users().get_users_me().expand(["presence"]).send().await?;
//! let mut queues = client.routing().get_routing_queues().page_size(100).into_paginator().items();
//! while let Some(queue) = queues.try_next().await? { println!("{:?}", queue.name); }
//! ```
//!
//! - [`Client`] is cheap to clone, `Send + Sync`, and holds everything it uses: there are no
//!   process-wide globals, and several clients can live in one process.
//! - Every operation of the API is a method of a tag accessor (`client.users()`,
//!   `client.routing()`, …) behind the tag's Cargo feature; see [`api`].
//! - [`Client::raw`] calls any path with any JSON, for endpoints the spec gets wrong.
//!
//! Calls go through [`transport`] (hyper with rustls under a tower stack: retries,
//! timeouts, OAuth via [`auth`]); [`ClientBuilder::executor`] or
//! [`ClientBuilder::from_service`] swap it for anything else.
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::sync::Arc;

pub use genesys_cloud_api as api;
pub use genesys_cloud_auth as auth;
pub use genesys_cloud_config as config;
pub use genesys_cloud_core as core;
pub use genesys_cloud_models as models;
#[cfg(feature = "notification-service")]
#[cfg_attr(docsrs, doc(cfg(feature = "notification-service")))]
pub use genesys_cloud_notifications as notifications;
pub use genesys_cloud_transport as transport;

pub use genesys_cloud_transport::Region;

pub use genesys_cloud_core::{Error, ErrorKind, Response, Result};

mod raw;
pub use raw::{Raw, RawRequest};

/// The traits a call needs in scope: tag accessors ([`api::Tags`]), per-call options
/// ([`core::Operation`]), the model helpers ([`models::Model`]), and the stream methods a
/// paginator's streams are read with (`try_next()`, `next()`, `try_collect()`, from
/// [`futures::TryStreamExt`] and [`futures::StreamExt`]), so no other dependency is needed.
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
    /// The TLS settings of the transport, for the notification socket.
    #[cfg_attr(not(feature = "notification-service"), allow(dead_code))]
    tls: transport::TlsConfig,
    /// The proxy of the transport, for the notification socket.
    #[cfg_attr(not(feature = "notification-service"), allow(dead_code))]
    proxy: Option<transport::ProxyConfig>,
    /// Kept so the configuration watcher lives exactly as long as the client.
    config: Option<config::ConfigHandle>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("api_host", &self.inner.executor.api_host()).finish_non_exhaustive()
    }
}

impl Client {
    /// A client that sends every call through `executor` (a transport, or a test double).
    pub fn from_executor(executor: core::SharedExecutor) -> Self {
        Self { inner: Arc::new(Inner { executor, tls: transport::TlsConfig::default(), proxy: None, config: None }) }
    }

    /// A client from `~/.genesyscloudrust/config` (or `GENESYS_CLOUD_CONFIG_PATH`) and the
    /// `GENESYS_CLOUD_*` environment variables, with client credentials from
    /// `GENESYS_CLOUD_CLIENT_ID` and `GENESYS_CLOUD_CLIENT_SECRET`.
    pub fn from_default_config() -> Result<Self> {
        let handle = config::ConfigHandle::builder()
            .default_path()
            .build()
            .map_err(|e| Error::build(format!("configuration: {e}")))?;
        Client::builder().config(handle)?.build()
    }

    /// The configuration handle the client was built with, if any.
    pub fn config(&self) -> Option<&config::ConfigHandle> {
        self.inner.config.as_ref()
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The executor calls go through.
    pub fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
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
        notifications::Notifications::with_options(self.executor(), options)
    }
}

impl api::Tags for Client {
    fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
    }
}

/// Builds a [`Client`]: where calls go, how tokens are obtained, retries, timeouts and
/// extra tower layers; or any executor.
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
    executor: Option<core::SharedExecutor>,
    transport: transport::TransportBuilder,
    config: Option<config::ConfigHandle>,
    cache_options: Option<auth::CacheOptions>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("executor", &self.executor.is_some())
            .field("transport", &self.transport)
            .finish()
    }
}

impl ClientBuilder {
    /// Takes the settings of a configuration (file, environment, code). Call it first: the
    /// builder's own methods, called after, override it. Logging follows reloads of the file
    /// (the next call uses the new settings); endpoint, proxy, TLS, retry, timeouts and
    /// reauthentication apply when the client is built.
    pub fn config(mut self, handle: config::ConfigHandle) -> Result<Self> {
        let c = handle.load();
        if let Some(g) = &c.gateway {
            self.transport = self.transport.endpoint(transport::Endpoint::gateway(
                &g.protocol,
                &g.host,
                g.port,
                &g.path_params_login,
                &g.path_params_api,
            )?);
        } else if let Some(url) = &c.base_url {
            self.transport = self.transport.endpoint(transport::Endpoint::custom(url)?);
        } else if let Some(region) = &c.region {
            self.transport = self.transport.region(region.parse()?);
        }
        if let Some(p) = &c.proxy {
            let mut proxy = transport::ProxyConfig::url(p.url());
            if let Some(user) = &p.username {
                proxy = proxy.with_credentials(user.clone(), p.password.clone().unwrap_or_default());
            }
            if let Some(no) = &p.no_proxy {
                proxy = proxy.with_no_proxy(no.clone());
            }
            self.transport = self.transport.proxy(proxy);
        }
        self.transport = self.transport.retry(
            transport::RetryConfig::default()
                .max_attempts(c.retry.max_attempts)
                .max_elapsed(c.retry.max_elapsed)
                .max_retry_after(c.retry.max_retry_after),
        );
        self.transport = self.transport.timeouts(
            transport::Timeouts::default()
                .connect(c.timeouts.connect)
                .attempt(c.timeouts.attempt)
                .call(c.timeouts.call),
        );
        let cache = auth::CacheOptions::default()
            .refresh_enabled(c.reauthentication.refresh_access_token)
            .wait_limit(c.reauthentication.refresh_token_wait_max);
        self.cache_options = Some(cache.clone());
        if let (Some(id), Some(secret)) = (&c.credentials.client_id, &c.credentials.client_secret) {
            self.transport = self.transport.grant(auth::Grant::client_credentials(id.clone(), secret.clone()), cache);
        }
        // Logging is hot: a reload reaches the next call through the shared handle.
        let logs = transport::LogHandle::new(c.logging.clone());
        let follow = logs.clone();
        handle.on_change(move |event| {
            if let config::ReloadEvent::Reloaded(c) = event {
                follow.set(c.logging.clone());
            }
        });
        self.transport = self.transport.log_handle(logs);
        self.config = Some(handle);
        Ok(self)
    }

    /// Sends calls through `executor` instead of the built-in transport (every other
    /// transport setting is then ignored).
    pub fn executor(mut self, executor: core::SharedExecutor) -> Self {
        self.executor = Some(executor);
        self
    }

    /// Calls go to this region (default `us_east_1`, `api.mypurecloud.com`).
    pub fn region(mut self, region: Region) -> Self {
        self.transport = self.transport.region(region);
        self
    }

    /// Calls go to a custom base URL (`https://api.example.com`); the login host is derived
    /// by replacing `api.` with `login.`.
    pub fn base_url(mut self, url: &str) -> Result<Self> {
        self.transport = self.transport.endpoint(transport::Endpoint::custom(url)?);
        Ok(self)
    }

    /// Calls go to this endpoint (e.g. a [gateway](transport::Endpoint::gateway)).
    pub fn endpoint(mut self, endpoint: transport::Endpoint) -> Self {
        self.transport = self.transport.endpoint(endpoint);
        self
    }

    /// Client-credentials tokens, cached and refreshed for every call.
    pub fn client_credentials(self, client_id: impl Into<String>, client_secret: impl Into<auth::Secret>) -> Self {
        self.grant(auth::Grant::client_credentials(client_id, client_secret))
    }

    /// Tokens from any grant (SAML2 bearer, authorization code, PKCE, refresh token).
    pub fn grant(mut self, grant: auth::Grant) -> Self {
        let options = self.cache_options.clone().unwrap_or_default();
        self.transport = self.transport.grant(grant, options);
        self
    }

    /// Tokens from a grant with cache options (refresh margin, wait limit, refresh on/off).
    pub fn grant_with(mut self, grant: auth::Grant, options: auth::CacheOptions) -> Self {
        self.transport = self.transport.grant(grant, options);
        self
    }

    /// A fixed access token, obtained elsewhere.
    pub fn access_token(mut self, token: impl Into<auth::Secret>) -> Self {
        self.transport = self.transport.access_token(token);
        self
    }

    /// Tokens from your own provider.
    pub fn token_provider(mut self, provider: Arc<dyn auth::TokenProvider>) -> Self {
        self.transport = self.transport.token_provider(provider);
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: transport::RetryConfig) -> Self {
        self.transport = self.transport.retry(retry);
        self
    }

    /// HTTP logging (levels trace/debug/error/none, text or JSON, console and/or file;
    /// secrets always redacted).
    pub fn logging(mut self, settings: transport::LogSettings) -> Self {
        self.transport = self.transport.logging(settings);
        self
    }

    /// Logging through a shared handle whose settings can change while the client runs.
    pub fn log_handle(mut self, handle: transport::LogHandle) -> Self {
        self.transport = self.transport.log_handle(handle);
        self
    }

    /// A proxy for every request (HTTP CONNECT, optional credentials, `NO_PROXY`), or the
    /// environment's with [`transport::ProxyConfig::FromEnv`].
    pub fn proxy(mut self, proxy: transport::ProxyConfig) -> Self {
        self.transport = self.transport.proxy(proxy);
        self
    }

    /// TLS settings: extra trusted CAs and a client certificate (mTLS). Server certificates
    /// are always verified.
    pub fn tls(mut self, tls: transport::TlsConfig) -> Self {
        self.transport = self.transport.tls(tls);
        self
    }

    /// Time limits.
    pub fn timeouts(mut self, timeouts: transport::Timeouts) -> Self {
        self.transport = self.transport.timeouts(timeouts);
        self
    }

    /// Adds a tower layer outside the SDK's stack (the first added is the outermost); it sees
    /// each logical call once.
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: tower_layer::Layer<transport::HttpService> + Send + Sync + 'static,
        L::Service: tower_service::Service<
                core::http::Request<core::bytes::Bytes>,
                Response = core::http::Response<core::bytes::Bytes>,
                Error = Error,
            > + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as tower_service::Service<core::http::Request<core::bytes::Bytes>>>::Future: Send + 'static,
    {
        self.transport = self.transport.with_layer(layer);
        self
    }

    /// Replaces the SDK's whole stack with `service` (a test double); user layers still wrap it.
    pub fn from_service(mut self, service: transport::HttpService) -> Self {
        self.transport = self.transport.from_service(service);
        self
    }

    /// The authorization-code flow in one call, as the Python SDK's
    /// `get_code_authorization_token`: exchanges `code` for a token right away and returns the
    /// client with the token info (refresh token, lifetime). The client refreshes with the
    /// refresh token from then on.
    pub async fn authorization_code(
        mut self,
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
        self.transport = self.transport.grant(grant, auth::CacheOptions::default());
        let transport = self.transport.build()?;
        let cache = transport.token_cache().ok_or_else(|| Error::build("the transport has no token cache"))?;
        let info = cache.fetch_now().await?;
        Ok((Client::from_executor(Arc::new(transport)), info))
    }

    /// The client. Creating it does no I/O (the first call fetches the token); it needs a
    /// Tokio runtime when calls are made.
    pub fn build(self) -> Result<Client> {
        let tls = self.transport.tls_settings().clone();
        let proxy = self.transport.proxy_settings().cloned();
        let executor: core::SharedExecutor = match self.executor {
            Some(executor) => executor,
            None => Arc::new(self.transport.build()?),
        };
        Ok(Client { inner: Arc::new(Inner { executor, tls, proxy, config: self.config }) })
    }
}
