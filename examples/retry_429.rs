//! Retries: a 429 with `Retry-After` is waited out and retried; a wait beyond the cap comes
//! back at once as an error with `retry_after()`; a POST is not repeated after a 503.
//! Runs on `genesys-cloud-mock` with injected faults (faults cannot be ordered from the real
//! cloud; with credentials set, the same retry settings are used for one real call).
//!
//! `cargo run -p genesys-cloud-examples --example retry_429`

use genesys_cloud::transport::{LogLevel, LogSettings, Retry};
use genesys_cloud_mock::Fault;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("GENESYS_CLOUD_CLIENT_ID").is_ok_and(|v| !v.is_empty()) {
        let (builder, _) = genesys_cloud_examples::connect().await?;
        let client = builder
            .retry(Retry::default().max_retry_after(Duration::from_secs(30)))
            .logging(LogSettings::default().level(LogLevel::Debug))
            .build()?;
        println!(
            "hello {} (429s, if any, are retried as logged)",
            client.users().get_users_me().send().await?.name.unwrap_or_default()
        );
        return Ok(());
    }
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let client = genesys_cloud_examples::builder()?
        .base_url(&mock.base_url())
        .client_credentials("id", "secret")
        .retry(Retry::default().max_retry_after(Duration::from_secs(30)))
        .logging(LogSettings::default().level(LogLevel::Debug))
        .build()?;

    mock.inject(Fault::rate_limited("1").times(2).on_path("/api/v2/users/me"));
    let started = Instant::now();
    let me = client.users().get_users_me().send().await?;
    println!("two 429s (Retry-After: 1) then {} after {:?}\n", me.name.unwrap_or_default(), started.elapsed());

    mock.inject(Fault::rate_limited("600").on_path("/api/v2/users/me"));
    let e = client.users().get_users_me().send().await.unwrap_err();
    println!("Retry-After: 600 is over the 30 s cap: {e}\n  retry_after() = {:?}\n", e.retry_after());

    mock.inject(Fault::status(503).on_method("POST").on_path("/api/v2/groups"));
    let e = client.groups().post_groups(Default::default()).send().await.unwrap_err();
    println!("a POST after a 503 is not repeated: {e}");
    Ok(())
}
