//! Regions, custom base URLs and gateways: where a client sends its calls.
//!
//! `cargo run -p genesys-cloud-examples --example regions` lists the regions and builds clients for each kind of
//! endpoint (building does no I/O). With `GENESYS_CLOUD_CLIENT_ID`, `GENESYS_CLOUD_CLIENT_SECRET`
//! and `GENESYS_CLOUD_REGION` set it also calls `users/me` in that region.

use genesys_cloud::transport::Endpoint;
use genesys_cloud::{Client, Region};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for region in Region::ALL {
        println!("{:<16} https://{:<30} https://{}", region.key(), region.api_host(), region.login_host());
    }
    let region: Region = "eu-west-1".parse()?;
    let _client = Client::builder().region(region).client_credentials("id", "secret").build()?;
    println!("\na client for {region} ({})", region.api_host());
    let custom = Endpoint::custom("https://api.example.internal")?;
    println!("custom base: api {:?}, login {:?}", custom.api.host(), custom.login.host());
    let gateway = Endpoint::gateway("https", "gateway.corp.example", Some(9443), "/login", "/api")?;
    println!("gateway: {}", gateway.api.join("/api/v2/users/me")?);
    let _client = Client::builder().endpoint(gateway).client_credentials("id", "secret").build()?;

    if let (Ok(id), Ok(secret), Ok(region)) = (
        std::env::var("GENESYS_CLOUD_CLIENT_ID"),
        std::env::var("GENESYS_CLOUD_CLIENT_SECRET"),
        std::env::var("GENESYS_CLOUD_REGION"),
    ) {
        let client = Client::builder().region(region.parse()?).client_credentials(id, secret).build()?;
        let me = client.users().get_users_me().send().await?;
        println!("\nin {region}: hello {}", me.name.unwrap_or_default());
    }
    Ok(())
}
