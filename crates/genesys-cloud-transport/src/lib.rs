//! The transport of genesys-cloud-rs: hyper-util's pooled client with rustls under a tower
//! stack, implementing [`genesys_cloud_core::Executor`].
//!
//! The stack, outer to inner (each a tower [`Layer`] over [`HttpService`]):
//!
//! 1. user layers ([`TransportBuilder::with_layer`]), which see each logical call once;
//! 2. [`CallTimeoutLayer`]: the whole call, retries included (per call: `with_timeout`);
//! 3. [`RetryLayer`]: 429 always, 502/503/504 and broken connections for idempotent
//!    operations, `Retry-After` in both forms with a cap, full-jitter backoff, budgets;
//! 4. [`AttemptTimeoutLayer`]: each attempt, with tower's timeout;
//! 5. [`AuthLayer`]: the bearer token from a [`TokenProvider`],
//!    one replay after a 401 with a fresh token;
//! 6. [`HeadersLayer`]: `User-Agent: genesys-cloud-rs/<version>` and `purecloud-sdk`;
//! 7. [`LoggingLayer`]: each attempt as it goes out, with secrets redacted;
//! 8. the hyper client ([`HyperClient`]) on the API host of the [`Endpoint`], through a
//!    [`ProxyConfig`] if set.
//!
//! A [`SpanLayer`] around 2–8 opens one `tracing` span per call. [`TransportBuilder::from_service`]
//! replaces the SDK's stack with any service (a test double).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod client;
mod config;
mod layers;
mod logging;
mod pipeline;
mod proxy;
mod region;
mod tls;

pub use client::HyperClient;
pub use config::{RetryConfig, Timeouts};
pub use layers::{
    clone_request, full_jitter_backoff, AttemptTimeoutLayer, AuthLayer, BaseUrlLayer, CallTimeoutLayer, HeadersLayer,
    HttpService, RetryLayer,
};
pub use logging::{LogFormat, LogHandle, LogLevel, LogSettings, LoggingLayer, SpanLayer};
pub use proxy::{connect_tcp, ProxyConfig};
pub use region::{Base, Endpoint, Region};
pub use tls::TlsConfig;

use genesys_cloud_auth::{CacheOptions, Grant, StaticToken, TokenCache, TokenProvider};
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, Error, Executor, SharedExecutor};
use std::sync::Arc;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

/// The executor over the stack. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    service: HttpService,
    /// The fused default stack when no user layer wraps it: calls go to it directly.
    direct: Option<Arc<pipeline::Pipeline>>,
    api_host: String,
    token_cache: Option<Arc<TokenCache>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").field("api_host", &self.api_host).finish_non_exhaustive()
    }
}

impl Executor for Transport {
    fn execute(&self, request: Request<Bytes>) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        match &self.direct {
            Some(pipeline) => pipeline.start(request),
            None => Box::pin(self.service.clone().oneshot(request)),
        }
    }

    fn execute_parts(
        &self,
        parts: genesys_cloud_core::RequestParts,
    ) -> BoxFuture<'static, Result<Response<Bytes>, Error>> {
        match &self.direct {
            // The fused stack takes the operation and options as they are: no extensions.
            Some(pipeline) => pipeline.start_parts(parts),
            None => genesys_cloud_core::executor::execute_as_request(self, parts),
        }
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
        self.service.clone()
    }

    /// The token cache, when the transport was built with a grant.
    pub fn token_cache(&self) -> Option<Arc<TokenCache>> {
        self.token_cache.clone()
    }
}

type WrapFn = Box<dyn Fn(HttpService) -> HttpService + Send + Sync>;

/// How tokens are obtained.
enum Auth {
    None,
    Grant(Grant, CacheOptions),
    Provider(Arc<dyn TokenProvider>),
}

/// Builds a [`Transport`].
#[must_use = "a builder does nothing until it is built"]
pub struct TransportBuilder {
    endpoint: Endpoint,
    timeouts: Timeouts,
    retry: RetryConfig,
    auth: Auth,
    user_layers: Vec<WrapFn>,
    inner: Option<HttpService>,
    proxy: Option<ProxyConfig>,
    logging: LogHandle,
    tls: TlsConfig,
}

impl Default for TransportBuilder {
    fn default() -> Self {
        Self {
            endpoint: Region::default().endpoint(),
            timeouts: Timeouts::default(),
            retry: RetryConfig::default(),
            auth: Auth::None,
            user_layers: Vec::new(),
            inner: None,
            proxy: None,
            logging: LogHandle::new(LogSettings::default()),
            tls: TlsConfig::default(),
        }
    }
}

impl std::fmt::Debug for TransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportBuilder")
            .field("endpoint", &self.endpoint)
            .field("timeouts", &self.timeouts)
            .field("retry", &self.retry)
            .field("user_layers", &self.user_layers.len())
            .field("proxy", &self.proxy)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
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
    /// with [`ProxyConfig::FromEnv`].
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The proxy set so far (for other sockets of the same client, such as the notification
    /// WebSocket, with [`connect_tcp`]).
    pub fn proxy_settings(&self) -> Option<&ProxyConfig> {
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

    /// Time limits.
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Tokens from a grant, through a [`TokenCache`] on the login host.
    pub fn grant(mut self, grant: Grant, options: CacheOptions) -> Self {
        self.auth = Auth::Grant(grant, options);
        self
    }

    /// Tokens from `provider` (bring your own, or a [`StaticToken`]).
    pub fn token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.auth = Auth::Provider(provider);
        self
    }

    /// A fixed access token.
    pub fn access_token(self, token: impl Into<genesys_cloud_auth::Secret>) -> Self {
        self.token_provider(Arc::new(StaticToken::new(token)))
    }

    /// Adds a layer outside the SDK's stack (the first added is the outermost).
    pub fn with_layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<HttpService> + Send + Sync + 'static,
        L::Service: Service<Request<Bytes>, Response = Response<Bytes>, Error = Error> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request<Bytes>>>::Future: Send + 'static,
    {
        self.user_layers.push(Box::new(move |inner| BoxCloneSyncService::new(layer.layer(inner))));
        self
    }

    /// Replaces the SDK's stack (timeouts, retry, auth, headers, hyper) with `service`;
    /// user layers still wrap it.
    pub fn from_service(mut self, service: HttpService) -> Self {
        self.inner = Some(service);
        self
    }

    /// The transport, and the login-host executor its token cache uses.
    pub fn build(self) -> Result<Transport, Error> {
        let api_host = self.endpoint.api.host().to_owned();
        let mut token_cache = None;
        let mut direct = None;
        let mut service = match self.inner {
            Some(s) => s,
            None => {
                let hyper = HyperClient::new(self.timeouts.connect, self.proxy.as_ref(), &self.tls)?;
                let provider: Option<Arc<dyn TokenProvider>> = match self.auth {
                    Auth::None => None,
                    Auth::Provider(p) => Some(p),
                    Auth::Grant(grant, options) => {
                        // Token requests: SDK headers, attempt timeout, retries on connection
                        // failures and 429 only (a grant is not idempotent), no auth.
                        let login = pipeline::Pipeline {
                            call: None,
                            retry: self.retry.clone(),
                            attempt: self.timeouts.attempt,
                            auth: None,
                            headers: HeadersLayer::default(),
                            base: self.endpoint.login.clone(),
                            logging: self.logging.clone(),
                            client: hyper.clone(),
                        };
                        let login = Arc::new(login);
                        let login: SharedExecutor = Arc::new(Transport {
                            service: pipeline::Pipeline::service(login.clone()),
                            direct: Some(login),
                            api_host: self.endpoint.login.host().to_owned(),
                            token_cache: None,
                        });
                        let cache = Arc::new(TokenCache::new(login, grant, options));
                        token_cache = Some(cache.clone());
                        Some(cache)
                    }
                };
                let api = Arc::new(pipeline::Pipeline {
                    call: Some(self.timeouts.call),
                    retry: self.retry.clone(),
                    attempt: self.timeouts.attempt,
                    auth: provider.map(layers::Bearer::new),
                    headers: HeadersLayer::default(),
                    base: self.endpoint.api.clone(),
                    logging: self.logging.clone(),
                    client: hyper,
                });
                direct = Some(api.clone());
                pipeline::Pipeline::service(api)
            }
        };
        for wrap in self.user_layers.iter().rev() {
            service = wrap(service);
        }
        if !self.user_layers.is_empty() {
            direct = None;
        }
        Ok(Transport { service, direct, api_host, token_cache })
    }
}
