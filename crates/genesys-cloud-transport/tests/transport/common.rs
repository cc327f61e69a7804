//! A scripted HTTP server on loopback for the transport tests.

use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{self, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// What the server answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Self {
            status: 200,
            headers: vec![("inin-correlation-id", "corr-ok".into())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: vec![("inin-correlation-id", format!("corr-{status}"))],
            body: format!(r#"{{"message":"status {status}","status":{status}}}"#),
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
}

/// Seen by the handler: method, path and query, authorization header, and the count of
/// requests to this path so far (1-based).
pub type Handler = Arc<dyn Fn(&str, &str, Option<&str>, usize) -> Reply + Send + Sync>;

pub struct Server {
    pub addr: SocketAddr,
    pub hits: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().iter().filter(|h| h.as_str() == path).count()
    }
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }
}

pub async fn serve(handler: Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = hits.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let handler = handler.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    let seen = seen.clone();
                    async move {
                        let path = req.uri().path().to_owned();
                        let n = {
                            let mut s = seen.lock().unwrap();
                            s.push(path.clone());
                            s.iter().filter(|p| **p == path).count()
                        };
                        let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                        let method = req.method().to_string();
                        let _ = req.into_body().collect().await;
                        let reply = handler(&method, &path, auth.as_deref(), n);
                        tokio::time::sleep(reply.delay).await;
                        let mut resp = Response::new(Full::new(Bytes::from(reply.body)));
                        *resp.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                        for (k, v) in reply.headers {
                            resp.headers_mut().insert(k, http::HeaderValue::from_str(&v).unwrap());
                        }
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    Server { addr, hits }
}

/// A request of `method` to `path`, as the generated code builds it (its operation in the
/// extensions).
pub fn request(method: http::Method, path: &str) -> Request<genesys_cloud_transport::Body> {
    let mut r = Request::new(genesys_cloud_transport::Body::empty());
    *r.method_mut() = method.clone();
    *r.uri_mut() = path.parse().unwrap();
    r.extensions_mut().insert(genesys_cloud_core::OperationMeta::raw(&method).unwrap());
    r
}
