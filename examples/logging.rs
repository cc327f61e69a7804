//! HTTP logging: trace level, JSON lines to a file, both bodies on; secrets stay redacted.
//! Runs on `genesys-cloud-mock`, or the real cloud when credentials are set.
//!
//! `cargo run -p genesys-cloud-examples --example logging`

use genesys_cloud::transport::{LogFormat, LogLevel, LogSettings};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, _mock) = genesys_cloud_examples::connect().await?;
    let file = std::env::temp_dir().join(format!("genesys-logging-demo-{}.log", std::process::id()));
    let secret = std::env::var("GENESYS_CLOUD_CLIENT_SECRET").unwrap_or_else(|_| "example-secret".into());
    let client = builder
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
    // Log lines are written off the request path; wait for them before reading the file.
    client.flush_logs();
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
    println!("the client secret appears in the log: {}", log.contains(&secret));
    let _ = std::fs::remove_file(&file);
    Ok(())
}
