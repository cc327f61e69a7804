//! HTTP logging: levels, formats, files, bodies, live changes, and no secret anywhere.

use crate::common;
use common::{serve, Reply};

use genesys_cloud_auth::{ClientCredentials, Grant, Secret};
use genesys_cloud_core::http::Method;
use genesys_cloud_core::{execute, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, LogFormat, LogHandle, LogLevel, LogSettings, Retry, Transport};
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
        .grant(grant)
        .retry(Retry::disabled())
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

/// The log as written so far: lines are written by a thread of their own, so wait for it.
fn read(handle: &LogHandle, file: &std::path::Path) -> String {
    handle.flush();
    std::fs::read_to_string(file).unwrap_or_default()
}

#[tokio::test]
async fn trace_with_bodies_logs_everything_but_secrets() {
    let (t, handle, file, _dir) =
        setup(LogSettings::default().level(LogLevel::Trace).format(LogFormat::Json).bodies(true, true)).await;
    call(&t, Method::POST, "/api/v2/things", Some(r#"{"visible":"request-body"}"#)).await;
    let log = read(&handle, &file);
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
    let (t, handle, file, _dir) = setup(LogSettings::default().level(LogLevel::Debug)).await;
    call(&t, Method::POST, "/api/v2/things", Some(r#"{"visible":"request-body"}"#)).await;
    let log = read(&handle, &file);
    assert!(log.contains("DEBUG genesys-cloud-rs POST"), "{log}");
    assert!(log.contains("correlation id: corr-ok"), "{log}");
    assert!(!log.contains("request-body") && !log.contains("visible-response-body"), "{log}");
    assert!(!log.contains("request headers"), "{log}");
}

#[tokio::test]
async fn error_level_logs_only_failures_and_levels_change_live() {
    let (t, handle, file, _dir) = setup(LogSettings::default().level(LogLevel::Error)).await;
    call(&t, Method::GET, "/api/v2/fine", None).await;
    assert_eq!(read(&handle, &file), "", "successes are not logged at error level");
    call(&t, Method::GET, "/api/v2/missing", None).await;
    let log = read(&handle, &file);
    assert!(log.contains("ERROR genesys-cloud-rs GET") && log.contains("404"), "{log}");
    handle.set(LogSettings::default().level(LogLevel::None).file(&file).to_console(false));
    call(&t, Method::GET, "/api/v2/missing", None).await;
    assert_eq!(read(&handle, &file), log, "nothing after the level went to none");
    handle.set(LogSettings::default().level(LogLevel::Debug).file(&file).to_console(false));
    call(&t, Method::GET, "/api/v2/fine", None).await;
    assert!(read(&handle, &file).contains("DEBUG"), "the new level applies to the next request");
}

#[tokio::test]
async fn each_attempt_is_logged_with_its_number() {
    let server = serve(Arc::new(|_, _, _, n| if n == 1 { Reply::status(503) } else { Reply::ok("{}") })).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("attempts.log");
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(Retry::default().backoff(std::time::Duration::from_millis(1), std::time::Duration::from_millis(2)))
        .logging(LogSettings::default().level(LogLevel::Debug).format(LogFormat::Json).file(&file).to_console(false))
        .build()
        .unwrap();
    call(&t, Method::GET, "/api/v2/flaky", None).await;
    // Dropping the client writes out every queued line.
    drop(t);
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["attempt"].as_u64(), lines[0]["status"].as_u64()), (Some(1), Some(503)));
    assert_eq!((lines[1]["attempt"].as_u64(), lines[1]["status"].as_u64()), (Some(2), Some(200)));
}

/// A transport to `server` logging every attempt at trace level as JSON to `file`, with the
/// response bodies (and the request bodies when `request_bodies`), no retries.
fn traced(server: &common::Server, file: &std::path::Path, request_bodies: bool) -> (Transport, LogHandle) {
    let settings = LogSettings::default().level(LogLevel::Trace).format(LogFormat::Json);
    let handle = LogHandle::new(settings.bodies(request_bodies, true).file(file).to_console(false));
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .retry(Retry::disabled())
        .log_handle(handle.clone())
        .build()
        .unwrap();
    (t, handle)
}

/// Secret-looking fields are masked in every logged body, not only the token endpoint's: a
/// created user's password going out, a token a gateway echoes coming back. The rest of
/// each body is logged as it was.
#[tokio::test]
async fn secret_fields_are_masked_in_every_logged_body() {
    let server = serve(Arc::new(|_, _, _, _| {
        Reply::ok(r#"{"name":"visible-response-body","access_token":"SECRET-ECHOED-token","nested":{"idToken":"SECRET-ID-jwt"}}"#)
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bodies.log");
    let (t, handle) = traced(&server, &file, true);
    call(&t, Method::POST, "/api/v2/users", Some(r#"{"name":"visible-request-body","password":"SECRET-USER-pw"}"#))
        .await;
    let log = read(&handle, &file);
    assert!(log.contains("visible-request-body") && log.contains("visible-response-body"), "{log}");
    assert!(log.contains(r#"\"password\":\"[REDACTED]\""#), "{log}");
    for secret in ["SECRET-USER-pw", "SECRET-ECHOED-token", "SECRET-ID-jwt"] {
        assert!(!log.contains(secret), "{secret} leaked into the log:\n{log}");
    }
}

/// A named pipe nobody reads yet: the writer thread blocks opening it, as on a stalled disk.
fn stalled_file(dir: &std::path::Path) -> std::path::PathBuf {
    let fifo = dir.join("stalled.log");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    fifo
}

/// A log destination that stalls never blocks a request: the queue is bounded, lines past
/// it are dropped and counted, and once the destination takes lines again the writer says
/// how many were dropped, in a line of its own. Then the last handle's drop returns.
#[tokio::test]
async fn a_stalled_log_drops_lines_counts_them_and_never_blocks_a_call() {
    // 256 KiB bodies: the byte bound of the queue (64 MiB) is reached after about 256 lines.
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(256 * 1024));
    let server = serve(Arc::new(move |_, _, _, _| Reply::ok(&big))).await;
    let dir = tempfile::tempdir().unwrap();
    let fifo = stalled_file(dir.path());
    let (t, handle) = traced(&server, &fifo, false);
    for _ in 0..400 {
        call(&t, Method::GET, "/api/v2/big", None).await;
    }
    let dropped = handle.dropped_lines();
    assert!(dropped > 0, "the queue is bounded: lines were dropped");
    assert!(dropped < 400, "the queue held some: {dropped}");
    // Now the destination reads again: every queued line, then the count of the dropped.
    let reader = std::thread::spawn(move || {
        use std::io::BufRead as _;
        let pipe = std::io::BufReader::new(std::fs::File::open(&fifo).unwrap());
        let mut written = 0u64;
        for line in pipe.lines() {
            let line = line.unwrap();
            if line.contains("log lines dropped") {
                return (written, line);
            }
            written += 1;
        }
        (written, String::new())
    });
    let (written, notice) = tokio::task::spawn_blocking(move || reader.join().unwrap()).await.unwrap();
    assert!(notice.contains(&format!("{dropped} log lines dropped")), "{notice}");
    assert_eq!(written + dropped, 400, "each line was written or counted as dropped");
    drop(t);
    drop(handle);
}

/// The last handle's drop waits a bounded time for a writer that cannot finish (a file on
/// a hung disk) and returns.
#[test]
fn dropping_the_last_handle_returns_while_the_writer_is_stuck() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = stalled_file(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = runtime.block_on(serve(Arc::new(|_, _, _, _| Reply::ok("{}"))));
    let handle = LogHandle::new(
        LogSettings::default().level(LogLevel::Debug).format(LogFormat::Json).file(&fifo).to_console(false),
    );
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .log_handle(handle.clone())
        .build()
        .unwrap();
    runtime.block_on(call(&t, Method::GET, "/api/v2/one", None));
    drop(t);
    // The writer is blocked opening the pipe for good: this drop must still return.
    drop(handle);
    // Unblocks the writer so the test leaves no thread behind.
    drop(std::fs::File::open(&fifo).unwrap());
}
