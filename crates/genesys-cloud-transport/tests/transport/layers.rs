//! Each layer alone over tower's mock service.

use genesys_cloud_auth::{Secret, TokenProvider};
use genesys_cloud_core::http::{Method, Request, Response, StatusCode};
use genesys_cloud_core::{BoxFuture, Error, ErrorKind, OperationMeta};
use genesys_cloud_transport::Body;
use genesys_cloud_transport::{AuthLayer, HeadersLayer, HttpService, Retry, RetryLayer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower::util::BoxCloneSyncService;
use tower::{Layer, ServiceExt};
use tower_test::mock;

type Handle = mock::Handle<Request<Body>, Response<Body>>;

fn mocked() -> (HttpService, Handle) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let service = service.map_err(|e| Error::new(ErrorKind::Transport, e.to_string()));
    (BoxCloneSyncService::new(service), handle)
}

fn request(method: Method) -> Request<Body> {
    crate::common::request(method, "/api/v2/x")
}

fn status(code: u16) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::from_u16(code).unwrap();
    r
}

fn fast() -> Retry {
    Retry::default().backoff(Duration::from_millis(1), Duration::from_millis(2))
}

#[tokio::test]
async fn retry_repeats_an_idempotent_call_after_503() {
    let (inner, mut handle) = mocked();
    let svc = RetryLayer::new(fast()).layer(inner);
    let call = tokio::spawn(svc.oneshot(request(Method::GET)));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(status(503));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(status(200));
    assert_eq!(call.await.unwrap().unwrap().status(), 200);
}

#[tokio::test]
async fn retry_leaves_a_post_after_503_alone() {
    let (inner, mut handle) = mocked();
    let svc = RetryLayer::new(fast()).layer(inner);
    let call = tokio::spawn(svc.oneshot(request(Method::POST)));
    let (_, reply) = handle.next_request().await.unwrap();
    reply.send_response(status(503));
    assert_eq!(call.await.unwrap().unwrap().status(), 503);
    let next = tokio::time::timeout(Duration::from_millis(50), handle.next_request()).await;
    assert!(!matches!(next, Ok(Some(_))), "no second attempt");
}

#[tokio::test]
async fn retry_gives_up_on_transport_errors_with_the_count() {
    let (inner, mut handle) = mocked();
    let svc = RetryLayer::new(fast().max_attempts(2)).layer(inner);
    let call = tokio::spawn(svc.oneshot(request(Method::GET)));
    for _ in 0..2 {
        let (_, reply) = handle.next_request().await.unwrap();
        reply.send_error(std::io::Error::other("connection reset"));
    }
    let e = call.await.unwrap().unwrap_err();
    assert!(e.is_retries_exhausted(), "{e:?}");
    assert!(e.is_transport(), "the cause's kind shows through: {e:?}");
    assert_eq!(e.attempts(), 2);
}

/// Hands out `t1`, `t2`, … ; a rejected token is replaced.
#[derive(Default)]
struct Counting(AtomicUsize);

impl TokenProvider for Counting {
    fn token(&self) -> BoxFuture<'_, Result<Secret, Error>> {
        let n = self.0.load(Ordering::SeqCst).max(1);
        self.0.store(n, Ordering::SeqCst);
        Box::pin(async move { Ok(Secret::new(format!("t{n}"))) })
    }
    fn invalidate(&self, token: &Secret) {
        if token.expose() == format!("t{}", self.0.load(Ordering::SeqCst)) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

#[tokio::test]
async fn auth_sets_the_bearer_token_and_replays_once_after_401() {
    let (inner, mut handle) = mocked();
    let svc = AuthLayer::new(Arc::new(Counting::default())).layer(inner);
    let call = tokio::spawn(svc.oneshot(request(Method::GET)));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req.headers()["authorization"], "Bearer t1");
    assert!(req.headers()["authorization"].is_sensitive());
    reply.send_response(status(401));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req.headers()["authorization"], "Bearer t2");
    reply.send_response(status(401));
    assert_eq!(call.await.unwrap().unwrap().status(), 401, "one replay only");
}

#[tokio::test]
async fn public_operations_carry_no_token() {
    static PUBLIC: OperationMeta =
        OperationMeta::new("getPublic", &[], Method::GET, "/api/v2/public", true, None, false, false, false);
    let (inner, mut handle) = mocked();
    let svc = AuthLayer::new(Arc::new(Counting::default())).layer(inner);
    let mut r = request(Method::GET);
    r.extensions_mut().insert(&PUBLIC);
    let call = tokio::spawn(svc.oneshot(r));
    let (req, reply) = handle.next_request().await.unwrap();
    assert!(req.headers().get("authorization").is_none());
    reply.send_response(status(200));
    call.await.unwrap().unwrap();
}

#[tokio::test]
async fn headers_are_added_but_never_override_the_callers() {
    let (inner, mut handle) = mocked();
    let svc = HeadersLayer::default().layer(inner);
    let mut r = request(Method::GET);
    r.headers_mut().insert("user-agent", "my-app/1.0".parse().unwrap());
    let call = tokio::spawn(svc.oneshot(r));
    let (req, reply) = handle.next_request().await.unwrap();
    assert_eq!(req.headers()["user-agent"], "my-app/1.0");
    assert!(req.headers()["purecloud-sdk"].to_str().unwrap().starts_with("rust-"));
    reply.send_response(status(200));
    call.await.unwrap().unwrap();
}

/// A server limiting each token to 3 requests per 10 s window (starting with the token's first
/// request in it), saying so in every answer as Genesys Cloud does.
fn limited_server() -> HttpService {
    let windows: Arc<std::sync::Mutex<std::collections::HashMap<String, (tokio::time::Instant, u32)>>> = Arc::default();
    BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
        let windows = windows.clone();
        async move {
            let token = req.headers().get("authorization").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            let now = tokio::time::Instant::now();
            let mut w = windows.lock().unwrap();
            let (start, count) = w.entry(token).or_insert((now, 0));
            if now >= *start + Duration::from_secs(10) {
                (*start, *count) = (now, 0);
            }
            *count += 1;
            let left = (*start + Duration::from_secs(10) - now).as_secs_f64().ceil() as u64;
            let mut r = status(if *count > 3 { 429 } else { 200 });
            let h = r.headers_mut();
            h.insert("inin-ratelimit-allowed", 3.into());
            h.insert("inin-ratelimit-count", (*count).min(3).into());
            h.insert("inin-ratelimit-reset", left.into());
            Ok::<_, Error>(r)
        }
    }))
}

fn with_token(token: &str) -> Request<Body> {
    let mut r = request(Method::GET);
    r.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// On paused time: the pacer lets each token's allowance out at once, then holds the next call
/// until the window turns, so the server never answers 429; another token is paced apart.
#[tokio::test(start_paused = true)]
async fn the_pace_layer_holds_calls_until_the_window_turns() {
    use genesys_cloud_transport::{Live, PaceLayer, Pacer, RateLimits};
    let pacer = Arc::new(Pacer::new(Live::new(RateLimits::default())));
    let svc = PaceLayer::shared(pacer.clone()).layer(limited_server());
    let started = tokio::time::Instant::now();
    let mut at = Vec::new();
    for _ in 0..7 {
        let r = svc.clone().oneshot(with_token("a")).await.unwrap();
        assert_eq!(r.status(), 200, "never past the limit");
        at.push((tokio::time::Instant::now() - started).as_secs());
    }
    assert_eq!(at, [0, 0, 0, 10, 10, 10, 20], "three a window, then a wait for the next");
    let other = svc.clone().oneshot(with_token("b")).await.unwrap();
    assert_eq!(
        (other.status(), (tokio::time::Instant::now() - started).as_secs()),
        (StatusCode::OK, 20),
        "token b waits for nothing"
    );
    let stats = pacer.stats();
    assert_eq!((stats.requests, stats.rate_limited, stats.held, stats.tokens), (8, 0, 2, 2), "{stats:?}");
    // Switched off, the same calls bounce off the limit.
    let off = Live::new(RateLimits::unpaced());
    let unpaced = PaceLayer::new(off).layer(limited_server());
    let statuses: Vec<u16> = futures_util::future::join_all((0..5).map(|_| unpaced.clone().oneshot(with_token("a"))))
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
}

/// On paused time: a first burst on a fresh token bounces off the limit when the pacer has not
/// learned it yet; seeded with the org's limit (`Pacer::seed`), the burst waits instead.
#[tokio::test(start_paused = true)]
async fn a_seeded_pacer_keeps_a_first_burst_under_the_limit() {
    use genesys_cloud_transport::{Live, PaceLayer, Pacer, RateLimits};
    // Answers take 50 ms: a burst is out before the first answer states the limit.
    let slow = || {
        let server = limited_server();
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Body>| {
            let counted = server.clone().oneshot(req);
            async move {
                let answer = counted.await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer
            }
        }))
    };
    let burst = |pacer: Arc<Pacer>| async move {
        let svc = PaceLayer::shared(pacer).layer(slow());
        let answers = futures_util::future::join_all((0..5).map(|_| svc.clone().oneshot(with_token("a")))).await;
        answers.into_iter().map(|r| r.unwrap().status().as_u16()).collect::<Vec<u16>>()
    };
    let unseeded = Arc::new(Pacer::new(Live::new(RateLimits::default())));
    let refused = burst(unseeded).await.iter().filter(|s| **s == 429).count();
    assert!(refused > 0, "unseeded, the first burst goes out at once");
    let seeded = Arc::new(Pacer::new(Live::new(RateLimits::default())));
    seeded.seed(3, Duration::from_secs(10));
    let started = tokio::time::Instant::now();
    assert_eq!(burst(seeded.clone()).await, [200; 5], "seeded, nothing is refused");
    assert_eq!((tokio::time::Instant::now() - started).as_secs(), 10, "two waited for the next window");
    assert_eq!(seeded.stats().held, 2);
}
