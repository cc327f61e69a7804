//! Runs every example at trace level with both bodies logged, to the console and to a file,
//! and checks that no secret the examples use or receive appears in what they print or log:
//! client secrets, access and refresh tokens (the mock issues `mock-access-…` and
//! `mock-refresh-…`), the SAML assertion, the PKCE verifier and the proxy password.
//!
//! The example binaries are built by `cargo test` before the tests run (or by
//! `cargo build -p genesys-cloud-examples -p genesys-cloud-quickstart --examples`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EXAMPLES: &[&str] = &[
    "quickstart",
    "models",
    "operations",
    "custom_layer",
    "config_reload",
    "saml2_bearer",
    "authorization_code",
    "pkce",
    "regions",
    "pagination",
    "retry_429",
    "logging",
    "proxy",
    "notifications",
];

/// What the examples use against the mock, and the prefixes of what the mock issues.
const SECRETS: &[&str] = &[
    "example-secret",
    "saml-secret",
    "web-secret",
    "proxy-example-secret",
    "proxy-pass",
    "PHNhbWw6QXNzZXJ0aW9uPi4uLjwvc2FtbDpBc3NlcnRpb24+",
    "mock-access-",
    "mock-refresh-",
    // Basic credentials as sent: base64("example-client:example-secret"), and the proxy's
    // base64("agent:proxy-pass").
    "ZXhhbXBsZS1jbGllbnQ6ZXhhbXBsZS1zZWNyZXQ=",
    "YWdlbnQ6cHJveHktcGFzcw==",
];

/// The PKCE verifier is random: 64 characters of the RFC 7636 alphabet. No run of 64 such
/// characters may appear (the challenge is 43, ids are shorter).
fn longest_verifier_like_run(text: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

fn example_path(name: &str) -> PathBuf {
    // target/<profile>/deps/secrets-… → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile.join("examples").join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// A started example: its process and where its output goes.
struct Running {
    name: &'static str,
    child: std::process::Child,
    out: tempfile::NamedTempFile,
    err: tempfile::NamedTempFile,
    log_file: PathBuf,
}

fn start(name: &'static str, log_file: &std::path::Path, format: &str) -> Running {
    let path = example_path(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace --all-features` (it builds the examples) or \
         `cargo build -p genesys-cloud-examples -p genesys-cloud-quickstart --examples` first",
        path.display()
    );
    let mut cmd = Command::new(&path);
    for (key, _) in std::env::vars() {
        if key.starts_with("GENESYS_CLOUD_") {
            cmd.env_remove(key);
        }
    }
    let out = tempfile::NamedTempFile::new().unwrap();
    let err = tempfile::NamedTempFile::new().unwrap();
    let child = cmd
        .env("GENESYS_CLOUD_LOG_LEVEL", "trace")
        .env("GENESYS_CLOUD_LOG_FORMAT", format)
        .env("GENESYS_CLOUD_LOG_REQUEST_BODY", "true")
        .env("GENESYS_CLOUD_LOG_RESPONSE_BODY", "true")
        .env("GENESYS_CLOUD_LOG_TO_CONSOLE", "true")
        .env("GENESYS_CLOUD_LOG_FILE", log_file)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(out.reopen().unwrap())
        .stderr(err.reopen().unwrap())
        .spawn()
        .unwrap();
    Running { name, child, out, err, log_file: log_file.to_owned() }
}

/// Waits for the example (a hang guard of 300 s, not a speed bound: the examples run at once)
/// and returns everything it printed and logged.
fn finish(mut running: Running) -> String {
    let name = running.name;
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = running.child.kill();
            panic!("{name} did not finish in 300 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(running.out.path()).unwrap();
    let stderr = std::fs::read_to_string(running.err.path()).unwrap();
    assert!(status.success(), "{name} failed:\n{stdout}\n{stderr}");
    let log = std::fs::read_to_string(&running.log_file).unwrap_or_default();
    format!("{stdout}\n{stderr}\n{log}")
}

#[test]
fn no_example_prints_or_logs_a_secret_at_trace_level_with_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (mut logged_exchanges, mut logged_bodies) = (0, 0);
    // The examples are independent (each its own mock, files and ports): they run at once.
    let started: Vec<(Running, &str)> = EXAMPLES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let format = if i % 2 == 0 { "json" } else { "text" };
            (start(name, &dir.path().join(format!("{name}.log")), format), format)
        })
        .collect();
    for (running, format) in started {
        let (name, log_file) = (running.name, running.log_file.clone());
        let everything = finish(running);
        for secret in SECRETS {
            assert!(!everything.contains(secret), "{name} ({format} logs) shows {secret:?}:\n{everything}");
        }
        let run_len = longest_verifier_like_run(&everything);
        assert!(run_len < 64, "{name} shows a {run_len}-character run like a PKCE verifier:\n{everything}");
        let log = std::fs::read_to_string(&log_file).unwrap_or_default();
        if log.contains("/oauth/token") {
            logged_exchanges += 1;
        }
        if log.contains("mock-user-me") {
            logged_bodies += 1;
        }
    }
    // The check has teeth: the environment's trace logging reached the examples, and their
    // logs hold the token exchanges (with bodies) that would leak if redaction failed.
    assert!(logged_exchanges >= 6, "only {logged_exchanges} examples logged a token request");
    assert!(logged_bodies >= 6, "only {logged_bodies} examples logged the users/me response body");
}

#[test]
fn the_verifier_check_sees_a_verifier() {
    let verifier = "a".repeat(30) + &"Z9-._~".repeat(6);
    assert_eq!(verifier.len(), 66);
    assert!(longest_verifier_like_run(&format!("code_verifier={verifier}&x")) >= 64);
    assert!(longest_verifier_like_run("challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM") < 64);
}

/// `analytics_export` against the mock with its rate limits on: every conversation is in the
/// NDJSON file, and the last line says how many, in how long, with how many requests and 429s.
#[test]
fn analytics_export_writes_every_conversation_and_ends_with_its_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.ndjson");
    let mut cmd = Command::new(example_path("analytics_export"));
    for (key, _) in std::env::vars() {
        if key.starts_with("GENESYS_CLOUD_") {
            cmd.env_remove(key);
        }
    }
    let output = cmd.arg("--out").arg(&file).arg("--jobs").arg("2").stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    let words: Vec<&str> = last.split(' ').collect();
    // exported N conversations in S s, R requests, K 429s
    assert_eq!(
        (words[0], words[2], words[3], words[5], words[7], words[9]),
        ("exported", "conversations", "in", "s,", "requests,", "429s"),
        "{last}"
    );
    assert_eq!(words[1], "10000", "2 jobs of the mock's 5,000: {last}");
    assert!(words[4].parse::<f64>().is_ok() && words[6].parse::<u32>().unwrap() > 2, "{last}");
    assert_eq!(words[8], "0", "paced: no 429: {last}");
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 10_000);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["conversationId"].as_str().is_some_and(|id| id.contains("conversation")), "{first}");
}
