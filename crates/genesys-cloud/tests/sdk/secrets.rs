//! `Debug` of every configuration and auth type, and of the builders and clients holding
//! them, shows no secret.

use genesys_cloud::auth::{CacheOptions, ClientCredentials, Grant, Secret, StaticToken, TokenInfo};
use genesys_cloud::config::Proxy;
use genesys_cloud::config::{ConfigHandle, ReloadEvent};
use genesys_cloud::transport::Transport;
use genesys_cloud::Client;
use std::time::Duration;

const SECRETS: &[&str] = &[
    "client-secret-1f2e",
    "access-token-9a8b",
    "refresh-token-7c6d",
    "saml-assertion-PHNhbWw6",
    "pkce-verifier-5e4f-abcdefghijklmnopqrstuvwxyz0123456789",
    "auth-code-3a2b",
    "proxy-password-1a0b",
];

fn assert_clean(what: &str, debug: String) {
    for secret in SECRETS {
        assert!(!debug.contains(secret), "{what} shows {secret}: {debug}");
    }
}

fn grants() -> Vec<Grant> {
    let client = || ClientCredentials::new("client-id", SECRETS[0]);
    vec![
        Grant::ClientCredentials(client()),
        Grant::Saml2Bearer { client: client(), org_name: "acme".into(), assertion: Secret::new(SECRETS[3]) },
        Grant::AuthorizationCode {
            client: client(),
            code: Secret::new(SECRETS[5]),
            redirect_uri: "https://app.example/cb".into(),
        },
        Grant::Pkce {
            client_id: "spa".into(),
            code: Secret::new(SECRETS[5]),
            redirect_uri: "https://app.example/cb".into(),
            verifier: Secret::new(SECRETS[4]),
        },
        Grant::RefreshToken {
            client_id: "client-id".into(),
            client_secret: Some(Secret::new(SECRETS[0])),
            refresh_token: Secret::new(SECRETS[2]),
        },
    ]
}

#[test]
fn auth_types_hide_their_secrets() {
    for grant in grants() {
        assert_clean("a grant", format!("{grant:?} {grant:#?}"));
        let next = grant.refresh_with(Secret::new(SECRETS[2]));
        assert_clean("a refresh grant", format!("{next:?}"));
    }
    let secret = Secret::new(SECRETS[1]);
    assert_eq!(secret.expose(), SECRETS[1], "the value is still there for the request");
    assert_clean("a secret", format!("{secret:?} {secret}"));
    assert_clean("a static token", format!("{:?}", StaticToken::new(SECRETS[1])));
    let info = TokenInfo {
        access_token: Secret::new(SECRETS[1]),
        token_type: "bearer".into(),
        expires_in: Some(Duration::from_secs(60)),
        refresh_token: Some(Secret::new(SECRETS[2])),
    };
    assert_clean("token info", format!("{info:?}"));
    assert_clean("cache options", format!("{:?}", CacheOptions::default()));
}

#[tokio::test]
async fn the_token_cache_transport_builder_and_client_hide_their_secrets() {
    let mock = genesys_cloud_mock::MockServer::start().await.unwrap();
    let client = Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("client-id", SECRETS[0])
        .proxy(Proxy::url("http://proxy.example:3128").with_credentials("agent", SECRETS[6]))
        .build()
        .unwrap();
    let shown = format!("{client:?}");
    // The Debug shows what the client holds (so this check can fail): the grant's client id,
    // the proxy and its user, the token cache.
    for part in ["client-id", "proxy.example", "agent", "tokens"] {
        assert!(shown.contains(part), "a client's Debug shows {part}: {shown}");
    }
    assert_clean("a client", shown);
    // A client holding a token (and a refresh token) from the mock shows neither.
    let logged_in =
        Client::builder().base_url(&mock.base_url()).client_credentials("client-id", SECRETS[0]).build().unwrap();
    logged_in.login().await.unwrap();
    let shown = format!("{logged_in:?}");
    let token = mock.issued_tokens().pop().unwrap();
    assert!(!shown.contains(&token), "a client's Debug shows its token: {shown}");
    assert_clean("a logged-in client", shown);
    let builder = Client::builder().client_credentials("client-id", SECRETS[0]).access_token(SECRETS[1]);
    assert_clean("a client builder", format!("{builder:?}"));
    let transport = Transport::builder().grant(grants().remove(1)).build().unwrap();
    assert_clean("a transport", format!("{transport:?}"));
    if let Some(cache) = transport.token_cache() {
        cache.set_token(TokenInfo {
            access_token: Secret::new(SECRETS[1]),
            token_type: "bearer".into(),
            expires_in: Some(Duration::from_secs(600)),
            refresh_token: Some(Secret::new(SECRETS[2])),
        });
        assert_clean("a token cache", format!("{cache:?}"));
    }
    let proxy = Proxy::url("http://proxy.example:3128").with_credentials("agent", SECRETS[6]);
    assert_clean("a proxy config", format!("{proxy:?}"));
}

#[test]
fn configuration_types_hide_their_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        format!("[proxy]\nhost = proxy.example\nport = 3128\nusername = agent\npassword = {}\n", SECRETS[6]),
    )
    .unwrap();
    let env = [("GENESYS_CLOUD_CLIENT_ID", "client-id"), ("GENESYS_CLOUD_CLIENT_SECRET", SECRETS[0])]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let handle = ConfigHandle::builder().path(&path).env_vars(env).watch(false).build().unwrap();
    let config = handle.load();
    assert_eq!(config.proxy.as_ref().and_then(|p| p.password.as_deref()), Some(SECRETS[6]));
    assert_eq!(config.credentials.client_secret.as_deref(), Some(SECRETS[0]));
    assert_clean("a config", format!("{config:?} {config:#?}"));
    assert_clean("a config handle", format!("{handle:?}"));
    assert_clean("credentials", format!("{:?}", config.credentials));
    assert_clean("a proxy", format!("{:?}", config.proxy));
    assert_clean("the reload event", format!("{:?}", ReloadEvent::Reloaded(config.clone())));

    // A client built from that configuration.
    let client = Client::builder().config(handle.clone()).build().unwrap();
    assert_clean("a client from the config", format!("{client:?}"));

    // A rejected file names the problem, not the values around it.
    std::fs::write(&path, format!("[proxy]\npassword = {}\nport = not-a-port\n", SECRETS[6])).unwrap();
    let err = handle.reload().unwrap_err();
    assert_clean("a config error", format!("{err:?} {err}"));
}
