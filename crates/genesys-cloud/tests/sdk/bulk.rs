//! Bulk work against the mock with its rate limits on, over real sockets: pacing, token pools.

use genesys_cloud::futures::{stream, StreamExt};
use genesys_cloud::transport::{RateLimits, Retry};
use genesys_cloud::Client;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::time::{Duration, Instant};

fn builder(mock: &MockServer) -> genesys_cloud::ClientBuilder {
    Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("mock-id", "mock-secret")
        .retry(Retry::default().max_attempts(20).backoff(Duration::from_millis(5), Duration::from_millis(50)))
}

/// `calls` calls of `users/me`, `concurrency` at a time; every one must succeed.
async fn run(client: &Client, calls: usize, concurrency: usize) {
    let results: Vec<_> = stream::iter(0..calls)
        .map(|_| {
            let client = client.clone();
            async move { client.users().get_users_me().send().await }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    for r in results {
        r.expect("every call succeeds");
    }
}

/// Paced, 35 calls at 10 a second on one token: no 429 at all, and the work takes at least
/// the three window turns the limit asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_keeps_bulk_work_under_the_limit_without_a_429() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(10, Duration::from_secs(1))).await.unwrap();
    let client = builder(&mock).build().unwrap();
    let started = Instant::now();
    run(&client, 35, 4).await;
    assert_eq!(mock.rate_limited(), 0, "the mock refused none");
    let stats = client.pace_stats();
    assert_eq!((stats.requests, stats.rate_limited), (35, 0));
    assert!(stats.held > 0, "calls were held back: {stats:?}");
    assert!(started.elapsed() >= Duration::from_secs(3), "35 calls at 10 a window need three turns");
}

/// The same work unpaced bounces off the limit (so the test above can fail), and the 429s
/// are waited out as before: every call still succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_the_same_work_gets_429s_and_waits_them_out() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(10, Duration::from_secs(1))).await.unwrap();
    let client = builder(&mock).rate_limits(RateLimits::unpaced()).build().unwrap();
    run(&client, 35, 4).await;
    assert!(mock.rate_limited() > 0, "unpaced calls went past the limit");
    assert_eq!(client.pace_stats().requests, 0, "the pacer was off");
}

/// A pool of three tokens: calls go to each in turn, each token has its own allowance, so
/// 30 calls at 10 per token and window need no wait at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_pool_spreads_calls_and_paces_each_token_on_its_own() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(10, Duration::from_secs(30))).await.unwrap();
    let client = builder(&mock).token_pool(3).build().unwrap();
    run(&client, 30, 6).await;
    assert_eq!(mock.token_requests(), 3, "one token request per token of the pool");
    assert_eq!(mock.rate_limited(), 0);
    let stats = client.pace_stats();
    assert_eq!((stats.tokens, stats.requests, stats.held), (3, 30, 0), "{stats:?}");
    // One token alone would have had to wait out the 30 s window: with one more call on each
    // token, the pacer holds them rather than letting the mock refuse them.
    let more = tokio::time::timeout(Duration::from_millis(500), client.users().get_users_me().send()).await;
    assert!(more.is_err(), "the 31st call waits for the window");
    assert_eq!(mock.rate_limited(), 0);
}

/// A 401 on one token of the pool re-mints that token only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_re_mints_only_the_token_it_hit() {
    let mock = MockServer::start().await.unwrap();
    let client = builder(&mock).token_pool(3).build().unwrap();
    run(&client, 3, 1).await;
    let tokens = mock.issued_tokens();
    assert_eq!(tokens.len(), 3);
    assert!(mock.expire_token(&tokens[1]));
    run(&client, 9, 3).await;
    assert_eq!(mock.token_requests(), 4, "the expired token was replaced, the other two kept");
    let now = mock.issued_tokens();
    assert!(now.contains(&tokens[0]) && now.contains(&tokens[2]));
}

/// The configuration file's `[rate_limits]`: the pool's size, and pacing off (each token
/// then goes past its allowance and gets refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limits_section_sets_the_pool_and_pacing() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(5, Duration::from_secs(30))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, "[rate_limits]\npacing = false\ntoken_pool = 2\n").unwrap();
    let handle = genesys_cloud::config::ConfigHandle::builder().path(&path).build().unwrap();
    let client = builder(&mock).retry(Retry::disabled()).config(handle).build().unwrap();
    let results: Vec<_> = stream::iter(0..12)
        .then(|_| {
            let client = client.clone();
            async move { client.users().get_users_me().send().await }
        })
        .collect()
        .await;
    assert_eq!(mock.token_requests(), 2);
    assert_eq!(results.iter().filter(|r| r.is_err()).count(), 2, "unpaced: 2 of 12 past 2 × 5 were refused");
    assert_eq!(client.pace_stats().requests, 0);
}

/// Eight pages at once: the same users in the same order as one page at a time, over several
/// connections; paced under the mock's limit without a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_pages_give_the_same_items_in_order() {
    use genesys_cloud::prelude::*;
    let options = MockOptions::default().listing_total(500).rate_limit(40, Duration::from_secs(1));
    let mock = MockServer::start_with(options).await.unwrap();
    let client = builder(&mock).build().unwrap();
    let ids = |users: Vec<genesys_cloud::models::User>| users.into_iter().map(|u| u.id.unwrap()).collect::<Vec<_>>();
    let one = client.users().get_users().page_size(25).into_paginator().items().try_collect().await.unwrap();
    let connections = mock.connections();
    let eight =
        client.users().get_users().page_size(25).into_paginator().concurrency(8).items().try_collect().await.unwrap();
    let (one, eight) = (ids(one), ids(eight));
    assert_eq!(one.len(), 500);
    assert_eq!(one, eight, "the same items in the same order");
    assert!(mock.connections() > connections, "pages went out side by side, over more connections");
    assert_eq!(mock.rate_limited(), 0);
}

/// A pool size in code overrides the file's, and leaves the file's pacing in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_size_in_code_keeps_the_files_pacing() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(50, Duration::from_secs(30))).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, "[rate_limits]\npacing = false\ntoken_pool = 2\n").unwrap();
    let handle = genesys_cloud::config::ConfigHandle::builder().path(&path).build().unwrap();
    let client = builder(&mock).token_pool(3).config(handle).build().unwrap();
    run(&client, 6, 1).await;
    assert_eq!(mock.token_requests(), 3, "the code's pool size");
    assert_eq!(client.pace_stats().requests, 0, "the file's pacing = false");
}

/// An API double on Tokio's time for the outage test below: 5 calls a 4 s window per token,
/// with truthful `inin-ratelimit-*` headers, and, while `down` is set, no answer at all (the
/// attempt timeout then ends each attempt, so no header comes back).
#[derive(Default)]
struct Windowed {
    down: std::sync::atomic::AtomicBool,
    window: std::sync::Mutex<Option<(tokio::time::Instant, u32)>>,
}

impl Windowed {
    const ALLOWED: u32 = 5;
    const WINDOW: Duration = Duration::from_secs(4);

    fn answer(&self) -> Option<genesys_cloud::transport::http::Response<genesys_cloud::transport::Body>> {
        let now = tokio::time::Instant::now();
        let mut window = self.window.lock().unwrap();
        let (start, count) = window.get_or_insert((now, 0));
        if now >= *start + Self::WINDOW {
            (*start, *count) = (now, 0);
        }
        *count += 1;
        let (count, left) = (*count, (*start + Self::WINDOW - now).as_secs_f64().ceil() as u64);
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let status = if count > Self::ALLOWED { 429 } else { 200 };
        let body = if status == 200 { r#"{"id":"me"}"# } else { r#"{"message":"slow down","status":429}"# };
        let mut r = genesys_cloud::transport::http::Response::new(genesys_cloud::transport::Body::from(body));
        *r.status_mut() = genesys_cloud::transport::http::StatusCode::from_u16(status).unwrap();
        let h = r.headers_mut();
        h.insert("inin-ratelimit-allowed", Self::ALLOWED.into());
        h.insert("inin-ratelimit-count", count.min(Self::ALLOWED).into());
        h.insert("inin-ratelimit-reset", left.into());
        if status == 429 {
            h.insert("retry-after", left.into());
        }
        Some(r)
    }
}

/// After an outage in which no attempt got an answer, the pacer does not hold the token
/// forever: the window it counted those attempts in ends one learned window (4 s) after its
/// first attempt, and the next call goes out then (it used to wait for an answer that no
/// attempt could go out to bring, until its own deadline).
#[tokio::test(start_paused = true)]
async fn the_pacer_lets_calls_out_again_after_an_outage_in_which_nothing_answered() {
    use genesys_cloud::transport::Timeouts;
    let api = std::sync::Arc::new(Windowed::default());
    let plays = api.clone();
    let service = tower::service_fn(move |_req| {
        let answer = plays.answer();
        async move {
            match answer {
                Some(r) => Ok::<_, std::convert::Infallible>(r),
                None => std::future::pending().await,
            }
        }
    });
    let client = Client::builder()
        .access_token("token-a")
        .http_service(service)
        .timeouts(Timeouts::default().attempt(Duration::from_secs(1)).call(Duration::from_secs(20)))
        .retry(Retry::default().max_attempts(5).backoff(Duration::from_millis(10), Duration::from_millis(50)))
        .build()
        .unwrap();
    let me = || client.raw().request(genesys_cloud::transport::http::Method::GET, "/api/v2/users/me").send();
    me().await.expect("the first call teaches the limit");
    tokio::time::sleep(Windowed::WINDOW + Duration::from_secs(1)).await;
    api.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let outage_started = tokio::time::Instant::now();
    let e = me().await.expect_err("nothing answers");
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.attempts(), 5, "{e}");
    api.down.store(false, std::sync::atomic::Ordering::SeqCst);
    me().await.expect("the call after the outage goes out once the window it counted in is over");
    let waited = tokio::time::Instant::now() - outage_started;
    assert!(waited < Duration::from_secs(20), "the call was not held to its deadline: {waited:?}");
    assert!(
        waited <= Duration::from_secs(5) + Windowed::WINDOW,
        "held no longer than the outage's attempts and one learned window: {waited:?}"
    );
}
