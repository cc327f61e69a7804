//! PKCE for public clients (no secret): a verifier from the OS's CSPRNG, its S256 challenge in
//! the authorize URL, and the verifier in the token exchange. Runs on `genesys-cloud-mock`,
//! which checks the verifier against the challenge.
//!
//! `cargo run --example pkce`

use genesys_cloud::auth::{pkce, Grant, Secret};
use genesys_cloud::prelude::*;
use genesys_cloud::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
    let client = Client::builder().base_url(&mock.base_url())?.grant(grant).build()?;
    let me = client.users().get_users_me().send().await?;
    println!("signed in with PKCE as {}", me.name.unwrap_or_default());
    Ok(())
}
