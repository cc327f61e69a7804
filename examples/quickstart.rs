//! Quickstart: client credentials, who am I, and the permissions of the organisation.
//!
//! `cargo run --example quickstart` runs against `genesys-cloud-mock`, a local Genesys Cloud
//! built from the spec, so it works offline. With `GENESYS_CLOUD_CLIENT_ID`, `GENESYS_CLOUD_CLIENT_SECRET` and
//! `GENESYS_CLOUD_REGION` (e.g. `eu_west_1`) set, it calls the real cloud instead.

use futures_util::TryStreamExt as _;
use genesys_cloud::prelude::*;
use genesys_cloud::{Client, Region};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let id = std::env::var("GENESYS_CLOUD_CLIENT_ID").ok().filter(|v| !v.is_empty());
    // Kept alive for the whole run when used.
    let mut _mock = None;
    let client = match id {
        Some(id) => {
            let secret = std::env::var("GENESYS_CLOUD_CLIENT_SECRET")?;
            let region: Region =
                std::env::var("GENESYS_CLOUD_REGION").unwrap_or_else(|_| "us_east_1".into()).parse()?;
            println!("Calling Genesys Cloud in {region} ({})", region.api_host());
            Client::builder().region(region).client_credentials(id, secret).build()?
        }
        None => {
            let mock = genesys_cloud_mock::MockServer::start().await?;
            println!(
                "GENESYS_CLOUD_CLIENT_ID is not set: calling genesys-cloud-mock at {} ({} operations)",
                mock.base_url(),
                mock.operation_count()
            );
            let client = Client::builder()
                .base_url(&mock.base_url())?
                .client_credentials("local-client", "local-secret")
                .build()?;
            _mock = Some(mock);
            client
        }
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
    match client.raw().request(genesys_cloud::core::http::Method::GET, "/api/v2/no-such-endpoint").send().await {
        Ok(()) => println!("unexpectedly found an endpoint"),
        Err(e) if e.is_not_found() => println!("404 as expected: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
