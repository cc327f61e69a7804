//! Authorization code and refresh: the user signs in at the authorize URL, the app exchanges
//! the code for a token (getting the refresh token and lifetime back, as the Python SDK's
//! `get_code_authorization_token` does), and the client refreshes with the refresh token
//! when the token expires. Runs on `genesys-cloud-mock`; with `GENESYS_CLOUD_CLIENT_ID`,
//! `GENESYS_CLOUD_CLIENT_SECRET`, `GENESYS_CLOUD_REGION`, `GENESYS_CLOUD_REDIRECT_URI` set it
//! prints the real authorize URL, and with `GENESYS_CLOUD_AUTH_CODE` (the code from the
//! redirect) it exchanges it with the real cloud.
//!
//! `cargo run -p genesys-cloud-examples --example authorization_code`

use genesys_cloud::auth::pkce;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(secret), Some(redirect)) =
        (var("GENESYS_CLOUD_CLIENT_ID"), var("GENESYS_CLOUD_CLIENT_SECRET"), var("GENESYS_CLOUD_REDIRECT_URI"))
    {
        let region: genesys_cloud::Region =
            var("GENESYS_CLOUD_REGION").unwrap_or_else(|| "us_east_1".into()).parse()?;
        let login = format!("https://{}", region.login_host());
        let Some(code) = var("GENESYS_CLOUD_AUTH_CODE") else {
            println!("open {}", pkce::authorize_url(&login, &id, &redirect, Some("csrf-123"), None));
            println!("then run again with GENESYS_CLOUD_AUTH_CODE set to the code from the redirect");
            return Ok(());
        };
        let (client, info) =
            genesys_cloud_examples::builder()?.region(region).authorization_code(id, secret, code, redirect).await?;
        println!("token expires in {:?}; refresh token: {}", info.expires_in, info.refresh_token.is_some());
        println!("hello {}", client.users().get_users_me().send().await?.name.unwrap_or_default());
        return Ok(());
    }
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let redirect = "http://localhost:8080/callback";
    // Step 1: send the user here (the mock's login signs them in at once).
    let url = pkce::authorize_url(&mock.base_url(), "web-app", redirect, Some("csrf-123"), None);
    println!("1. the user opens {url}");
    // Step 2: the redirect brings a code (with the real cloud, read it from the callback).
    let code = mock.authorization_code(None);
    println!("2. the redirect carries code={code}");
    // Step 3: exchange it; the client refreshes with the refresh token from now on.
    let (client, info) = genesys_cloud_examples::builder()?
        .base_url(&mock.base_url())
        .authorization_code("web-app", "web-secret", code, redirect)
        .await?;
    println!(
        "3. token: {:?}, expires in {:?}, refresh token: {}",
        info.access_token,
        info.expires_in,
        info.refresh_token.is_some()
    );
    let me = client.users().get_users_me().send().await?;
    println!("   hello {}", me.name.unwrap_or_default());
    // Step 4: the token dies; the next call gets a 401, refreshes with the refresh token and replays.
    let before = mock.token_requests();
    mock.expire_tokens();
    let me = client.users().get_users_me().send().await?;
    println!(
        "4. after expiry: hello {} ({} refresh request)",
        me.name.unwrap_or_default(),
        mock.token_requests() - before
    );
    Ok(())
}
