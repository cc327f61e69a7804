//! The whole stack over real sockets on loopback, against a scripted HTTP server.

use genesys_cloud_auth::Grant;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{self, Method, Request, Response, StatusCode};
use genesys_cloud_core::{execute, ErrorKind, Executor as _, OperationMeta, RequestParts};
use genesys_cloud_transport::{Body, Endpoint, Retry, Timeouts, Transport};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

use crate::common;
use common::{request, serve, Reply, Server};

fn transport(server: &Server, retry: Retry, timeouts: Timeouts) -> Transport {
    Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(retry)
        .timeouts(timeouts)
        .build()
        .unwrap()
}

fn fast_retry() -> Retry {
    Retry::default()
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .max_retry_after(Duration::from_secs(3))
}

async fn call(t: &Transport, method: Method, path: &str) -> Result<http::Response<Bytes>, genesys_cloud_core::Error> {
    let parts = RequestParts::new(OperationMeta::raw(&method).unwrap(), path.to_owned());
    execute(t, parts).await
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server =
        serve(Arc::new(
            |_, _, _, n| if n == 1 { Reply::status(429).header("retry-after", "1".into()) } else { Reply::ok("{}") },
        ))
        .await;
    let t = transport(&server, fast_retry(), Timeouts::default());
    let started = Instant::now();
    let r = call(&t, Method::GET, "/api/v2/x").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(950), "waited {:?}", started.elapsed());
    assert_eq!(server.hits("/api/v2/x"), 2);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_honoured() {
    let server = serve(Arc::new(|_, _, _, n| {
        if n == 1 {
            let at = std::time::SystemTime::now() + Duration::from_secs(2);
            Reply::status(429).header("retry-after", httpdate_fmt(at))
        } else {
            Reply::ok("{}")
        }
    }))
    .await;
    let t = transport(&server, fast_retry(), Timeouts::default());
    let started = Instant::now();
    assert_eq!(call(&t, Method::POST, "/api/v2/y").await.unwrap().status(), 200, "429 is retried even for POST");
    assert!(started.elapsed() >= Duration::from_millis(900), "waited {:?}", started.elapsed());
}

fn httpdate_fmt(t: std::time::SystemTime) -> String {
    // RFC 7231 IMF-fixdate, written here to keep the test independent of the SDK's parser.
    let secs = t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    let (h, m, s) = ((secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mon =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][(month - 1) as usize];
    format!("{weekday}, {d:02} {mon} {year} {h:02}:{m:02}:{s:02} GMT")
}

#[tokio::test]
async fn retry_after_over_the_cap_returns_at_once() {
    let server = serve(Arc::new(|_, _, _, _| Reply::status(429).header("retry-after", "600".into()))).await;
    let t = transport(&server, fast_retry(), Timeouts::default());
    let e = tokio::time::timeout(Duration::from_secs(60), call(&t, Method::GET, "/api/v2/z"))
        .await
        .expect("a wait of 600 s is not waited")
        .unwrap_err();
    assert!(e.is_rate_limited());
    assert_eq!(e.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(e.correlation_id(), Some("corr-429"));
    assert_eq!(server.hits("/api/v2/z"), 1);
}

#[tokio::test]
async fn a_503_burst_is_retried_for_get_but_not_for_post() {
    let server =
        serve(Arc::new(
            |_, path, _, n| {
                if path == "/get" && n <= 2 || path == "/post" {
                    Reply::status(503)
                } else {
                    Reply::ok("{}")
                }
            },
        ))
        .await;
    let t = transport(&server, fast_retry(), Timeouts::default());
    assert_eq!(call(&t, Method::GET, "/get").await.unwrap().status(), 200);
    assert_eq!(server.hits("/get"), 3);
    let e = call(&t, Method::POST, "/post").await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(server.hits("/post"), 1, "a POST is never repeated on 503");
}

#[tokio::test]
async fn attempts_run_out_with_the_count() {
    let server = serve(Arc::new(|_, _, _, _| Reply::status(503))).await;
    let t = transport(&server, fast_retry().max_attempts(3), Timeouts::default());
    let e = call(&t, Method::GET, "/always-503").await.unwrap_err();
    assert_eq!(e.attempts(), 3);
    assert!(e.to_string().contains("after 3 attempts"), "{e}");
    assert_eq!(server.hits("/always-503"), 3);
}

#[tokio::test]
async fn slow_headers_time_out_with_an_error() {
    let server = serve(Arc::new(|_, _, _, _| Reply::ok("{}").delay(Duration::from_secs(5)))).await;
    let t = transport(&server, Retry::disabled(), Timeouts::default().attempt(Duration::from_millis(300)));
    let e = call(&t, Method::GET, "/slow").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(server.hits("/slow"), 1);
    // The per-call limit applies to the whole call too.
    let t = transport(&server, fast_retry(), Timeouts::default().call(Duration::from_millis(400)));
    let e = call(&t, Method::GET, "/slow").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_reset_connection_is_retried_only_when_idempotent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            count.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await;
            drop(stream); // close without answering
        }
    });
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&format!("http://{addr}")).unwrap())
        .retry(fast_retry().max_attempts(3))
        .build()
        .unwrap();
    let e = call(&t, Method::GET, "/reset").await.unwrap_err();
    assert!(e.is_retries_exhausted() && e.is_transport(), "{e:?}");
    assert_eq!(e.attempts(), 3);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    let e = call(&t, Method::POST, "/reset").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transport);
    assert_eq!(accepted.load(Ordering::SeqCst), 4, "the POST went out once");
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&format!("http://127.0.0.1:{port}")).unwrap())
        .retry(fast_retry().max_attempts(2))
        .build()
        .unwrap();
    let e = call(&t, Method::POST, "/x").await.unwrap_err();
    assert!(e.is_retries_exhausted(), "connection failures are retried even for POST: nothing was sent");
    assert!(e.is_connect(), "the cause shows through the retry loop: {e:?}");
    assert_eq!(e.attempts(), 2);
}

#[tokio::test]
async fn a_401_mints_a_new_token_and_replays_once() {
    let revoked = Arc::new(Mutex::new(Vec::<String>::new()));
    let r = revoked.clone();
    let server = serve(Arc::new(move |_, path, auth, n| match path {
        "/oauth/token" => Reply::ok(&format!(r#"{{"access_token":"tok-{n}","expires_in":3600}}"#)),
        _ => {
            let auth = auth.unwrap_or("").to_owned();
            if auth == "Bearer tok-1" {
                r.lock().unwrap().push(auth);
                Reply::status(401)
            } else {
                Reply::ok(r#"{"ok":true}"#)
            }
        }
    }))
    .await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .grant(Grant::client_credentials("id", "secret"))
        .build()
        .unwrap();
    let r = call(&t, Method::GET, "/api/v2/users/me").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.hits("/oauth/token"), 2);
    assert_eq!(server.hits("/api/v2/users/me"), 2);
    assert_eq!(revoked.lock().unwrap().len(), 1);
}

/// The replay after a 401 is one more attempt of the retry layer: attempt layers see it, the
/// response counts it, and it is sent even with retries off; a second 401 stands.
#[tokio::test]
async fn the_replay_after_a_401_is_an_attempt_every_attempt_layer_sees() {
    let server = serve(Arc::new(move |_, path, auth, n| match path {
        "/oauth/token" => Reply::ok(&format!(r#"{{"access_token":"tok-{n}","expires_in":3600}}"#)),
        "/api/v2/always" => Reply::status(401),
        _ if auth == Some("Bearer tok-1") => Reply::status(401),
        _ => Reply::ok(r#"{"ok":true}"#),
    }))
    .await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .grant(Grant::client_credentials("id", "secret"))
        .retry(Retry::disabled())
        .with_attempt_layer(tower_http::trace::TraceLayer::new_for_http().on_request(
            move |_: &Request<Body>, _: &tracing::Span| {
                a.fetch_add(1, Ordering::SeqCst);
            },
        ))
        .build()
        .unwrap();
    let r = call(&t, Method::GET, "/api/v2/users/me").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(attempts.load(Ordering::SeqCst), 2, "the attempt layer saw the first attempt and the replay");
    assert_eq!(r.extensions().get::<genesys_cloud_core::executor::Attempts>().map(|a| a.0), Some(2));
    assert!(r.extensions().get::<genesys_cloud_transport::Reauthorize>().is_none());
    assert_eq!(server.hits("/oauth/token"), 2);

    // A 401 to the fresh token too: one replay only, and the caller gets the 401.
    let e = call(&t, Method::GET, "/api/v2/always").await.unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(server.hits("/api/v2/always"), 2, "one replay, not more");
    assert_eq!(server.hits("/oauth/token"), 3);
}

/// A thousand calls at once find the token expired: one token request serves them all. The
/// expiry is set, not waited for (an expired token is put in the cache), and the fresh token
/// lives an hour, so no clock can make a second refresh due while the calls run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_at_token_expiry_make_one_token_request() {
    let server = serve(Arc::new(|_, path, _, n| match path {
        "/oauth/token" => {
            Reply::ok(&format!(r#"{{"access_token":"tok-{n}","expires_in":3600}}"#)).delay(Duration::from_millis(100))
        }
        _ => Reply::ok("{}"),
    }))
    .await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .grant(Grant::client_credentials("id", "secret"))
        .build()
        .unwrap();
    call(&t, Method::GET, "/api/v2/warm-up").await.unwrap();
    assert_eq!(server.hits("/oauth/token"), 1);
    t.token_cache().unwrap().set_token(genesys_cloud_auth::TokenInfo {
        access_token: "tok-expired".into(),
        token_type: "bearer".into(),
        expires_in: Some(Duration::ZERO),
        refresh_token: None,
    });
    let calls: Vec<_> = (0..1000)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move { call(&t, Method::GET, "/api/v2/ping").await.map(|r| r.status()) })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), 200);
    }
    assert_eq!(server.hits("/oauth/token"), 2, "one refresh for a thousand calls");
    assert_eq!(server.hits("/api/v2/ping"), 1000);
}

/// tower-http's `TraceLayer` around each call and around each attempt, as they are: the call
/// layer sees one request, the attempt layer every attempt; tower's `ConcurrencyLimitLayer`
/// at the attempt point holds attempts to one at a time on the wire.
#[tokio::test]
async fn standard_tower_layers_fit_at_both_extension_points() {
    use tower_http::trace::TraceLayer;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (arrived, peak) = (in_flight.clone(), most.clone());
    let server = serve(Arc::new(move |_, path: &str, _, n| {
        let now = arrived.fetch_add(1, Ordering::SeqCst) + 1;
        peak.fetch_max(now, Ordering::SeqCst);
        match (path, n) {
            ("/api/v2/flaky", 1 | 2) => Reply::status(503),
            _ => Reply::ok("{}").delay(Duration::from_millis(30)),
        }
    }))
    .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let (c, a, done) = (calls.clone(), attempts.clone(), in_flight.clone());
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(fast_retry())
        .with_layer(TraceLayer::new_for_http().on_request(move |_: &Request<Body>, _: &tracing::Span| {
            c.fetch_add(1, Ordering::SeqCst);
        }))
        .with_attempt_layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .with_attempt_layer(
            TraceLayer::new_for_http()
                .on_request(move |_: &Request<Body>, _: &tracing::Span| {
                    a.fetch_add(1, Ordering::SeqCst);
                })
                .on_response(move |_: &Response<Body>, _: Duration, _: &tracing::Span| {
                    done.fetch_sub(1, Ordering::SeqCst);
                }),
        )
        .build()
        .unwrap();
    let r = call(&t, Method::GET, "/api/v2/flaky").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the call layer sees one request per call");
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "the attempt layer sees every attempt");
    assert_eq!(server.hits("/api/v2/flaky"), 3);

    let parallel: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { call(&t, Method::GET, &format!("/api/v2/p{i}")).await.map(|r| r.status()) })
        })
        .collect();
    for p in parallel {
        assert_eq!(p.await.unwrap().unwrap(), 200);
    }
    assert_eq!(most.load(Ordering::SeqCst), 1, "the concurrency limit held attempts to one at a time");
    assert_eq!(calls.load(Ordering::SeqCst), 5);
}

/// An attempt layer reads what the stack knows of the call from its one context: the
/// operation, the deadline the call timeout set, and which attempt it is.
#[tokio::test]
async fn an_attempt_layer_reads_the_call_from_its_context() {
    let server = serve(Arc::new(|_, _, _, n| if n < 3 { Reply::status(503) } else { Reply::ok("{}") })).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(fast_retry())
        .timeouts(Timeouts::default().call(Duration::from_secs(30)))
        .with_attempt_layer(tower::util::MapRequestLayer::new(move |req: Request<Body>| {
            let c = genesys_cloud_transport::CallContext::of(&req).expect("every attempt has a context");
            let left = c.deadline.map(|d| d.at.saturating_duration_since(tokio::time::Instant::now()));
            log.lock().unwrap().push((c.operation.map(|m| m.operation_id), c.attempt, left, req.extensions().len()));
            req
        }))
        .build()
        .unwrap();
    assert_eq!(call(&t, Method::GET, "/api/v2/ctx").await.unwrap().status(), 200);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.iter().map(|s| s.1).collect::<Vec<_>>(), [1, 2, 3], "{seen:?}");
    for (operation, _, left, entries) in seen.iter() {
        assert_eq!(*operation, Some("raw"), "a raw call's operation");
        assert!(left.is_some_and(|l| l > Duration::from_secs(25) && l <= Duration::from_secs(30)), "{left:?}");
        assert_eq!(*entries, 1, "the context is the one entry");
    }
}

/// A call layer that is not ready holds the call until it is: a concurrency limit of one
/// around each call lets the calls through one at a time, and every one completes.
#[tokio::test]
async fn a_call_layer_that_is_not_ready_holds_the_call() {
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n2, m2) = (now.clone(), most.clone());
    let server = serve(Arc::new(move |_, _, _, _| {
        let inside = n2.fetch_add(1, Ordering::SeqCst) + 1;
        m2.fetch_max(inside, Ordering::SeqCst);
        Reply::ok("{}").delay(Duration::from_millis(20))
    }))
    .await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .with_layer(tower::util::MapResponseLayer::new({
            let now = now.clone();
            move |r: Response<Body>| {
                now.fetch_sub(1, Ordering::SeqCst);
                r
            }
        }))
        .with_layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .build()
        .unwrap();
    let calls: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { call(&t, Method::GET, &format!("/api/v2/one/{i}")).await.map(|r| r.status()) })
        })
        .collect();
    for c in calls {
        assert_eq!(c.await.unwrap().unwrap(), 200);
    }
    assert_eq!(most.load(Ordering::SeqCst), 1, "one call at a time went through the limit");
}

/// A layer's own error reaches the caller as the SDK's error: tower's timeout as a timeout.
#[tokio::test]
async fn a_layers_own_error_becomes_the_sdks() {
    let server = serve(Arc::new(|_, _, _, _| Reply::ok("{}").delay(Duration::from_secs(2)))).await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(Retry::disabled())
        .with_layer(tower::timeout::TimeoutLayer::new(Duration::from_millis(50)))
        .build()
        .unwrap();
    let e = call(&t, Method::GET, "/api/v2/slow").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

/// A response body of two frames, the second of which may fail (a body a user layer made).
struct TwoFrames {
    sent: u8,
    fail: bool,
}

impl genesys_cloud_transport::http_body::Body for TwoFrames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<genesys_cloud_transport::http_body::Frame<Bytes>, std::io::Error>>> {
        use genesys_cloud_transport::http_body::Frame;
        self.sent += 1;
        std::task::Poll::Ready(match self.sent {
            1 => Some(Ok(Frame::data(Bytes::from_static(b"{\"a\":")))),
            2 if self.fail => Some(Err(std::io::Error::other("the layer's stream broke"))),
            2 => Some(Ok(Frame::data(Bytes::from_static(b"1}")))),
            _ => None,
        })
    }
}

/// A layer whose response body is not the SDK's is read to the end, frame by frame, at either
/// extension point; a body that fails half-way is a transport error saying so, not a short
/// body.
#[tokio::test]
async fn a_layers_own_response_body_is_read_whole_or_fails_clearly() {
    let server = serve(Arc::new(|_, _, _, _| Reply::ok("{}"))).await;
    let frames = |fail: bool| {
        tower::util::MapResponseLayer::new(move |r: Response<Body>| r.map(|_| TwoFrames { sent: 0, fail }))
    };
    let builder = || Transport::builder().endpoint(Endpoint::custom(&server.base()).unwrap()).retry(Retry::disabled());
    for t in [builder().with_layer(frames(false)), builder().with_attempt_layer(frames(false))] {
        let r = call(&t.build().unwrap(), Method::GET, "/api/v2/frames").await.unwrap();
        assert_eq!(r.body().as_ref(), b"{\"a\":1}");
    }
    for t in [builder().with_layer(frames(true)), builder().with_attempt_layer(frames(true))] {
        let e = call(&t.build().unwrap(), Method::GET, "/api/v2/frames").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport, "{e}");
        assert!(e.to_string().contains("the response body broke off"), "{e}");
        assert!(e.to_string().contains("the layer's stream broke"), "{e}");
    }
}

/// Replacing the HTTP service keeps every layer of the SDK around it: the double sees the
/// token, the SDK's headers and absolute URIs, and its 503 is retried.
#[tokio::test]
async fn http_service_replaces_only_the_wire() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let double = tower::service_fn(move |req: Request<Body>| {
        let mut log = log.lock().unwrap();
        log.push(format!(
            "{} {} {}",
            req.uri(),
            req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("-"),
            req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("-"),
        ));
        let mut r = Response::new(format!(r#"{{"path":"{}"}}"#, req.uri().path()));
        if log.len() == 1 {
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        }
        std::future::ready(Ok::<_, std::convert::Infallible>(r))
    });
    let t = Transport::builder()
        .endpoint(Endpoint::custom("https://api.example.test").unwrap())
        .access_token("double-token")
        .retry(fast_retry())
        .http_service(double)
        .build()
        .unwrap();
    let r = call(&t, Method::GET, "/anything").await.unwrap();
    assert_eq!(r.body().as_ref(), br#"{"path":"/anything"}"#);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "the 503 was retried: {seen:?}");
    for line in &seen {
        assert!(line.starts_with("https://api.example.test/anything Bearer double-token genesys-cloud-rs/"), "{line}");
    }
}

#[tokio::test]
async fn gzip_responses_are_requested_and_decoded() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"compressed":true}"#).unwrap();
    let packed = gz.finish().unwrap();
    // The scripted server only sends text, so answer by hand on a raw socket.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(Mutex::new(String::new()));
    let seen = asked.clone();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = tokio::io::AsyncReadExt::read(&mut s, &mut buf).await.unwrap();
        *seen.lock().unwrap() = String::from_utf8_lossy(&buf[..n]).to_lowercase();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
            packed.len()
        );
        tokio::io::AsyncWriteExt::write_all(&mut s, head.as_bytes()).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut s, &packed).await.unwrap();
    });
    let t = Transport::builder().endpoint(Endpoint::custom(&format!("http://{addr}")).unwrap()).build().unwrap();
    let r = call(&t, Method::GET, "/gz").await.unwrap();
    assert_eq!(r.body().as_ref(), br#"{"compressed":true}"#);
    assert!(asked.lock().unwrap().contains("accept-encoding: gzip"));
}

/// The public layers, composed by hand in the default order over the hyper client, behave as
/// the client's stack: the bearer token on the wire, a 503 retried for a GET, slow headers
/// timed out per attempt with the attempt count.
#[tokio::test]
async fn the_public_layers_compose_into_a_working_stack() {
    use genesys_cloud_auth::{StaticToken, TokenProvider};
    use genesys_cloud_transport::{
        AttemptTimeoutLayer, AuthLayer, BaseUrlLayer, CallTimeoutLayer, HeadersLayer, HyperClient, LogHandle,
        LoggingLayer, RetryLayer, SpanLayer, TlsConfig,
    };
    use tower::{Layer as _, ServiceExt as _};
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let server = serve(Arc::new(move |_, path: &str, auth: Option<&str>, n| {
        log.lock().unwrap().push(auth.unwrap_or("").to_owned());
        match (path, n) {
            ("/api/v2/flaky", 1) => Reply::status(503),
            ("/api/v2/slow", _) => Reply::ok("{}").delay(Duration::from_secs(2)),
            _ => Reply::ok(r#"{"ok":true}"#),
        }
    }))
    .await;
    let base = genesys_cloud_transport::Base::parse(&server.base()).unwrap();
    let client = HyperClient::new(Duration::from_secs(5), None, &TlsConfig::default()).unwrap();
    let provider: Arc<dyn TokenProvider> = Arc::new(StaticToken::new("layered-token"));
    let inner = LoggingLayer::new(LogHandle::new(Default::default())).layer(client);
    let inner = BaseUrlLayer::new(base).layer(inner);
    let inner = HeadersLayer::default().layer(inner);
    let inner = AuthLayer::new(provider).layer(inner);
    let inner = AttemptTimeoutLayer::new(Duration::from_millis(300)).layer(inner);
    let inner = RetryLayer::new(fast_retry().max_attempts(2)).layer(inner);
    let inner = CallTimeoutLayer::new(Duration::from_secs(5)).layer(inner);
    let stack = SpanLayer.layer(inner);

    let r = stack.clone().oneshot(request(Method::GET, "/api/v2/flaky")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(server.hits("/api/v2/flaky"), 2, "the 503 was retried");
    let auths = seen.lock().unwrap().clone();
    assert!(auths.iter().all(|a| a == "Bearer layered-token"), "{auths:?}");

    let e = stack.oneshot(request(Method::GET, "/api/v2/slow")).await.unwrap_err();
    assert!(e.is_retries_exhausted() && e.is_timeout(), "{e}");
    assert_eq!(e.attempts(), 2);
    assert_eq!(server.hits("/api/v2/slow"), 2);
}

/// Under a call timeout, a 429 whose `Retry-After` ends past the deadline returns at once
/// (with its attempt count), rather than sleeping into a timeout.
#[tokio::test]
async fn a_retry_after_past_the_deadline_returns_the_429_at_once() {
    let server = serve(Arc::new(|_, _, _, _| Reply::status(429).header("retry-after", "2".into()))).await;
    let t = transport(&server, fast_retry(), Timeouts::default().call(Duration::from_millis(500)));
    let r = call(&t, Method::GET, "/api/v2/limited").await.unwrap_err();
    // Sleeping into the deadline would have been a timeout.
    assert_eq!(r.status(), Some(StatusCode::TOO_MANY_REQUESTS), "{r}");
    assert_eq!(r.attempts(), 1);
    assert_eq!(server.hits("/api/v2/limited"), 1);
}

/// Nothing hangs: `call` must finish within ten seconds.
async fn bounded<T>(call: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), call).await.expect("the call hung")
}

/// A token provider whose token never comes.
struct NeverToken;

impl genesys_cloud_auth::TokenProvider for NeverToken {
    fn token(
        &self,
    ) -> genesys_cloud_core::BoxFuture<'_, Result<genesys_cloud_auth::Secret, genesys_cloud_core::Error>> {
        Box::pin(std::future::pending())
    }
}

/// A wait outside any attempt ends at the call's deadline with the call's timeout error and
/// its attempt count (the stage gives the wait up itself, so the error passes the retry
/// layer): waiting for a token that does not come, and waiting for the pacer's next turn.
/// The same with an attempt layer of the application's.
#[tokio::test]
async fn waits_outside_an_attempt_end_at_the_call_deadline() {
    // One request a window of a minute: the pacer holds the second call for the rest of it.
    let server = serve(Arc::new(|_, _, _, n| {
        Reply::ok("{}")
            .header("inin-ratelimit-allowed", "1".into())
            .header("inin-ratelimit-count", n.to_string())
            .header("inin-ratelimit-reset", "60".into())
    }))
    .await;
    let timeouts = Timeouts::default().call(Duration::from_millis(300));
    let builder = || {
        Transport::builder()
            .endpoint(Endpoint::custom(&server.base()).unwrap())
            .retry(fast_retry())
            .timeouts(timeouts.clone())
    };
    for layered in [false, true] {
        let with_layer = |b: genesys_cloud_transport::TransportBuilder| {
            if layered {
                b.with_attempt_layer(tower::limit::ConcurrencyLimitLayer::new(8))
            } else {
                b
            }
        };
        let never = with_layer(builder().token_provider(Arc::new(NeverToken))).build().unwrap();
        let e = bounded(call(&never, Method::GET, "/api/v2/no-token")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("the call took longer than 300ms"), "layered {layered}: {e}");
        assert_eq!(e.attempts(), 1, "the error went through the retry layer, which counted it");
        assert_eq!(server.hits("/api/v2/no-token"), 0, "nothing was sent without a token");

        let paced = with_layer(builder().access_token("paced-token")).build().unwrap();
        let path = if layered { "/api/v2/paced-layered" } else { "/api/v2/paced" };
        assert_eq!(bounded(call(&paced, Method::GET, path)).await.unwrap().status(), 200);
        let e = bounded(call(&paced, Method::GET, path)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("the call took longer than 300ms"), "layered {layered}: {e}");
        assert_eq!(e.attempts(), 1, "the error went through the retry layer, which counted it");
        assert_eq!(server.hits(path), 1, "the second call waited for its turn and was not sent");
    }
}

/// The bearer token stays on the client's hosts: a request through the executor with a path,
/// or an absolute URI on the API host, carries it; one for another host (a `selfUri`
/// elsewhere, a download link) goes there without it. Two servers on loopback.
#[tokio::test]
async fn the_token_goes_only_to_the_clients_hosts() {
    type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;
    let recording = |seen: Seen| -> common::Handler {
        Arc::new(move |_, path, auth, _| {
            seen.lock().unwrap().push((path.to_owned(), auth.map(str::to_owned)));
            Reply::ok("{}")
        })
    };
    let (on_api, elsewhere): (Seen, Seen) = Default::default();
    let api = serve(recording(on_api.clone())).await;
    let other = serve(recording(elsewhere.clone())).await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&api.base()).unwrap())
        .access_token("token-on-api-only")
        .build()
        .unwrap();
    let get = |uri: &str| Request::get(uri).body(Bytes::new()).unwrap();
    for uri in ["/api/v2/users/me".to_owned(), format!("{}/api/v2/users/me", api.base())] {
        let r = t.execute(get(&uri)).await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = t.execute(get(&format!("{}/downloads/file-1", other.base()))).await.unwrap();
    assert_eq!(r.status(), 200, "the other host was still called");
    let bearer = Some("Bearer token-on-api-only".to_owned());
    assert_eq!(*on_api.lock().unwrap(), vec![("/api/v2/users/me".into(), bearer.clone()); 2]);
    assert_eq!(*elsewhere.lock().unwrap(), vec![("/downloads/file-1".into(), None)], "no token to another host");
}

/// During an outage, retries draw on one budget the client's calls share: 1,000 calls
/// against a server that answers only 503 (3 attempts each allowed) make at most 100 extra
/// attempts in all (500 / 5), not 2,000. Once calls succeed again, the budget fills and
/// failures are retried again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_spends_the_shared_retry_budget_not_a_multiple_of_the_load() {
    use futures_util::StreamExt as _;
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let failing = down.clone();
    let server = serve(Arc::new(
        move |_, _, _, _| {
            if failing.load(Ordering::SeqCst) {
                Reply::status(503)
            } else {
                Reply::ok("{}")
            }
        },
    ))
    .await;
    let retry = Retry::default().max_attempts(3).backoff(Duration::from_millis(1), Duration::from_millis(2));
    let t = transport(&server, retry, Timeouts::default());
    let results: Vec<_> = futures_util::stream::iter(0..1000)
        .map(|_| call(&t, Method::GET, "/api/v2/down"))
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e.status() == Some(StatusCode::SERVICE_UNAVAILABLE))));
    let budget = t.retry_budget();
    assert_eq!(server.hits("/api/v2/down"), 1000 + 100, "100 retries in all, paid 5 each from 500");
    assert_eq!(budget.available(), 0);
    assert!(budget.refused() >= 900, "{}", budget.refused());
    // Back up: successes fill the budget (1 each), and a failure is retried again.
    down.store(false, Ordering::SeqCst);
    for _ in 0..10 {
        call(&t, Method::GET, "/api/v2/up").await.unwrap();
    }
    assert_eq!(budget.available(), 10);
    down.store(true, Ordering::SeqCst);
    let e = call(&t, Method::GET, "/api/v2/again").await.unwrap_err();
    assert_eq!(e.attempts(), 3, "two retries paid for: {e}");
    assert_eq!(budget.available(), 0);
}
