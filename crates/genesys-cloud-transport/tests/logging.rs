//! HTTP logging: levels, formats, files, bodies, live changes, and no secret anywhere.

mod common;
use common::{serve, Reply};

use genesys_cloud_auth::{CacheOptions, ClientCredentials, Grant, Secret};
use genesys_cloud_core::http::Method;
use genesys_cloud_core::{execute, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, LogFormat, LogHandle, LogLevel, LogSettings, RetryConfig, Transport};
use std::sync::Arc;

const SECRETS: &[&str] = &["SECRET-CLIENT-pw", "SECRET-ASSERTION-xyz", "SECRET-ACCESS-TOKEN-abc", "SECRET-REFRESH-def"];

async fn setup(settings: LogSettings) -> (Transport, LogHandle, std::path::PathBuf, tempfile::TempDir) {
    let server = serve(Arc::new(|_, path, _, _| match path {
        "/oauth/token" => Reply::ok(
            r#"{"access_token":"SECRET-ACCESS-TOKEN-abc","expires_in":3600,"refresh_token":"SECRET-REFRESH-def"}"#,
        ),
        "/api/v2/missing" => Reply::status(404),
        _ => Reply::ok(r#"{"name":"visible-response-body"}"#),
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sdk.log");
    let handle = LogHandle::new(settings.file(&file).to_console(false));
    let grant = Grant::Saml2Bearer {
        client: ClientCredentials::new("client-id", "SECRET-CLIENT-pw"),
        org_name: "acme".into(),
        assertion: Secret::new("SECRET-ASSERTION-xyz"),
    };
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .grant(grant, CacheOptions::default())
        .retry(RetryConfig::disabled())
        .log_handle(handle.clone())
        .build()
        .unwrap();
    // The server task runs until the test ends.
    drop(server);
    (t, handle, file, dir)
}

async fn call(t: &Transport, method: Method, path: &str, body: Option<&str>) {
    let mut parts = RequestParts::new(OperationMeta::raw(&method).unwrap(), path.to_owned());
    if let Some(b) = body {
        parts.json_body(&serde_json::from_str::<serde_json::Value>(b).unwrap()).unwrap();
    }
    let _ = execute(t, parts).await;
}

fn read(file: &std::path::Path) -> String {
    std::fs::read_to_string(file).unwrap_or_default()
}

#[tokio::test]
async fn trace_with_bodies_logs_everything_but_secrets() {
    let (t, _, file, _dir) =
        setup(LogSettings::default().level(LogLevel::Trace).format(LogFormat::Json).bodies(true, true)).await;
    call(&t, Method::POST, "/api/v2/things", Some(r#"{"visible":"request-body"}"#)).await;
    let log = read(&file);
    let lines: Vec<serde_json::Value> =
        log.lines().map(|l| serde_json::from_str(l).expect("one JSON object per line")).collect();
    assert_eq!(lines.len(), 2, "the token request and the call:\n{log}");
    let token = &lines[0];
    assert_eq!(token["operation"], "oauthToken");
    assert_eq!(token["requestBody"], "[REDACTED]");
    assert_eq!(token["responseBody"], "[REDACTED]");
    assert_eq!(token["requestHeaders"]["authorization"], "[REDACTED]");
    let api = &lines[1];
    assert_eq!(api["method"], "POST");
    assert_eq!(api["status"], 200);
    assert_eq!(api["correlationId"], "corr-ok");
    assert_eq!(api["requestHeaders"]["authorization"], "[REDACTED]");
    assert!(api["requestBody"].as_str().unwrap().contains("request-body"));
    assert!(api["responseBody"].as_str().unwrap().contains("visible-response-body"));
    assert!(api["responseHeaders"].is_object());
    for secret in SECRETS {
        assert!(!log.contains(secret), "{secret} leaked into the log:\n{log}");
    }
}

#[tokio::test]
async fn bodies_are_off_by_default_and_debug_has_no_headers() {
    let (t, _, file, _dir) = setup(LogSettings::default().level(LogLevel::Debug)).await;
    call(&t, Method::POST, "/api/v2/things", Some(r#"{"visible":"request-body"}"#)).await;
    let log = read(&file);
    assert!(log.contains("DEBUG genesys-cloud-rs POST"), "{log}");
    assert!(log.contains("correlation id: corr-ok"), "{log}");
    assert!(!log.contains("request-body") && !log.contains("visible-response-body"), "{log}");
    assert!(!log.contains("request headers"), "{log}");
}

#[tokio::test]
async fn error_level_logs_only_failures_and_levels_change_live() {
    let (t, handle, file, _dir) = setup(LogSettings::default().level(LogLevel::Error)).await;
    call(&t, Method::GET, "/api/v2/fine", None).await;
    assert_eq!(read(&file), "", "successes are not logged at error level");
    call(&t, Method::GET, "/api/v2/missing", None).await;
    let log = read(&file);
    assert!(log.contains("ERROR genesys-cloud-rs GET") && log.contains("404"), "{log}");
    handle.set(LogSettings::default().level(LogLevel::None).file(&file).to_console(false));
    call(&t, Method::GET, "/api/v2/missing", None).await;
    assert_eq!(read(&file), log, "nothing after the level went to none");
    handle.set(LogSettings::default().level(LogLevel::Debug).file(&file).to_console(false));
    call(&t, Method::GET, "/api/v2/fine", None).await;
    assert!(read(&file).contains("DEBUG"), "the new level applies to the next request");
}

#[tokio::test]
async fn each_attempt_is_logged_with_its_number() {
    let server = serve(Arc::new(|_, _, _, n| if n == 1 { Reply::status(503) } else { Reply::ok("{}") })).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("attempts.log");
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(RetryConfig::default().backoff(std::time::Duration::from_millis(1), std::time::Duration::from_millis(2)))
        .logging(LogSettings::default().level(LogLevel::Debug).format(LogFormat::Json).file(&file).to_console(false))
        .build()
        .unwrap();
    call(&t, Method::GET, "/api/v2/flaky", None).await;
    let lines: Vec<serde_json::Value> = read(&file).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["attempt"].as_u64(), lines[0]["status"].as_u64()), (Some(1), Some(503)));
    assert_eq!((lines[1]["attempt"].as_u64(), lines[1]["status"].as_u64()), (Some(2), Some(200)));
}

/// A `tracing` subscriber that records span names and events with the span they happened in.
#[derive(Default)]
struct Recorder {
    next: std::sync::atomic::AtomicU64,
    spans: std::sync::Mutex<Vec<(u64, &'static str, String)>>,
    stack: std::sync::Mutex<Vec<u64>>,
    /// (message, operation field, name of the innermost entered span)
    events: std::sync::Mutex<Vec<(String, String, Option<&'static str>)>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    operation: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "operation" => self.operation = format!("{value:?}"),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            "operation" => self.operation = value.to_owned(),
            _ => {}
        }
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.spans.lock().unwrap().push((id, attrs.metadata().name(), fields.operation));
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let inner = self.stack.lock().unwrap().last().copied();
        let name = inner.and_then(|id| self.spans.lock().unwrap().iter().find(|s| s.0 == id).map(|s| s.1));
        self.events.lock().unwrap().push((fields.message, fields.operation, name));
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.stack.lock().unwrap().push(span.into_u64());
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.stack.lock().unwrap().pop();
    }
}

#[tokio::test]
async fn with_a_subscriber_each_call_is_a_span_holding_its_attempts_and_the_token_request() {
    let recorder = Arc::new(Recorder::default());
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let (t, _, _, _dir) = setup(LogSettings::default()).await;
    call(&t, Method::GET, "/api/v2/things", None).await;
    let spans = recorder.spans.lock().unwrap().clone();
    assert_eq!(spans.iter().filter(|s| s.1 == "genesys_cloud.call").count(), 1, "{spans:?}");
    let events = recorder.events.lock().unwrap().clone();
    let attempts: Vec<_> = events.iter().filter(|e| e.0 == "http attempt").collect();
    assert_eq!(attempts.len(), 2, "the token request and the call: {events:?}");
    assert!(attempts.iter().all(|e| e.2 == Some("genesys_cloud.call")), "inside the call's span: {events:?}");
    assert!(attempts.iter().any(|e| e.1 == genesys_cloud_auth::TOKEN_OPERATION.operation_id), "{events:?}");
}
