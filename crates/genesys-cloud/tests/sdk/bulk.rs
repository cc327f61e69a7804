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
