//! PKCE for public clients (no secret): a verifier from the OS's CSPRNG, its S256 challenge in
//! the authorize URL, and the verifier in the token exchange. Runs on `genesys-cloud-mock`,
//! which checks the verifier against the challenge. With `GENESYS_CLOUD_CLIENT_ID`,
//! `GENESYS_CLOUD_REGION` and `GENESYS_CLOUD_REDIRECT_URI` set it prints the real authorize URL
//! and reads the code from the redirect on standard input.
//!
//! `cargo run -p genesys-cloud-examples --example pkce`

use genesys_cloud::auth::{pkce, Grant, Secret};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(id), Some(redirect)) = (var("GENESYS_CLOUD_CLIENT_ID"), var("GENESYS_CLOUD_REDIRECT_URI")) {
        let region: genesys_cloud::Region =
            var("GENESYS_CLOUD_REGION").unwrap_or_else(|| "us_east_1".into()).parse()?;
        let verifier = pkce::generate_verifier(64).map_err(|e| format!("no randomness: {e}"))?;
        let login = format!("https://{}", region.login_host());
        println!("open {}", pkce::authorize_url(&login, &id, &redirect, None, Some(&verifier)));
        println!("paste the code from the redirect:");
        let mut code = String::new();
        std::io::stdin().read_line(&mut code)?;
        let grant = Grant::Pkce { client_id: id, code: Secret::new(code.trim()), redirect_uri: redirect, verifier };
        let client = genesys_cloud_examples::builder()?.region(region).grant(grant).build()?;
        println!("hello {}", client.users().get_users_me().send().await?.name.unwrap_or_default());
        return Ok(());
    }
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let redirect = "http://localhost:8080/callback";
    let verifier = pkce::generate_verifier(64).map_err(|e| format!("no randomness: {e}"))?;
    let challenge = pkce::challenge(&verifier);
    println!("verifier: {verifier:?} (never printed), challenge: {challenge}");
    println!("authorize at: {}", pkce::authorize_url(&mock.base_url(), "spa-client", redirect, None, Some(&verifier)));
    let code = mock.authorization_code(Some(&challenge));
    let grant = Grant::Pkce {
        client_id: "spa-client".into(),
        code: Secret::new(code),
        redirect_uri: redirect.into(),
        verifier,
    };
    let client = genesys_cloud_examples::builder()?.base_url(&mock.base_url()).grant(grant).build()?;
    let me = client.users().get_users_me().send().await?;
    println!("signed in with PKCE as {}", me.name.unwrap_or_default());
    Ok(())
}
