//! Bulk work against the mock with a per-token rate limit scaled for a test (50 requests per
//! 5 s, 600 a minute): an export of 20,000 conversations through the analytics details jobs
//! against the minimum time the limit allows, a pool of 4 tokens against 1, and 5,000 users
//! listed 8 pages at a time against one at a time.
//!
//! `cargo bench -p genesys-cloud-examples --bench bulk` (about a minute; figures in
//! BENCHMARKS.md).

use genesys_cloud::prelude::*;
use genesys_cloud::Client;
use genesys_cloud_examples::export;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::time::{Duration, Instant};

const ALLOWED: u32 = 50;
const WINDOW: Duration = Duration::from_secs(5);

fn client(mock: &MockServer, tokens: usize) -> Client {
    Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("bench", "bench")
        .token_pool(tokens)
        .build()
        .expect("a client")
}

/// The least time `requests` requests on one token can take under the limit: every full
/// window before the last request's.
fn minimum(requests: usize) -> Duration {
    WINDOW * ((requests.saturating_sub(1)) as u32 / ALLOWED)
}

struct Run {
    wall: Duration,
    requests: usize,
    refused: usize,
    conversations: u64,
}

async fn export(total: usize, jobs: usize, tokens: usize) -> Run {
    let options = MockOptions::default()
        .rate_limit(ALLOWED, WINDOW)
        .job_items(total / jobs)
        .job_delay(Duration::from_millis(200));
    let mock = MockServer::start_with(options).await.expect("the mock");
    let client = client(&mock, tokens);
    let start = chrono::Utc::now() - chrono::Duration::days(7);
    let intervals = export::split(start, chrono::Utc::now(), jobs);
    let started = Instant::now();
    let exported =
        export::conversations(&client, &intervals, 100, &mut std::io::sink(), |_, _| {}).await.expect("the export");
    Run {
        wall: started.elapsed(),
        requests: mock.rate_counted(),
        refused: mock.rate_limited(),
        conversations: exported.conversations,
    }
}

async fn list_users(pages_at_once: usize) -> Run {
    let options = MockOptions::default().rate_limit(ALLOWED, WINDOW).listing_total(5_000);
    let mock = MockServer::start_with(options).await.expect("the mock");
    let client = client(&mock, 1);
    let started = Instant::now();
    let users: Vec<_> = client
        .users()
        .get_users()
        .page_size(100)
        .into_paginator()
        .concurrency(pages_at_once)
        .items()
        .try_collect()
        .await
        .expect("the listing");
    Run {
        wall: started.elapsed(),
        requests: mock.rate_counted(),
        refused: mock.rate_limited(),
        conversations: users.len() as u64,
    }
}

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    runtime.block_on(async {
        println!("limit: {ALLOWED} requests per {WINDOW:?} and token (600 a minute)");

        let one = export(20_000, 1, 1).await;
        let least = minimum(one.requests);
        println!(
            "export, 1 job, 1 token: {} conversations in {:.2} s, {} requests, {} 429s; the limit's minimum {:.2} s: {:.3}x (target <= 1.10, 0 429s)",
            one.conversations,
            one.wall.as_secs_f64(),
            one.requests,
            one.refused,
            least.as_secs_f64(),
            one.wall.as_secs_f64() / least.as_secs_f64()
        );

        let single = export(20_000, 4, 1).await;
        let pooled = export(20_000, 4, 4).await;
        println!(
            "export, 4 jobs: 1 token {:.2} s ({} requests, {} 429s), 4 tokens {:.2} s ({} requests, {} 429s): {:.2}x faster (target >= 3.5)",
            single.wall.as_secs_f64(),
            single.requests,
            single.refused,
            pooled.wall.as_secs_f64(),
            pooled.requests,
            pooled.refused,
            single.wall.as_secs_f64() / pooled.wall.as_secs_f64()
        );

        let sequential = list_users(1).await;
        let concurrent = list_users(8).await;
        println!(
            "5,000 users, 100 a page: one page at a time {:.3} s, 8 at a time {:.3} s ({:.2}x), {} and {} requests, {} and {} 429s",
            sequential.wall.as_secs_f64(),
            concurrent.wall.as_secs_f64(),
            sequential.wall.as_secs_f64() / concurrent.wall.as_secs_f64(),
            sequential.requests,
            concurrent.requests,
            sequential.refused,
            concurrent.refused
        );
        assert_eq!((sequential.conversations, concurrent.conversations), (5_000, 5_000));
    });
}
