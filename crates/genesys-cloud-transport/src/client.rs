//! The innermost service: hyper-util's pooled client with rustls.

use crate::layers::HttpService;
use crate::proxy::{ProxyConfig, ProxyConnector};
use crate::region::Base;
use crate::tls::TlsConfig;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH};
use genesys_cloud_core::http::{HeaderValue, Request, Response};
use genesys_cloud_core::{Error, ErrorKind};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;
use tower::util::BoxCloneSyncService;

type Https = hyper_rustls::HttpsConnector<ProxyConnector>;

/// A pooled HTTP/1.1 client (keep-alive) that speaks TLS through rustls with the platform's
/// root certificates (webpki roots as a fallback), and asks for and decodes gzip responses
/// (flate2).
#[derive(Clone)]
pub struct HyperClient {
    // Shared, and called through `&self`: a call neither clones the client nor moves it into
    // its future.
    client: std::sync::Arc<Client<Https, Full<Bytes>>>,
}

/// The largest body a gzip response may inflate to: far above any Genesys Cloud response,
/// low enough that a decompression bomb is an error rather than an exhausted machine.
pub const MAX_INFLATED_BODY: u64 = 1 << 30;

/// Inflates a gzip body, within [`MAX_INFLATED_BODY`].
fn gunzip(packed: &[u8]) -> Result<Bytes, Error> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(packed.len().saturating_mul(4));
    flate2::read::MultiGzDecoder::new(packed)
        .take(MAX_INFLATED_BODY + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::new(ErrorKind::Transport, format!("the gzip response body could not be inflated: {e}")))?;
    if out.len() as u64 > MAX_INFLATED_BODY {
        return Err(Error::new(
            ErrorKind::Transport,
            format!("the gzip response body inflates past {MAX_INFLATED_BODY} bytes"),
        ));
    }
    Ok(Bytes::from(out))
}

impl std::fmt::Debug for HyperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HyperClient")
    }
}

impl HyperClient {
    /// A client with the given connect timeout, through `proxy` if given, with `tls`.
    pub fn new(connect_timeout: Duration, proxy: Option<&ProxyConfig>, tls: &TlsConfig) -> Result<Self, Error> {
        let http = crate::proxy::tcp_connector(connect_timeout);
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls.client_config()?)
            .https_or_http()
            .enable_http1()
            .wrap_connector(ProxyConnector::new(http, proxy)?);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(90)).build(tls);
        Ok(Self { client: std::sync::Arc::new(client) })
    }

    /// The service that sends origin-form requests to `base` and reads whole responses.
    pub fn service(&self, base: Base) -> HttpService {
        let this = self.clone();
        let base = std::sync::Arc::new(base);
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Bytes>| {
            let this = this.clone();
            let base = base.clone();
            async move { this.send(&base, req).await }
        }))
    }

    /// Sends one request (an origin-form URI is joined to `base`) and reads the whole
    /// response, inflating gzip.
    pub(crate) async fn send(&self, base: &Base, mut req: Request<Bytes>) -> Result<Response<Bytes>, Error> {
        Self::prepare(base, &mut req)?;
        self.send_prepared(req).await
    }

    /// Makes `req` ready for [`send_prepared`](Self::send_prepared): an absolute URI on
    /// `base`, and gzip asked for.
    pub(crate) fn prepare(base: &Base, req: &mut Request<Bytes>) -> Result<(), Error> {
        crate::layers::absolute(base, req)?;
        req.headers_mut().entry(ACCEPT_ENCODING).or_insert(HeaderValue::from_static("gzip"));
        Ok(())
    }

    /// Sends a [prepared](Self::prepare) request and reads the whole response, inflating gzip.
    ///
    /// The request is handed to hyper before the returned future is first polled, so the
    /// future holds hyper's (boxed) response future, not the request: it stays small.
    pub(crate) fn send_prepared(
        &self,
        req: Request<Bytes>,
    ) -> impl std::future::Future<Output = Result<Response<Bytes>, Error>> + Send + 'static {
        let (head, body) = req.into_parts();
        let pending = self.client.request(Request::from_parts(head, Full::new(body)));
        async move { read_response(pending.await).await }
    }
}

/// Reads a whole response (inflating gzip) or turns hyper's error into the SDK's.
async fn read_response(
    response: Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>,
) -> Result<Response<Bytes>, Error> {
    let response = response.map_err(|e| {
        let kind = if e.is_connect() { ErrorKind::Connect } else { ErrorKind::Transport };
        let what = if e.is_connect() { "could not connect" } else { "the connection failed" };
        Error::new(kind, format!("{what}: {}", error_chain(&e))).with_source(e)
    })?;
    let (mut parts, body) = response.into_parts();
    let mut bytes = body
        .collect()
        .await
        .map_err(|e| Error::new(ErrorKind::Transport, format!("the response body broke off: {e}")))?
        .to_bytes();
    let gzip = parts
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if gzip {
        bytes = gunzip(&bytes)?;
        parts.headers.remove(CONTENT_ENCODING);
        parts.headers.remove(CONTENT_LENGTH);
    }
    Ok(Response::from_parts(parts, bytes))
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
    use std::io::Write as _;

    #[test]
    fn gunzip_inflates_and_refuses_garbage() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(br#"{"a":1}"#).unwrap();
        assert_eq!(gunzip(&gz.finish().unwrap()).unwrap().as_ref(), br#"{"a":1}"#);
        let e = gunzip(b"\x1f\x8b not really gzip").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert!(e.to_string().contains("gzip"), "{e}");
    }
}
