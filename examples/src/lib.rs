//! Runnable examples of genesys-cloud-rs; see the `[[example]]` targets in `Cargo.toml`.
//!
//! Examples run against `genesys-cloud-mock` (a local Genesys Cloud built from the spec)
//! unless credentials for the real cloud are set; see [`connect`].

use genesys_cloud::config::ConfigHandle;
use genesys_cloud::{Client, ClientBuilder, Region};
use genesys_cloud_mock::MockServer;

/// `Client::builder()` with the settings of the `GENESYS_CLOUD_*` environment variables (no
/// file): for instance `GENESYS_CLOUD_LOG_LEVEL=trace GENESYS_CLOUD_LOG_REQUEST_BODY=true
/// GENESYS_CLOUD_LOG_RESPONSE_BODY=true` shows every exchange, secrets redacted.
pub fn builder() -> Result<ClientBuilder, Box<dyn std::error::Error>> {
    let settings = ConfigHandle::builder().watch(false).build()?;
    Ok(Client::builder().config(settings))
}

/// Where an example's calls go: the real cloud when `GENESYS_CLOUD_CLIENT_ID`,
/// `GENESYS_CLOUD_CLIENT_SECRET` (and optionally `GENESYS_CLOUD_REGION`) are set, otherwise a
/// freshly started mock. Keep the returned mock alive while the client is used.
pub async fn connect() -> Result<(ClientBuilder, Option<MockServer>), Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("GENESYS_CLOUD_CLIENT_ID"), var("GENESYS_CLOUD_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => {
            let region: Region = var("GENESYS_CLOUD_REGION").unwrap_or_else(|| "us_east_1".into()).parse()?;
            println!("calling Genesys Cloud in {region} ({})", region.api_host());
            Ok((builder()?.region(region).client_credentials(id, secret), None))
        }
        _ => {
            let mock = MockServer::start().await?;
            println!(
                "GENESYS_CLOUD_CLIENT_ID is not set: calling genesys-cloud-mock at {} ({} operations)",
                mock.base_url(),
                mock.operation_count()
            );
            let builder = builder()?.base_url(&mock.base_url()).client_credentials("example-client", "example-secret");
            Ok((builder, Some(mock)))
        }
    }
}
