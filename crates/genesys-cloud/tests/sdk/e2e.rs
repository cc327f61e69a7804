//! The real client (transport, token cache, generated operation) against a loopback server.

use genesys_cloud::Client;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A minimal HTTP/1.1 server: answers the token endpoint and `/api/v2/users/me`, and
/// records the request heads it saw.
async fn server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16 * 1024];
                loop {
                    let Ok(n) = stream.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    let head = String::from_utf8_lossy(&buf[..n]).to_string();
                    log.lock().unwrap().push(head.clone());
                    let body = if head.starts_with("POST /oauth/token") {
                        r#"{"access_token":"e2e-token","token_type":"bearer","expires_in":3600}"#
                    } else if head.starts_with("GET /api/v2/users/me")
                        && head.contains("authorization: Bearer e2e-token")
                    {
                        r#"{"id":"me-1","name":"Loopback User","state":"active"}"#
                    } else {
                        r#"{"message":"unexpected"}"#
                    };
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ninin-correlation-id: e2e-corr\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if stream.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (base, seen)
}

#[tokio::test]
async fn client_credentials_then_a_typed_call() {
    let (base, seen) = server().await;
    let client = Client::builder().base_url(&base).client_credentials("e2e-id", "e2e-secret").build().unwrap();
    let me = client.users().get_users_me().send_with_response().await.unwrap();
    assert_eq!(me.value.name.as_deref(), Some("Loopback User"));
    assert_eq!(me.correlation_id(), Some("e2e-corr"));
    let seen = seen.lock().unwrap();
    assert!(seen[0].starts_with("POST /oauth/token"), "{}", seen[0]);
    assert!(seen[0].contains("grant_type=client_credentials"));
    assert!(seen[1].contains("user-agent: genesys-cloud-rs/"), "{}", seen[1]);
    assert!(format!("{client:?}").contains("127.0.0.1"));
}

/// `Client::login` and `ClientBuilder::build_and_login` fetch the token before any call and
/// return its info; the call after uses that token. A client without a grant cannot log in.
#[tokio::test]
async fn login_before_the_first_call_returns_the_token_info() {
    let (base, seen) = server().await;
    let token_requests =
        |seen: &Mutex<Vec<String>>| seen.lock().unwrap().iter().filter(|h| h.starts_with("POST /oauth/token")).count();

    let client = Client::builder().base_url(&base).client_credentials("e2e-id", "e2e-secret").build().unwrap();
    assert!(seen.lock().unwrap().is_empty(), "building the client sends nothing");
    let info = client.login().await.unwrap();
    assert_eq!(info.access_token.expose(), "e2e-token");
    assert_eq!(info.token_type, "bearer");
    assert_eq!(info.expires_in, Some(std::time::Duration::from_secs(3600)));
    assert_eq!(seen.lock().unwrap().len(), 1, "the login is the one request so far");
    assert_eq!(client.users().get_users_me().send().await.unwrap().id.as_deref(), Some("me-1"));
    assert_eq!(token_requests(&seen), 1, "the call used the login's token");

    let (client, info) =
        Client::builder().base_url(&base).client_credentials("e2e-id", "e2e-secret").build_and_login().await.unwrap();
    assert_eq!(info.access_token.expose(), "e2e-token");
    assert_eq!(token_requests(&seen), 2);
    assert_eq!(client.users().get_users_me().send().await.unwrap().name.as_deref(), Some("Loopback User"));
    assert_eq!(token_requests(&seen), 2, "the call used the token build_and_login fetched");

    let no_grant = Client::builder().base_url(&base).access_token("given").build().unwrap();
    let e = no_grant.login().await.unwrap_err();
    assert_eq!(e.kind(), genesys_cloud::ErrorKind::Auth, "{e}");
    assert_eq!(token_requests(&seen), 2, "nothing was sent");
}

#[tokio::test]
async fn authorization_code_returns_the_token_info_like_the_python_sdk() {
    let (base, seen) = server().await;
    let (client, info) = Client::builder()
        .base_url(&base)
        .authorization_code("app-id", "app-secret", "the-code", "https://app.example/cb")
        .await
        .unwrap();
    assert_eq!(info.access_token.expose(), "e2e-token");
    assert_eq!(info.expires_in, Some(std::time::Duration::from_secs(3600)));
    let me = client.users().get_users_me().send().await.unwrap();
    assert_eq!(me.id.as_deref(), Some("me-1"));
    let seen = seen.lock().unwrap();
    assert!(seen[0].contains("grant_type=authorization_code") && seen[0].contains("code=the-code"), "{}", seen[0]);
    assert_eq!(
        seen.iter().filter(|h| h.starts_with("POST /oauth/token")).count(),
        1,
        "the exchanged token is used, not fetched again"
    );
}

#[tokio::test]
async fn the_config_file_drives_the_client_and_its_log_level_changes_live() {
    let (base, _) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("config");
    let log_path = dir.path().join("sdk.log");
    let write = |level: &str| {
        std::fs::write(
            &config_path,
            format!("[general]\nhost = {base}\n[logging]\nlog_level = {level}\nlog_to_console = false\nlog_file_path = {}\n", log_path.display()),
        )
        .unwrap()
    };
    write("none");
    let env = [("GENESYS_CLOUD_CLIENT_ID", "cfg-id"), ("GENESYS_CLOUD_CLIENT_SECRET", "cfg-secret")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let handle = genesys_cloud::config::ConfigHandle::builder()
        .path(&config_path)
        .env_vars(env.into_iter().collect())
        .debounce(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    let client = Client::builder().config(handle).build().unwrap();
    client.users().get_users_me().send().await.unwrap();
    client.flush_logs();
    assert!(std::fs::read_to_string(&log_path).unwrap_or_default().is_empty(), "level none logs nothing");

    write("debug");
    let cfg = client.config().unwrap().clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60); // a hang guard
    while cfg.load().logging.level != genesys_cloud::config::LogLevel::Debug {
        assert!(std::time::Instant::now() < deadline, "the reload did not happen");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    client.users().get_users_me().send().await.unwrap();
    client.flush_logs();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("DEBUG genesys-cloud-rs GET") && log.contains("/api/v2/users/me"), "{log}");
    assert!(!log.contains("cfg-secret") && !log.contains("e2e-token"));
}

#[tokio::test]
async fn a_reloaded_host_does_not_move_a_built_client() {
    let (base, _) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, format!("[general]\nhost = {base}\n")).unwrap();
    let env = [("GENESYS_CLOUD_CLIENT_ID", "id"), ("GENESYS_CLOUD_CLIENT_SECRET", "secret")]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let handle = genesys_cloud::config::ConfigHandle::builder()
        .path(&path)
        .env_vars(env.into_iter().collect())
        .debounce(std::time::Duration::from_millis(50))
        .build()
        .unwrap();
    let client = Client::builder().config(handle.clone()).build().unwrap();
    std::fs::write(&path, "[general]\nhost = http://127.0.0.1:9\n").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60); // a hang guard
    while handle.load().base_url.as_deref() != Some("http://127.0.0.1:9") {
        assert!(std::time::Instant::now() < deadline, "the reload did not happen");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The host is a cold setting: the built client keeps its connection target.
    let me = client.users().get_users_me().send().await.unwrap();
    assert_eq!(me.id.as_deref(), Some("me-1"));
}

/// Hot settings follow the file: a retry or timeout change written to the configuration file
/// applies to the next call of the running client. A cold change (the region) is reported as
/// needing a new client and changes nothing: the retry policy of that reload is not applied.
#[tokio::test]
async fn retry_and_timeout_changes_in_the_file_apply_to_the_next_call() {
    use genesys_cloud::config::{ConfigHandle, ReloadEvent};
    use genesys_cloud_mock::{Fault, FaultKind, MockServer};
    use std::time::Duration;
    const ME: &str = "/api/v2/users/me";
    let mock = MockServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let write = |retries: u32, attempt_s: u32, region: &str| {
        let text = format!(
            "[general]\nregion = {region}\n[retry]\nretry_max = {retries}\nbackoff_base_ms = 5\nbackoff_max_ms = 20\n[timeouts]\nattempt = {attempt_s}\n"
        );
        std::fs::write(&path, text).unwrap();
    };
    write(1, 30, "us_east_1");
    let handle = ConfigHandle::builder().path(&path).env_vars(Default::default()).watch(false).build().unwrap();
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let _listening = handle.on_change(move |e| seen.lock().unwrap().push(e.clone()));
    // The code's base URL wins over the file's region.
    let client = Client::builder()
        .config(handle.clone())
        .base_url(&mock.base_url())
        .client_credentials("live-client", "live-secret")
        .build()
        .unwrap();

    mock.inject(Fault::status(503).on_path(ME).on_method("GET"));
    let e = client.users().get_users_me().send().await.unwrap_err();
    assert_eq!((e.status().map(|s| s.as_u16()), e.attempts()), (Some(503), 1), "retry_max = 1: no retry");

    write(3, 1, "us_east_1");
    handle.reload().unwrap();
    assert!(matches!(events.lock().unwrap().last(), Some(ReloadEvent::Reloaded(_))));
    mock.inject(Fault::status(503).on_path(ME).on_method("GET"));
    let before = mock.hits(ME);
    client.users().get_users_me().send().await.unwrap();
    assert_eq!(mock.hits(ME) - before, 2, "retry_max = 3 from the reload: the 503 was retried");

    // The attempt timeout of the reload (1 s) cuts a 3 s answer short, three times.
    mock.inject(Fault::new(FaultKind::Latency(Duration::from_secs(3))).on_path(ME).times(3));
    let e = client.users().get_users_me().send().await.unwrap_err();
    assert!(e.is_timeout() && e.is_retries_exhausted(), "{e}");
    assert_eq!(e.attempts(), 3);
    mock.clear_faults();

    // A cold change: reported, and nothing of that reload applies (retry_max stays 3).
    write(1, 30, "eu_west_1");
    handle.reload().unwrap();
    match events.lock().unwrap().last() {
        Some(ReloadEvent::NeedsNewClient { changed, .. }) => assert_eq!(changed, &["region"]),
        other => panic!("expected NeedsNewClient, got {other:?}"),
    }
    mock.inject(Fault::status(503).on_path(ME).on_method("GET"));
    let before = mock.hits(ME);
    client.users().get_users_me().send().await.unwrap();
    assert_eq!(mock.hits(ME) - before, 2, "the running client kept its settings");
}
