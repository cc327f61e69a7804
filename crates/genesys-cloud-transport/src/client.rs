//! The innermost service: hyper-util's pooled client with rustls, under tower-http's gzip
//! decompression, read whole into a [`Body`].

use crate::body::{Body, BoxError, Joined};
use crate::proxy::ProxyConnector;
use crate::tls::TlsConfig;
use genesys_cloud_config::Proxy;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{BoxFuture, Error, ErrorKind};
use http_body_util::Limited;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tower::Service;
use tower_http::decompression::Decompression;

type Https = hyper_rustls::HttpsConnector<ProxyConnector>;
type Stream = hyper_rustls::MaybeHttpsStream<hyper_util::rt::TokioIo<tokio::net::TcpStream>>;

/// The connector: plain TCP (or a proxy tunnel) for `http`, rustls over it for `https`. The
/// TLS configuration, with the system's root certificates, is built at the first `https`
/// connection: reading the roots is most of a client's start-up time, and a client of `http`
/// hosts never needs them. Shared: hyper-util copies its connector for every request, and a
/// copy here is one reference count (not a copy of the TLS settings and their certificates).
#[derive(Clone)]
pub(crate) struct LazyTls(Arc<Connector>);

struct Connector {
    plain: ProxyConnector,
    settings: TlsConfig,
    https: std::sync::OnceLock<Result<Https, String>>,
}

impl LazyTls {
    /// Plain connections through `plain`; TLS with `settings`, set up when first needed.
    fn new(plain: ProxyConnector, settings: TlsConfig) -> Self {
        Self(Arc::new(Connector { plain, settings, https: Default::default() }))
    }

    fn https(&self) -> Result<Https, String> {
        let this = &*self.0;
        this.https
            .get_or_init(|| {
                let config = this.settings.client_config().map_err(|e| e.to_string())?;
                Ok(hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(this.plain.clone()))
            })
            .clone()
    }
}

impl Service<genesys_cloud_core::http::Uri> for LazyTls {
    type Response = Stream;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Stream, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: genesys_cloud_core::http::Uri) -> Self::Future {
        if dst.scheme() == Some(&genesys_cloud_core::http::uri::Scheme::HTTPS) {
            match self.https() {
                Ok(mut https) => https.call(dst),
                Err(e) => Box::pin(std::future::ready(Err(BoxError::from(format!("TLS setup: {e}"))))),
            }
        } else {
            let connect = self.0.plain.clone().call(dst);
            Box::pin(async move { Ok(hyper_rustls::MaybeHttpsStream::Http(connect.await?)) })
        }
    }
}

/// A pooled HTTP/1.1 client (keep-alive) that speaks TLS through rustls with the platform's
/// root certificates (webpki roots as a fallback), asks for gzip and inflates it (tower-http's
/// `Decompression`), and reads each response to the end. The innermost service of the stack;
/// [`TransportBuilder::http_service`](crate::TransportBuilder::http_service) replaces it.
#[derive(Clone)]
pub struct HyperClient {
    inner: Decompression<PooledClient>,
    /// The largest response body read, once inflated.
    max_body: usize,
}

/// hyper-util's client, shared: a clone per call is one reference count.
#[derive(Clone)]
pub(crate) struct PooledClient(Arc<Client<LazyTls, Body>>);

impl Service<Request<Body>> for PooledClient {
    type Response = Response<hyper::body::Incoming>;
    type Error = hyper_util::client::legacy::Error;
    type Future = hyper_util::client::legacy::ResponseFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.0.request(req)
    }
}

/// The largest body a response may have once inflated, unless the client sets its own
/// ([`TransportBuilder::max_response_size`](crate::TransportBuilder::max_response_size)):
/// 256 MiB. Every response is held whole in memory; the largest Genesys Cloud answers (an
/// analytics details page of 10,000 conversations) are tens of megabytes, so this is far
/// above them and low enough that a runaway or hostile body (a decompression bomb) is an
/// [`ErrorKind::TooLarge`] error rather than an exhausted machine.
pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 256 << 20;

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HyperClient")
    }
}

impl HyperClient {
    /// A client with the given connect timeout, through `proxy` if given, with `tls`. The
    /// TLS settings are checked here (a client certificate that does not fit its key is an
    /// error now); the system's root certificates are read at the first `https` connection.
    pub fn new(connect_timeout: Duration, proxy: Option<&Proxy>, tls: &TlsConfig) -> Result<Self, Error> {
        // Everything but the platform's roots, which are what is slow to read.
        tls.clone().only_added_roots().client_config()?;
        let http = crate::proxy::tcp_connector(connect_timeout);
        let plain = ProxyConnector::new(http, proxy)?;
        let connector = LazyTls::new(plain, tls.clone());
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(connector);
        let inner = tower_http::decompression::DecompressionLayer::new().no_br().no_deflate().no_zstd();
        Ok(Self {
            inner: tower::Layer::layer(&inner, PooledClient(Arc::new(client))),
            max_body: DEFAULT_MAX_RESPONSE_SIZE,
        })
    }

    /// Sets the largest response body read (once inflated), in bytes; a larger one is an
    /// [`ErrorKind::TooLarge`] error. Default [`DEFAULT_MAX_RESPONSE_SIZE`].
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
}

impl Service<Request<Body>> for HyperClient {
    type Response = Response<Body>;
    type Error = Error;
    type Future = HyperCall;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // hyper-util's client queues for a pooled connection inside the call.
        Poll::Ready(Ok(()))
    }

    /// Sends one request (its URI absolute) and reads the whole response. The request goes
    /// to hyper at once: the future holds hyper's response future, not the request.
    fn call(&mut self, req: Request<Body>) -> Self::Future {
        HyperCall { state: CallState::Head { pending: self.inner.call(req) }, max_body: self.max_body }
    }
}

type Inflated = tower_http::decompression::DecompressionBody<hyper::body::Incoming>;

pin_project_lite::pin_project! {
    /// The future of [`HyperClient`]: the response's head, then its whole body (inflated).
    pub struct HyperCall {
        #[pin]
        state: CallState,
        max_body: usize,
    }
}

pin_project_lite::pin_project! {
    #[project = CallStateProj]
    enum CallState {
        Head { #[pin] pending: tower_http::decompression::ResponseFuture<hyper_util::client::legacy::ResponseFuture> },
        // The body read frame by frame: the first frame as it is (most bodies are one), more
        // joined in a buffer.
        // The inflating body is boxed: it is large (its gzip state), and every layer's
        // future holds this one.
        Body {
            parts: Option<genesys_cloud_core::http::response::Parts>,
            body: std::pin::Pin<Box<Limited<Inflated>>>,
            joined: Joined,
        },
    }
}

impl std::future::Future for HyperCall {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                CallStateProj::Head { pending } => {
                    let response = std::task::ready!(pending.poll(cx)).map_err(|e| {
                        let kind = if e.is_connect() { ErrorKind::Connect } else { ErrorKind::Transport };
                        let what = if e.is_connect() { "could not connect" } else { "the connection failed" };
                        Error::new(kind, format!("{what}: {}", error_chain(&e))).with_source(e)
                    })?;
                    let (parts, body) = response.into_parts();
                    let body = Box::pin(Limited::new(body, *this.max_body));
                    this.state.set(CallState::Body { parts: Some(parts), body, joined: Joined::default() });
                }
                CallStateProj::Body { parts, body, joined } => {
                    let limit = *this.max_body;
                    let bytes = std::task::ready!(joined.poll_to_end(body.as_mut(), cx, |e| body_error(e, limit)))?;
                    let Some(parts) = parts.take() else {
                        return Poll::Ready(Err(Error::new(ErrorKind::Transport, "polled after completion")));
                    };
                    return Poll::Ready(Ok(Response::from_parts(parts, Body::from(bytes))));
                }
            }
        }
    }
}

/// A response body that could not be read: cut off, not valid gzip, or past `limit` bytes
/// once inflated.
fn body_error(e: BoxError, limit: usize) -> Error {
    let what = if e.is::<http_body_util::LengthLimitError>() {
        let message = format!(
            "the response body is larger than the client's maximum response size ({limit} bytes, once inflated)"
        );
        return Error::new(ErrorKind::TooLarge, message).with_boxed_source(e);
    } else if e.is::<std::io::Error>() {
        format!("the gzip response body could not be inflated: {}", error_chain(&*e))
    } else {
        format!("the response body broke off: {}", error_chain(&*e))
    };
    Error::new(ErrorKind::Transport, what).with_boxed_source(e)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The TLS configuration (and with it the system's root certificates, most of a client's
    /// start-up) is built at the first `https` connection, never for `http` ones.
    #[tokio::test]
    async fn tls_is_set_up_at_the_first_https_connection_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let plain = ProxyConnector::new(crate::proxy::tcp_connector(Duration::from_secs(5)), None).unwrap();
        let mut connector = LazyTls::new(plain, TlsConfig::default());
        let stream = connector.call(format!("http://{addr}/").parse().unwrap()).await.unwrap();
        assert!(matches!(stream, hyper_rustls::MaybeHttpsStream::Http(_)), "a plain TCP connection");
        assert!(connector.0.https.get().is_none(), "an http connection set up no TLS");
        // The https connection's future is not needed: the setup happens when it is asked for.
        drop(connector.call(format!("https://{addr}/").parse().unwrap()));
        assert!(matches!(connector.0.https.get(), Some(Ok(_))), "the first https connection set TLS up");
    }
}
