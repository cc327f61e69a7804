//! What the client reports through the `metrics` facade crate (feature `metrics`), recorded by
//! metrics-util's debugging recorder over a client and the mock on one thread: token requests,
//! 429s, retries and the retries the budget refused, the pacer's waits, and the budget left per
//! token and for the client, as the mock's headers said.
#![cfg(feature = "metrics")]

use genesys_cloud::transport::Retry;
use genesys_cloud::{metrics as names, Client};
use genesys_cloud_mock::{Fault, MockOptions, MockServer};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::time::Duration;

/// Every metric recorded: its name, its labels and its value.
type Recorded = Vec<(String, Vec<(String, String)>, DebugValue)>;

fn sum(recorded: &Recorded, name: &str) -> u64 {
    recorded
        .iter()
        .filter(|(n, _, _)| n == name)
        .map(|(_, _, v)| if let DebugValue::Counter(c) = v { *c } else { 0 })
        .sum()
}

fn gauge(recorded: &Recorded, name: &str, scope: &str) -> Vec<f64> {
    recorded
        .iter()
        .filter(|(n, labels, _)| n == name && labels.iter().any(|(k, v)| k == "scope" && v == scope))
        .filter_map(|(_, _, v)| if let DebugValue::Gauge(g) = v { Some(g.into_inner()) } else { None })
        .collect()
}

#[test]
fn the_client_reports_token_requests_429s_retries_waits_and_budgets_left() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            // 5 requests a second per token, said in every answer.
            let mock =
                MockServer::start_with(MockOptions::default().rate_limit(5, Duration::from_secs(1))).await.unwrap();
            let client = Client::builder()
                .base_url(&mock.base_url())
                .client_credentials("metrics-client", "metrics-secret")
                .retry(Retry::default().max_attempts(3).backoff(Duration::from_millis(1), Duration::from_millis(2)))
                .build()
                .unwrap();
            // Two 429s with `Retry-After: 0`, then the call goes through.
            mock.inject(Fault::rate_limited("0").on_path("/api/v2/users/me").times(2));
            client.users().get_users_me().send().await.unwrap();
            // Twelve more: past the 5 a second, the pacer holds calls for the next window.
            for _ in 0..12 {
                client.users().get_users_me().send().await.unwrap();
            }
            // An outage (on a mock without a rate limit): every attempt 503, 3 attempts a call,
            // until the client's retry budget refuses retries.
            let down = MockServer::start().await.unwrap();
            down.inject(Fault::status(503).on_path("/api/v2/routing/queues").times(10_000));
            let client = Client::builder()
                .base_url(&down.base_url())
                .client_credentials("metrics-client", "metrics-secret")
                .retry(Retry::default().max_attempts(3).backoff(Duration::from_millis(1), Duration::from_millis(2)))
                .build()
                .unwrap();
            for _ in 0..120 {
                assert!(client.routing().get_routing_queues().send().await.is_err());
            }
        });
    });
    let recorded: Recorded = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels = key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            (key.name().to_owned(), labels, value)
        })
        .collect();
    let ok_tokens: u64 = recorded
        .iter()
        .filter(|(n, l, _)| n == names::TOKEN_REQUESTS && l.contains(&("outcome".into(), "ok".into())))
        .map(|(_, _, v)| if let DebugValue::Counter(c) = v { *c } else { 0 })
        .sum();
    assert_eq!(ok_tokens, 2, "one token request for each client");
    assert_eq!(sum(&recorded, names::RATE_LIMITED), 2, "the two 429s");
    // Two retries of the 429s, and the outage's: the budget (500, 5 a retry) pays 100.
    assert_eq!(sum(&recorded, names::RETRIES), 2 + 100);
    assert_eq!(sum(&recorded, names::RETRIES_REFUSED), 120 - 50, "a call's first retry refused once it is spent");
    assert!(sum(&recorded, names::PACE_WAITS) >= 1, "the pacer held calls past 5 a second");
    let token = gauge(&recorded, names::RATE_REMAINING, "token");
    let client = gauge(&recorded, names::RATE_REMAINING, "client");
    assert_eq!(token.len(), 1, "one token, one gauge");
    assert!(token[0] <= 5.0, "{token:?}");
    assert_eq!(client, token, "the client's budget left is its one token's");
    assert!(recorded.iter().filter(|(n, _, _)| n == names::RATE_REMAINING).all(|(_, labels, _)| {
        labels.iter().all(|(_, v)| !v.contains("mock-token") && !v.contains("metrics-secret"))
    }));
}
