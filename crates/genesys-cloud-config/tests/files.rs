//! Configuration files on disk: both formats, type errors, precedence, live reload.

use genesys_cloud_config::*;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FULL_INI: &str = "\
[logging]
log_level = trace
log_format = json
log_to_console = false
log_file_path = /var/log/genesys.log
log_response_body = true
log_request_body = yes

[general]
host = https://api.mypurecloud.ie
live_reload_config = false

[reauthentication]
refresh_access_token = off
refresh_token_wait_max = 25

[gateway]
host = gw.corp.example
protocol = http
port = 8443
path_params_login = login/
path_params_api = api

[retry]
retry_max = 6
retry_wait_max = 90
retry_after_max = 30

[timeouts]
connect = 3
attempt = 20
call = 120

[rate_limits]
pacing = off
token_pool = 4

[proxy]
host = proxy.corp.example
port = 3128
username = agent
password = pr0xy-pass
no_proxy = localhost,127.0.0.1
";

const FULL_JSON: &str = r#"{
  "logging": {"log_level": "trace", "log_format": "json", "log_to_console": false, "log_file_path": "/var/log/genesys.log",
              "log_response_body": true, "log_request_body": true},
  "general": {"host": "https://api.mypurecloud.ie", "live_reload_config": false},
  "reauthentication": {"refresh_access_token": false, "refresh_token_wait_max": 25},
  "gateway": {"host": "gw.corp.example", "protocol": "http", "port": 8443, "path_params_login": "login/", "path_params_api": "api"},
  "retry": {"retry_max": 6, "retry_wait_max": 90, "retry_after_max": 30},
  "timeouts": {"connect": 3, "attempt": 20, "call": 120},
  "rate_limits": {"pacing": false, "token_pool": 4},
  "proxy": {"host": "proxy.corp.example", "port": 3128, "username": "agent", "password": "pr0xy-pass", "no_proxy": "localhost,127.0.0.1"}
}"#;

fn no_env() -> HashMap<String, String> {
    HashMap::new()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn build(path: &Path) -> ConfigHandle {
    ConfigHandle::builder().path(path).env_vars(no_env()).debounce(Duration::from_millis(50)).build().unwrap()
}

/// Polls until `check` holds: a hang guard (60 s), not a speed limit.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn assert_full(c: &Config) {
    assert_eq!(c.logging.level, LogLevel::Trace);
    assert_eq!(c.logging.format, LogFormat::Json);
    assert!(!c.logging.to_console);
    assert_eq!(c.logging.file.as_deref(), Some(Path::new("/var/log/genesys.log")));
    assert!(c.logging.response_body && c.logging.request_body);
    assert_eq!(c.base_url.as_deref(), Some("https://api.mypurecloud.ie"));
    assert!(!c.live_reload);
    assert!(!c.reauthentication.refresh_access_token);
    assert_eq!(c.reauthentication.refresh_token_wait_max, Duration::from_secs(25));
    let g = c.gateway.as_ref().unwrap();
    assert_eq!((g.host.as_str(), g.protocol.as_str(), g.port), ("gw.corp.example", "http", Some(8443)));
    assert_eq!((g.path_params_login.as_str(), g.path_params_api.as_str()), ("login", "api"));
    assert_eq!(c.retry.max_attempts, 6);
    assert_eq!(c.retry.max_elapsed, Duration::from_secs(90));
    assert_eq!(c.retry.max_retry_after, Duration::from_secs(30));
    assert_eq!(
        (c.timeouts.connect, c.timeouts.attempt, c.timeouts.call),
        (Duration::from_secs(3), Duration::from_secs(20), Duration::from_secs(120))
    );
    assert_eq!(c.rate_limits, RateLimits::unpaced().token_pool(4));
    let p = c.proxy.as_ref().unwrap();
    assert_eq!(p.to_url(), "http://proxy.corp.example:3128");
    assert_eq!(p.username.as_deref(), Some("agent"));
    assert_eq!(p.password.as_deref(), Some("pr0xy-pass"));
    assert_eq!(p.no_proxy.as_deref(), Some("localhost,127.0.0.1"));
    assert!(!format!("{c:?}").contains("pr0xy-pass"), "Debug shows no proxy password");
}

#[test]
fn every_key_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("ini", FULL_INI), ("json", FULL_JSON)] {
        let path = dir.path().join(name);
        write(&path, text);
        let handle = build(&path);
        assert_full(&handle.load());
        assert!(!handle.is_watching(), "live_reload_config = false in the file turns the watcher off");
    }
}

#[test]
fn defaults_without_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = build(&dir.path().join("absent")).load();
    assert_eq!(*c, Config::default());
    assert_eq!(c.logging.level, LogLevel::None);
    assert!(c.logging.to_console && c.live_reload && c.reauthentication.refresh_access_token);
    assert_eq!(c.reauthentication.refresh_token_wait_max, Duration::from_secs(10));
    assert_eq!(c.retry.max_retry_after, Duration::from_secs(180));
    assert!(c.rate_limits.pacing && c.rate_limits.token_pool == 1, "paced, one token");
}

#[test]
fn type_errors_name_file_section_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let cases: &[(&str, &str, &str, &str)] = &[
        (r#"{"logging": {"log_to_console": "false"}}"#, "logging", "log_to_console", "expected a JSON boolean"),
        (r#"{"gateway": {"port": 70000}}"#, "gateway", "port", "from 1 to 65535"),
        (r#"{"gateway": {"port": "1443"}}"#, "gateway", "port", "whole number"),
        ("[logging]\nlog_level = verbose\n", "logging", "log_level", "unknown log level"),
        ("[logging]\nlog_to_console = maybe\n", "logging", "log_to_console", "expected a boolean"),
        ("[retry]\nretry_max = 0\n", "retry", "retry_max", "at least 1"),
        ("[gateway]\nprotocol = ftp\n", "gateway", "protocol", "http or https"),
        ("[rate_limits]\ntoken_pool = 0\n", "rate_limits", "token_pool", "1 to 64 tokens"),
        ("[rate_limits]\npacing = sometimes\n", "rate_limits", "pacing", "expected a boolean"),
    ];
    for (text, section, key, message) in cases {
        write(&path, text);
        let e = ConfigHandle::builder().path(&path).env_vars(no_env()).watch(false).build().unwrap_err();
        assert_eq!(e.file.as_deref(), Some(path.as_path()), "{text}");
        assert_eq!((e.section.as_deref(), e.key.as_deref()), (Some(*section), Some(*key)), "{text}");
        assert!(e.message.contains(message), "{text}: {e}");
        assert!(e.to_string().contains(&format!("[{section}] {key}")), "{e}");
    }
    write(&path, "{ not json");
    assert!(ConfigHandle::builder()
        .path(&path)
        .env_vars(no_env())
        .build()
        .unwrap_err()
        .message
        .contains("invalid JSON"));
}

#[test]
fn a_bad_value_applies_nothing_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[logging]\nlog_level = debug\n");
    let handle = ConfigHandle::builder().path(&path).env_vars(no_env()).watch(false).build().unwrap();
    write(&path, "[logging]\nlog_level = trace\n[gateway]\nport = 99999\n");
    assert!(handle.reload().is_err());
    assert_eq!(handle.load().logging.level, LogLevel::Debug, "the valid log_level of the bad file was not applied");
}

#[test]
fn precedence_is_code_then_env_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[general]\nhost = https://from-file.example\nregion = us_east_1\n[logging]\nlog_level = debug\nlog_format = json\n");
    let env: HashMap<String, String> = [
        ("GENESYS_CLOUD_BASE_URL", "https://from-env.example"),
        ("GENESYS_CLOUD_LOG_LEVEL", "error"),
        ("GENESYS_CLOUD_CLIENT_ID", "env-id"),
        ("GENESYS_CLOUD_CLIENT_SECRET", "env-secret"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let handle = ConfigHandle::builder()
        .path(&path)
        .env_vars(env)
        .watch(false)
        .set(|c| c.logging.level = LogLevel::Trace)
        .build()
        .unwrap();
    let c = handle.load();
    assert_eq!(c.base_url.as_deref(), Some("https://from-env.example"), "env over file");
    assert_eq!(c.logging.level, LogLevel::Trace, "code over env");
    assert_eq!(c.logging.format, LogFormat::Json, "file over defaults");
    assert_eq!(c.region.as_deref(), Some("us_east_1"));
    assert_eq!(c.credentials.client_id.as_deref(), Some("env-id"));
    assert!(!format!("{c:?}").contains("env-secret"));
    let bad: HashMap<String, String> =
        [("GENESYS_CLOUD_LOG_LEVEL".to_owned(), "loud".to_owned())].into_iter().collect();
    let e = ConfigHandle::builder().path(&path).env_vars(bad).build().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("GENESYS_CLOUD_LOG_LEVEL"));
}

#[test]
fn logging_bodies_and_console_come_from_the_environment() {
    let env = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    };
    let handle = ConfigHandle::builder()
        .env_vars(env(&[
            ("GENESYS_CLOUD_LOG_REQUEST_BODY", "true"),
            ("GENESYS_CLOUD_LOG_RESPONSE_BODY", "yes"),
            ("GENESYS_CLOUD_LOG_TO_CONSOLE", "0"),
        ]))
        .build()
        .unwrap();
    let c = handle.load();
    assert!(c.logging.request_body && c.logging.response_body && !c.logging.to_console);
    let e = ConfigHandle::builder().env_vars(env(&[("GENESYS_CLOUD_LOG_RESPONSE_BODY", "maybe")])).build().unwrap_err();
    assert_eq!(e.key.as_deref(), Some("GENESYS_CLOUD_LOG_RESPONSE_BODY"));
    assert!(e.to_string().contains("maybe"), "{e}");
}

#[test]
fn reloads_on_write_and_on_rename_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[logging]\nlog_level = none\n");
    let handle = build(&path);
    assert!(handle.is_watching());
    write(&path, "[logging]\nlog_level = debug\n");
    eventually("the write to apply", || handle.load().logging.level == LogLevel::Debug);
    // An editor that writes a temporary file and renames it over the original.
    let tmp = dir.path().join(".config.swp");
    write(&tmp, "[logging]\nlog_level = trace\n");
    std::fs::rename(&tmp, &path).unwrap();
    eventually("the rename to apply", || handle.load().logging.level == LogLevel::Trace);
}

#[test]
fn an_invalid_file_keeps_the_last_good_snapshot_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[logging]\nlog_level = debug\n");
    let handle = build(&path);
    let events: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = events.clone();
    let _listening = handle.on_change(move |e| {
        log.lock().unwrap().push(match e {
            ReloadEvent::Reloaded(_) => "reloaded".into(),
            ReloadEvent::Rejected(err) => format!("rejected: {err}"),
            ReloadEvent::Removed => "removed".into(),
            _ => "other".into(),
        })
    });
    write(&path, "[logging]\nlog_level = shouting\n");
    eventually("the rejection", || events.lock().unwrap().iter().any(|e| e.starts_with("rejected")));
    assert_eq!(handle.load().logging.level, LogLevel::Debug);
    assert!(events.lock().unwrap().iter().any(|e| e.contains("[logging] log_level")));
    std::fs::remove_file(&path).unwrap();
    eventually("the removal", || events.lock().unwrap().iter().any(|e| e == "removed"));
    assert_eq!(handle.load().logging.level, LogLevel::Debug, "a removed file keeps the last configuration");
}

#[test]
fn a_file_that_appears_later_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    let handle = build(&path);
    assert_eq!(handle.load().logging.level, LogLevel::None);
    write(&path, r#"{"logging": {"log_level": "error"}}"#);
    eventually("the new file to apply", || handle.load().logging.level == LogLevel::Error);
}

#[test]
fn a_hundred_rapid_rewrites_end_on_the_last_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[retry]\nretry_max = 1\n");
    let handle = build(&path);
    for i in 1..=100 {
        write(&path, &format!("[retry]\nretry_max = {i}\n"));
    }
    eventually("the last rewrite", || handle.load().retry.max_attempts == 100);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(handle.load().retry.max_attempts, 100);
}

#[test]
fn two_handles_watch_two_files_and_the_watcher_stops_with_the_last_handle() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    write(&a, "[logging]\nlog_level = none\n");
    write(&b, "[logging]\nlog_level = none\n");
    let ha = build(&a);
    let hb = build(&b);
    write(&a, "[logging]\nlog_level = debug\n");
    eventually("a to reload", || ha.load().logging.level == LogLevel::Debug);
    assert_eq!(hb.load().logging.level, LogLevel::None);
    let seen: Arc<Mutex<usize>> = Arc::default();
    let count = seen.clone();
    let _listening = hb.on_change(move |_| *count.lock().unwrap() += 1);
    let clone = hb.clone();
    drop(hb);
    write(&b, "[logging]\nlog_level = trace\n");
    eventually("b to reload while a clone lives", || clone.load().logging.level == LogLevel::Trace);
    assert!(*seen.lock().unwrap() > 0);
    drop(clone);
    // The handle's state (watcher, listeners) is freed with the last handle: the listener, and
    // the counter it holds, are dropped (a reload in flight may hold it a moment longer), so
    // nothing can call it again.
    eventually("the last handle's state to be freed", || Arc::strong_count(&seen) == 1);
    write(&b, "[logging]\nlog_level = error\n");
    assert_eq!(Arc::strong_count(&seen), 1, "no watcher brought the listener back");
}

#[test]
fn a_dropped_guard_removes_its_listener() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[logging]\nlog_level = none\n");
    let handle = build(&path);
    let kept: Arc<Mutex<usize>> = Arc::default();
    let count = kept.clone();
    let guards: Vec<_> = (0..1000).map(|_| handle.on_change(|_| {})).collect();
    handle.on_change(move |_| *count.lock().unwrap() += 1).detach();
    assert_eq!(handle.listener_count(), 1001);
    drop(guards);
    assert_eq!(handle.listener_count(), 1, "the detached one stays");
    handle.reload().unwrap();
    assert_eq!(*kept.lock().unwrap(), 1);
}

#[test]
fn the_proxy_section_and_the_code_give_the_same_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    write(&path, "[proxy]\nhost = proxy.corp.example\nport = 3128\nusername = agent\npassword = pw\n");
    let from_file = build(&path).load().proxy.clone().unwrap();
    let in_code = Proxy::url("http://proxy.corp.example:3128").with_credentials("agent", "pw");
    assert_eq!(from_file, in_code);

    write(&path, "[proxy]\nfrom_env = true\n");
    assert_eq!(build(&path).load().proxy.clone(), Some(Proxy::from_env()));
    assert_eq!(format!("{:?}", Proxy::from_env()), "Proxy::from_env");

    // URL forms: no port, IPv6 with a port, a trailing slash, no scheme.
    assert_eq!(Proxy::url("http://proxy.example").port, None);
    let v6 = Proxy::url("http://[::1]:8080/");
    assert_eq!((v6.host.as_str(), v6.port), ("[::1]", Some(8080)));
    assert_eq!(Proxy::url("proxy.example:3128").to_url(), "http://proxy.example:3128");
}
