//! Quickstart: client credentials, who am I, and the permissions of the organisation.
//!
//! `cargo run --example quickstart` runs against `genesys-cloud-mock`, a local Genesys Cloud
//! built from the spec, so it works offline. With `GENESYS_CLOUD_CLIENT_ID`, `GENESYS_CLOUD_CLIENT_SECRET` and
//! `GENESYS_CLOUD_REGION` (e.g. `eu_west_1`) set, it calls the real cloud instead.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, _mock) = genesys_cloud_examples::connect().await?;
    let client = builder.build()?;

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
