//! Quickstart: a client, who am I, a listing, and a typed error.
//!
//! `cargo run --example quickstart` starts `genesys-cloud-mock`, a local Genesys Cloud built
//! from the spec, in this process, so it works offline. With `GENESYS_CLOUD_CLIENT_ID`,
//! `GENESYS_CLOUD_CLIENT_SECRET` and `GENESYS_CLOUD_REGION` (e.g. `eu_west_1`) set, it calls
//! the real cloud instead. `GENESYS_CLOUD_LOG_LEVEL=trace` shows every exchange, secrets
//! redacted.

use genesys_cloud::config::ConfigHandle;
use genesys_cloud::{Client, Method};
use genesys_cloud_mock::MockServer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keeps the mock (when there is one) running while the client uses it.
    let mut _mock = None;
    let client = if std::env::var_os("GENESYS_CLOUD_CLIENT_ID").is_some() {
        // The real cloud: credentials, region and logging from the `GENESYS_CLOUD_*` variables
        // (and `~/.genesyscloudrust/config` if there is one).
        Client::from_default_config()?
    } else {
        let mock = MockServer::start().await?;
        println!("GENESYS_CLOUD_CLIENT_ID is not set: calling genesys-cloud-mock at {}", mock.base_url());
        let settings = ConfigHandle::builder().watch(false).build()?; // logging from the environment
        let client = Client::builder()
            .config(settings)
            .base_url(&mock.base_url())
            .client_credentials("example-client", "example-secret") // the mock takes any
            .build()?;
        _mock = Some(mock);
        client
    };

    // A typed call: the token is fetched on first use and refreshed as needed.
    let me = client.users().get_users_me().send_with_response().await?;
    println!(
        "Signed in as {} <{}> (status {}, correlation id {})",
        me.value.name.as_deref().unwrap_or("?"),
        me.value.email.as_deref().unwrap_or("?"),
        me.status,
        me.correlation_id().unwrap_or("-")
    );

    // A listing as a stream: pages are fetched as the loop goes.
    let mut permissions = client.authorization().get_authorization_permissions().page_size(25).into_paginator().items();
    let mut domains = Vec::new();
    while let Some(permission) = permissions.try_next().await? {
        domains.push(permission.domain.unwrap_or_default());
    }
    println!(
        "{} permissions, the first: {}",
        domains.len(),
        domains.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
    );

    // Errors are typed and carry the correlation id.
    match client.raw().request(Method::GET, "/api/v2/no-such-endpoint").send().await {
        Ok(()) => println!("unexpectedly found an endpoint"),
        Err(e) if e.is_not_found() => println!("404 as expected: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
