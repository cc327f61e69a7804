//! The innermost service: hyper-util's pooled client with rustls.

use crate::layers::HttpService;
use crate::proxy::{ProxyConfig, ProxyConnector};
use crate::region::Base;
use crate::tls::TlsConfig;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{Error, ErrorKind};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tower::util::BoxCloneSyncService;

type Https = hyper_rustls::HttpsConnector<ProxyConnector>;

/// A pooled HTTP/1.1 client (keep-alive) that speaks TLS through rustls with the platform's
/// root certificates (webpki roots as a fallback), and asks for and decodes gzip responses
/// with tower-http.
#[derive(Clone)]
pub struct HyperClient {
    client: tower_http::decompression::Decompression<Client<Https, Full<Bytes>>>,
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HyperClient")
    }
}

impl HyperClient {
    /// A client with the given connect timeout, through `proxy` if given, with `tls`.
    pub fn new(connect_timeout: Duration, proxy: Option<&ProxyConfig>, tls: &TlsConfig) -> Result<Self, Error> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(connect_timeout));
        http.set_nodelay(true);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.client_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(http, proxy)?);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(tls);
        Ok(Self { client: tower_http::decompression::Decompression::new(client) })
    }

    /// The service that sends origin-form requests to `base` and reads whole responses.
    pub fn service(&self, base: Base) -> HttpService {
        let client = self.client.clone();
        let base = std::sync::Arc::new(base);
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Bytes>| {
            let client = client.clone();
            let base = base.clone();
            async move {
                use tower::ServiceExt as _;
                let (mut head, body) = req.into_parts();
                if head.uri.scheme().is_none() {
                    head.uri = base.join(head.uri.path_and_query().map_or("/", |p| p.as_str()))?;
                }
                let response = client.oneshot(Request::from_parts(head, Full::new(body))).await.map_err(|e| {
                    let kind = if e.is_connect() { ErrorKind::Connect } else { ErrorKind::Transport };
                    let what = if e.is_connect() { "could not connect" } else { "the connection failed" };
                    Error::new(kind, format!("{what}: {}", error_chain(&e))).with_source(e)
                })?;
                let (parts, body) = response.into_parts();
                let bytes = body
                    .collect()
                    .await
                    .map_err(|e| Error::new(ErrorKind::Transport, format!("the response body broke off: {e}")))?
                    .to_bytes();
                Ok::<_, Error>(Response::from_parts(parts, bytes))
            }
        }))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
