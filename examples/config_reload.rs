//! A config file drives the client, and a live edit of the file changes the log level.
//!
//! Run with `cargo run -p genesys-cloud-examples --example config_reload`. It writes a config file in a temporary
//! directory, builds a client from it, calls the API (on `genesys-cloud-mock`), rewrites
//! the file with `log_level = debug`, and calls again: the second call is logged.

use genesys_cloud::config::{ConfigHandle, LogLevel};
use genesys_cloud::Client;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The real cloud when credentials are set (the region's host), the mock otherwise.
    let mut _mock = None;
    let base = match std::env::var("GENESYS_CLOUD_CLIENT_ID").ok().filter(|v| !v.is_empty()) {
        Some(_) => {
            let region: genesys_cloud::Region =
                std::env::var("GENESYS_CLOUD_REGION").unwrap_or_else(|_| "us_east_1".into()).parse()?;
            format!("https://{}", region.api_host())
        }
        None => {
            let mock = genesys_cloud_mock::MockServer::start().await?;
            let base = mock.base_url();
            _mock = Some(mock);
            base
        }
    };
    let dir = std::env::temp_dir().join(format!("genesys-config-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("config");
    let write = |level: &str| {
        std::fs::write(&path, format!("[general]\nhost = {base}\n\n[logging]\nlog_level = {level}\nlog_format = text\nlog_to_console = true\n"))
    };
    write("none")?;

    // Credentials come from the environment as they would in production; the mock accepts any.
    let handle = ConfigHandle::builder()
        .path(&path)
        .set(|c| {
            c.credentials.client_id.get_or_insert_with(|| "demo-client".into());
            c.credentials.client_secret.get_or_insert_with(|| "demo-secret".into());
        })
        .build()?;
    println!("config file: {} (watching: {})", path.display(), handle.is_watching());
    let client = Client::builder().config(handle.clone()).build()?;

    let me = client.users().get_users_me().send().await?;
    println!("1st call (log_level = none): hello {}", me.name.unwrap_or_default());

    write("debug")?;
    let waited = std::time::Instant::now();
    while handle.load().logging.level != LogLevel::Debug && waited.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("the file changed; log level is now {:?}", handle.load().logging.level);
    let me = client.users().get_users_me().send().await?;
    println!("2nd call (log_level = debug, see the log line above): hello {}", me.name.unwrap_or_default());
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
