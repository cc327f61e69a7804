//! SAML2 bearer: exchange a SAML assertion from the organisation's identity provider for a
//! token. Runs on `genesys-cloud-mock`; set `GENESYS_CLOUD_CLIENT_ID`,
//! `GENESYS_CLOUD_CLIENT_SECRET`, `GENESYS_CLOUD_REGION`, `GENESYS_CLOUD_ORG_NAME` and
//! `GENESYS_CLOUD_SAML_ASSERTION` (base64) to use the real cloud.
//!
//! `cargo run -p genesys-cloud-examples --example saml2_bearer`

use genesys_cloud::auth::{ClientCredentials, Grant, Secret};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let _mock;
    let (builder, id, secret, org, assertion) =
        match (env("GENESYS_CLOUD_CLIENT_ID"), env("GENESYS_CLOUD_SAML_ASSERTION")) {
            (Some(id), Some(assertion)) => {
                let region: genesys_cloud::Region =
                    env("GENESYS_CLOUD_REGION").unwrap_or_else(|| "us_east_1".into()).parse()?;
                let secret = env("GENESYS_CLOUD_CLIENT_SECRET").ok_or("GENESYS_CLOUD_CLIENT_SECRET is not set")?;
                let org = env("GENESYS_CLOUD_ORG_NAME").ok_or("GENESYS_CLOUD_ORG_NAME is not set")?;
                (genesys_cloud_examples::builder()?.region(region), id, secret, org, assertion)
            }
            _ => {
                let mock = genesys_cloud_mock::MockServer::start().await?;
                println!("using genesys-cloud-mock at {}", mock.base_url());
                let b = genesys_cloud_examples::builder()?.base_url(&mock.base_url());
                _mock = mock;
                (
                    b,
                    "saml-client".into(),
                    "saml-secret".into(),
                    "acme".into(),
                    "PHNhbWw6QXNzZXJ0aW9uPi4uLjwvc2FtbDpBc3NlcnRpb24+".into(),
                )
            }
        };
    let grant = Grant::Saml2Bearer {
        client: ClientCredentials::new(id, secret),
        org_name: org,
        assertion: Secret::new(assertion),
    };
    println!("grant: {grant:?}"); // secrets print as <redacted>
    let client = builder.grant(grant).build()?;
    let me = client.users().get_users_me().send().await?;
    println!("signed in through SAML2 as {}", me.name.unwrap_or_default());
    Ok(())
}
