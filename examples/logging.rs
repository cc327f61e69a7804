//! HTTP logging: trace level, JSON lines to a file, both bodies on; secrets stay redacted.
//! Runs on `genesys-cloud-mock`.
//!
//! `cargo run --example logging`

use genesys_cloud::prelude::*;
use genesys_cloud::transport::{LogFormat, LogLevel, LogSettings};
use genesys_cloud::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let file = std::env::temp_dir().join(format!("genesys-logging-demo-{}.log", std::process::id()));
    let client = Client::builder()
        .base_url(&mock.base_url())?
        .client_credentials("log-demo", "super-secret-value")
        .logging(
            LogSettings::default()
                .level(LogLevel::Trace)
                .format(LogFormat::Json)
                .bodies(true, true)
                .to_console(false)
                .file(&file),
        )
        .build()?;
    client.users().get_users_me().send().await?;
    let log = std::fs::read_to_string(&file)?;
    for line in log.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)?;
        println!(
            "{} {} {} -> {} | authorization: {} | request body: {}",
            entry["operation"],
            entry["method"],
            entry["url"],
            entry["status"],
            entry["requestHeaders"]["authorization"],
            entry["requestBody"]
        );
    }
    println!("the secret appears in the log: {}", log.contains("super-secret-value"));
    let _ = std::fs::remove_file(&file);
    Ok(())
}
