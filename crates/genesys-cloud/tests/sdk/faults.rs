//! Fault injection: the real client (transport, retry, token cache, generated operations)
//! against `genesys-cloud-mock` over loopback sockets, with the mock misbehaving the ways a
//! real service and network do. Each test checks what the user gets: the typed error kind and
//! attempts, that nothing hangs (every call is bounded by a timeout), and that the next call
//! works.

use genesys_cloud::config::{ConfigHandle, LogLevel, ReloadEvent};
use genesys_cloud::transport::{Retry, Timeouts};
use genesys_cloud::{Client, ErrorKind};
use genesys_cloud_mock::{Fault, FaultKind, MockOptions, MockServer};
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

const ME: &str = "/api/v2/users/me";

/// Retries with short backoff steps, so failures that are retried do not slow the suite.
fn quick_retry() -> Retry {
    Retry::default()
        .backoff(Duration::from_millis(5), Duration::from_millis(50))
        .max_retry_after(Duration::from_secs(5))
}

/// Whether this copy of the suite runs with user layers (`faults_layered` in `main.rs`).
fn layered() -> bool {
    module_path!().ends_with("faults_layered")
}

/// A builder with the layers of this copy of the suite: none, or tower-http's `TraceLayer`
/// around each call and tower's `ConcurrencyLimitLayer` around each attempt, as they are.
fn builder() -> genesys_cloud::ClientBuilder {
    let builder = Client::builder();
    if layered() {
        builder
            .with_layer(tower_http::trace::TraceLayer::new_for_http())
            .with_attempt_layer(tower::limit::ConcurrencyLimitLayer::new(1024))
    } else {
        builder
    }
}

fn client_with(base: &str, retry: Retry, timeouts: Timeouts) -> Client {
    builder()
        .base_url(base)
        .client_credentials("fault-client", "fault-secret")
        .retry(retry)
        .timeouts(timeouts)
        .build()
        .unwrap()
}

fn client(mock: &MockServer) -> Client {
    client_with(&mock.base_url(), quick_retry(), Timeouts::default().attempt(Duration::from_secs(5)))
}

/// Nothing hangs: every call in this suite must finish within `limit`.
async fn bounded<T>(limit: Duration, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut).await.expect("the call hung")
}

async fn me_works(client: &Client) {
    let me = bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.expect("the next call works");
    assert!(me.id.is_some());
}

fn new_user(name: &str) -> genesys_cloud::models::CreateUser {
    genesys_cloud::models::CreateUser::default().with(|u| {
        u.name = Some(name.into());
        u.email = Some(format!("{name}@example.com"));
        u.division_id = Some("home".into());
    })
}

#[tokio::test]
async fn rate_limit_burst_with_retry_after_seconds_is_waited_out() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    mock.inject(Fault::rate_limited("1").on_path(ME).times(2));
    let started = Instant::now();
    let me = bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap();
    let waited = started.elapsed();
    assert!(me.id.is_some());
    assert_eq!(mock.hits(ME), 1 + 3, "two 429s, then the answer");
    // A lower bound only: a loaded machine can make a wait longer, never shorter.
    assert!(waited >= Duration::from_millis(1900), "Retry-After: 1 twice, yet waited {waited:?}");
}

#[tokio::test]
async fn rate_limit_with_an_http_date_is_waited_out() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    mock.inject(Fault::rate_limited(at).on_path(ME));
    let started = Instant::now();
    bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap();
    let waited = started.elapsed();
    // A date has whole seconds: two seconds ahead is a wait of more than one.
    assert!(waited >= Duration::from_millis(900), "waited {waited:?}");
    assert_eq!(mock.hits(ME), 3);
}

#[tokio::test]
async fn retry_after_past_the_cap_returns_at_once_with_the_wait() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    mock.inject(Fault::rate_limited("600").on_path(ME));
    // Waiting 600 s (or the 180 s cap) would trip the hang guard; the answer is the 429 itself.
    let err = bounded(Duration::from_secs(60), client.users().get_users_me().send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(600)));
    assert_eq!(err.attempts(), 1);
    assert!(err.correlation_id().is_some());
    assert_eq!(err.api_error().and_then(|b| b.code.as_deref()), Some("injected.fault"));
    me_works(&client).await;
}

#[tokio::test]
async fn service_unavailable_is_retried_for_get_but_not_for_post() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    mock.inject(Fault::status(503).on_path(ME).on_method("GET"));
    let me = bounded(Duration::from_secs(10), client.users().get_users_me().send_with_response()).await.unwrap();
    assert_eq!(mock.hits(ME), 2, "GET: the 503, then the answer");
    assert_eq!(me.attempts(), 2, "the response says it took two attempts");
    let again = bounded(Duration::from_secs(10), client.users().get_users_me().send_with_response()).await.unwrap();
    assert_eq!(again.attempts(), 1);

    mock.inject(Fault::status(503).on_path("/api/v2/users").on_method("POST"));
    let err = bounded(Duration::from_secs(10), client.users().post_users(new_user("ann")).send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.attempts(), 1, "a POST is not replayed after a 503");
    assert_eq!(mock.hits("/api/v2/users"), 1);
    let created = bounded(Duration::from_secs(10), client.users().post_users(new_user("ann")).send()).await.unwrap();
    assert_eq!(created.name.as_deref(), Some("ann"));
}

#[tokio::test]
async fn per_call_retry_and_timeout_options_apply_over_the_wire() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    let hits = mock.hits(ME);
    mock.inject(Fault::status(503).on_path(ME).on_method("GET"));
    let err = bounded(Duration::from_secs(10), client.users().get_users_me().without_retry().send()).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    assert_eq!(err.attempts(), 1, "without_retry: the 503 is not retried");
    assert_eq!(mock.hits(ME), hits + 1);

    mock.inject(Fault::new(FaultKind::Latency(Duration::from_secs(3))).on_path(ME));
    let call = client.users().get_users_me().with_timeout(Duration::from_millis(300)).send();
    let err = bounded(Duration::from_secs(10), call).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // The call's own limit fired, not the client's 5 s attempt limit (which says so otherwise).
    assert!(err.to_string().contains("the call took longer than 300ms"), "{err}");
    mock.clear_faults();
    me_works(&client).await;
}

#[tokio::test]
async fn a_connection_reset_mid_body_is_retried_for_get_and_reported_for_post() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    mock.inject(Fault::new(FaultKind::ResetMidBody).on_path(ME));
    bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap();
    assert_eq!(mock.hits(ME), 2);

    mock.inject(Fault::new(FaultKind::ResetMidBody).on_path("/api/v2/users").on_method("POST"));
    let err = bounded(Duration::from_secs(10), client.users().post_users(new_user("bob")).send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(err.attempts(), 1);

    let no_retry = client_with(&mock.base_url(), Retry::disabled(), Timeouts::default());
    mock.inject(Fault::new(FaultKind::ResetMidBody).on_path(ME));
    let err = bounded(Duration::from_secs(10), no_retry.users().get_users_me().send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    me_works(&no_retry).await;
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_while_idle_is_replaced() {
    let mock = MockServer::start_with(MockOptions::default().idle_timeout(Duration::from_millis(150))).await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    me_works(&client).await;
    assert_eq!(mock.connections(), 1, "back-to-back calls share one kept-alive connection");
    tokio::time::sleep(Duration::from_millis(400)).await;
    me_works(&client).await;
    assert_eq!(mock.connections(), 2, "the server closed the idle connection; the client opened another");
    // Calls that land right when the server gives up on the connection.
    for i in 0..12u64 {
        tokio::time::sleep(Duration::from_millis(135 + i * 3)).await;
        me_works(&client).await;
    }
}

#[tokio::test]
async fn slow_headers_hit_the_attempt_timeout_then_the_next_call_works() {
    let mock = MockServer::start().await.unwrap();
    let client = client_with(
        &mock.base_url(),
        quick_retry().max_attempts(2),
        Timeouts::default().attempt(Duration::from_millis(200)).call(Duration::from_secs(5)),
    );
    me_works(&client).await;
    mock.inject(Fault::new(FaultKind::Latency(Duration::from_secs(3))).on_path(ME).times(2));
    // Two 200 ms attempts, each cut short: the 3 s answers never arrive.
    let err = bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap_err();
    assert!(err.is_retries_exhausted() && err.is_timeout(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.attempts(), 2);
    me_works(&client).await;

    // The whole-call limit holds even when each attempt would wait longer.
    let strict = client_with(
        &mock.base_url(),
        quick_retry(),
        Timeouts::default().attempt(Duration::from_secs(30)).call(Duration::from_millis(300)),
    );
    mock.inject(Fault::new(FaultKind::Latency(Duration::from_secs(3))).on_path(ME));
    let err = bounded(Duration::from_secs(10), strict.users().get_users_me().send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("the call took longer than 300ms"), "the call limit, not the attempt's: {err}");
    mock.clear_faults();
    me_works(&strict).await;
}

#[tokio::test]
async fn truncated_and_malformed_json_are_decode_errors_with_the_evidence() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    for (fault, fragment) in
        [(FaultKind::TruncatedJson, r#"{"id": "truncated", "name": "#), (FaultKind::MalformedJson, r#""x",, "name""#)]
    {
        mock.inject(Fault::new(fault).on_path(ME));
        let err = bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(200));
        assert!(err.correlation_id().is_some_and(|c| !c.is_empty()));
        assert!(err.body_excerpt().is_some_and(|b| b.contains(fragment)), "{:?}", err.body_excerpt());
        assert_eq!(err.attempts(), 1, "a body that does not decode is not retried");
        me_works(&client).await;
    }
}

#[tokio::test]
async fn the_token_endpoint_failing_during_a_refresh_is_an_auth_error_then_recovers() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    let before = mock.token_requests();
    mock.expire_tokens();
    mock.inject(Fault::status(500).on_path("/oauth/token").times(1000));
    let err = bounded(Duration::from_secs(15), client.users().get_users_me().send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Auth, "{err}");
    assert!(!err.to_string().contains("fault-secret"));
    assert!(mock.token_requests() == before, "the failed token calls are faults, not answered grants");
    mock.clear_faults();
    me_works(&client).await;
    assert_eq!(mock.token_requests(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_storm_of_500_concurrent_calls_makes_one_token_request() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    me_works(&client).await;
    assert_eq!(mock.token_requests(), 1);
    mock.expire_tokens();
    let calls = (0..500).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.users().get_users_me().send().await })
    });
    let results = bounded(Duration::from_secs(60), futures_util::future::join_all(calls)).await;
    let failed: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r.expect("no call panicked") {
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(failed.is_empty(), "{} of 500 failed, first: {:?}", failed.len(), failed.first());
    assert_eq!(mock.token_requests(), 2, "every rejected call waited for the same new token");
    me_works(&client).await;
}

#[tokio::test]
async fn a_config_file_corrupted_mid_run_keeps_the_last_good_snapshot() {
    let mock = MockServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let good = format!("[general]\nhost = {}\n\n[logging]\nlog_level = error\n", mock.base_url());
    std::fs::write(&path, &good).unwrap();
    let handle = ConfigHandle::builder().path(&path).watch(true).debounce(Duration::from_millis(50)).build().unwrap();
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let _listening = handle.on_change(move |e| {
        let _ = tx.send(e.clone());
    });
    let client = builder()
        .config(handle.clone())
        .client_credentials("fault-client", "fault-secret")
        .retry(quick_retry())
        .build()
        .unwrap();
    me_works(&client).await;

    std::fs::write(&path, "[logging\nlog_level = ???\n").unwrap();
    let event = bounded(Duration::from_secs(10), events.recv()).await.unwrap();
    let ReloadEvent::Rejected(error) = event else { panic!("expected a rejection, got {event:?}") };
    assert!(error.to_string().contains("config"), "{error}");
    assert_eq!(handle.load().logging.level, LogLevel::Error, "the last good snapshot stays");
    me_works(&client).await;

    std::fs::write(&path, good.replace("log_level = error", "log_level = debug")).unwrap();
    let event = bounded(Duration::from_secs(10), events.recv()).await.unwrap();
    assert!(matches!(event, ReloadEvent::Reloaded(_)), "{event:?}");
    assert_eq!(handle.load().logging.level, LogLevel::Debug);
    me_works(&client).await;
}

#[tokio::test]
async fn dns_and_connect_failures_are_connect_errors_after_bounded_retries() {
    // `.invalid` never resolves (RFC 6761). With a token in hand, the API call itself fails
    // to connect; connecting is retried (nothing was sent), within the attempt budget.
    let unresolvable = builder()
        .base_url("http://api.genesys-mock.invalid")
        .access_token("a-token-from-elsewhere")
        .retry(quick_retry().max_attempts(3))
        .build()
        .unwrap();
    let err = bounded(Duration::from_secs(60), unresolvable.users().get_users_me().send()).await.unwrap_err();
    assert!(err.is_retries_exhausted() && err.is_connect(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Connect);
    assert_eq!(err.attempts(), 3);

    // With client credentials the token request is what cannot connect: an Auth error whose
    // cause is the connect failure.
    let no_token = client_with("http://api.genesys-mock.invalid", quick_retry().max_attempts(2), Timeouts::default());
    let err = bounded(Duration::from_secs(30), no_token.users().get_users_me().send()).await.unwrap_err();
    assert!(err.is_auth() && err.is_connect(), "{err:?}");

    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused = builder()
        .base_url(&format!("http://{closed}"))
        .access_token("a-token-from-elsewhere")
        .retry(Retry::disabled())
        .build()
        .unwrap();
    let err = bounded(Duration::from_secs(10), refused.users().get_users_me().send()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Connect, "{err}");
    assert_eq!(err.attempts(), 1);
    assert!(err.to_string().contains("could not connect"), "{err}");

    // The same process keeps working against a live server.
    let mock = MockServer::start().await.unwrap();
    me_works(&client(&mock)).await;
}

#[tokio::test]
async fn a_wait_that_would_pass_the_call_deadline_returns_the_answer_at_once() {
    let mock = MockServer::start().await.unwrap();
    let client = client_with(&mock.base_url(), quick_retry(), Timeouts::default().call(Duration::from_secs(1)));
    me_works(&client).await;
    // Within the retry cap (5 s), but past the 1 s call limit.
    mock.inject(Fault::rate_limited("3").on_path(ME));
    // Sleeping into the deadline would end as a Timeout; the answer is the 429, at once.
    let err = bounded(Duration::from_secs(10), client.users().get_users_me().send()).await.unwrap_err();
    assert!(err.is_rate_limited() && !err.is_timeout(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.attempts(), 1);
    me_works(&client).await;
}

/// A response past the client's maximum response size is a typed error, sent once (not
/// retried); a smaller one still decodes on the same client.
#[tokio::test]
async fn a_response_past_the_maximum_size_is_a_typed_error_not_retried() {
    let mock = MockServer::start_with(MockOptions::default().listing_total(500)).await.unwrap();
    let client = builder()
        .base_url(&mock.base_url())
        .client_credentials("fault-client", "fault-secret")
        .retry(quick_retry())
        .max_response_size(4 * 1024)
        .build()
        .unwrap();
    let e = bounded(Duration::from_secs(10), client.users().get_users().page_size(100).send()).await.unwrap_err();
    assert!(e.is_too_large(), "{e}");
    assert_eq!(e.kind(), genesys_cloud::ErrorKind::TooLarge);
    assert!(e.to_string().contains("4096 bytes"), "{e}");
    assert_eq!(e.attempts(), 1, "not retried: {e}");
    assert_eq!(mock.hits("/api/v2/users"), 1);
    me_works(&client).await;
}
