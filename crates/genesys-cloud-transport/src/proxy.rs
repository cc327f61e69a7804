//! Proxies: HTTP CONNECT tunnels (hyper-util's `Tunnel`) chosen per destination by
//! hyper-util's proxy `Matcher`, which also reads `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`.

use genesys_cloud_config::Proxy;
use genesys_cloud_core::http::Uri;
use genesys_cloud_core::Error;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tower::{Service, ServiceExt};

/// The proxy matcher for a configured proxy: hyper-util's, from the environment or from the
/// one URL (credentials percent-encoded into it, `no_proxy` as its exceptions).
pub(crate) fn matcher(proxy: &Proxy) -> Result<Matcher, Error> {
    if proxy.from_env {
        return Ok(Matcher::from_env());
    }
    let url = proxy.to_url();
    let uri: Uri = url.parse().map_err(|e| Error::build(format!("invalid proxy URL {url:?}: {e}")))?;
    let authority = uri
        .authority()
        .filter(|a| !a.host().is_empty())
        .ok_or_else(|| Error::build(format!("the proxy URL {url:?} needs a host")))?;
    let userinfo = match (&proxy.username, &proxy.password) {
        (Some(u), p) => {
            let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
            let pass = p.as_ref().map(|p| format!(":{}", enc(p))).unwrap_or_default();
            format!("{}{pass}@", enc(u))
        }
        (None, _) => String::new(),
    };
    if uri.scheme_str().is_some_and(|s| !s.eq_ignore_ascii_case("http")) {
        return Err(Error::build(format!("the proxy URL {url:?} is not http://: {}", NOT_HTTP)));
    }
    let full = format!("http://{userinfo}{authority}");
    let mut b = Matcher::builder().all(full);
    if let Some(no) = &proxy.no_proxy {
        b = b.no(no.clone());
    }
    Ok(b.build())
}

/// Why a proxy is reached only over `http://`.
const NOT_HTTP: &str = "this client speaks to a proxy only in plain HTTP (the CONNECT, then TLS to the API inside \
     the tunnel), so an https:// proxy would get its CONNECT and Proxy-Authorization in clear text; \
     use the proxy's http:// address";

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Connects directly, or through a CONNECT tunnel when the matcher says so.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    direct: HttpConnector,
    matcher: Option<Arc<Matcher>>,
}

impl ProxyConnector {
    pub(crate) fn new(direct: HttpConnector, proxy: Option<&Proxy>) -> Result<Self, Error> {
        let matcher = proxy.map(matcher).transpose()?.map(Arc::new);
        Ok(Self { direct, matcher })
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let direct = self.direct.clone();
        match self.matcher.as_ref().and_then(|m| m.intercept(&dst)) {
            // `HTTPS_PROXY=https://…`: refused, as in `matcher`.
            Some(intercept) if intercept.uri().scheme_str() != Some("http") => {
                let message = format!(
                    "the proxy {} is not http://: {NOT_HTTP}",
                    intercept.uri().authority().map_or("", |a| a.as_str())
                );
                Box::pin(std::future::ready(Err(message.into())))
            }
            Some(intercept) => {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), direct);
                if let Some(auth) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                Box::pin(async move { tunnel.oneshot(dst).await.map_err(|e| Box::new(e) as BoxError) })
            }
            None => Box::pin(async move { direct.oneshot(dst).await.map_err(|e| Box::new(e) as BoxError) }),
        }
    }
}

/// The TCP connector under every connection of a client: any scheme (TLS is layered above it),
/// the connect timeout, no Nagle delay.
pub(crate) fn tcp_connector(connect_timeout: std::time::Duration) -> HttpConnector {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    http
}

/// Opens a TCP connection to `host:port` for another protocol of the same client (the
/// notification WebSocket), the way the client's own requests connect: directly, or through
/// the CONNECT tunnel `proxy` chooses for that destination (`secure` applies the rules for
/// `https`, such as `HTTPS_PROXY`). TLS, when wanted, goes over the stream returned.
pub async fn connect_tcp(
    proxy: Option<&Proxy>,
    host: &str,
    port: u16,
    secure: bool,
    connect_timeout: std::time::Duration,
) -> Result<TcpStream, Error> {
    let http = tcp_connector(connect_timeout);
    let scheme = if secure { "https" } else { "http" };
    let dst: Uri = format!("{scheme}://{host}:{port}")
        .parse()
        .map_err(|e| Error::new(genesys_cloud_core::ErrorKind::Connect, format!("{host}:{port}: {e}")))?;
    let connector = ProxyConnector::new(http, proxy)?;
    let io = connector.oneshot(dst).await.map_err(|e| {
        let message = format!("{host}:{port}: {e}");
        Error::new(genesys_cloud_core::ErrorKind::Connect, message).with_source(std::io::Error::other(e))
    })?;
    Ok(io.into_inner())
}
