//! The OAuth grants of Genesys Cloud, each one `POST /oauth/token` on the login host.

use crate::secret::Secret;
use base64::Engine as _;
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{self, header, HeaderValue, Method};
use genesys_cloud_core::{Error, ErrorKind, Executor, OperationMeta};
use serde::Deserialize;
use std::time::Duration;

/// The path of the token endpoint on the login host (`login.mypurecloud.com`).
pub const TOKEN_PATH: &str = "/oauth/token";

/// The metadata token requests carry: not idempotent (a grant may be single-use), no bearer
/// token.
pub static TOKEN_OPERATION: OperationMeta =
    OperationMeta::new("oauthToken", &["OAuth"], Method::POST, TOKEN_PATH, false, None, false, false, false);

/// An OAuth client's id and secret.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: Secret,
}

impl ClientCredentials {
    /// Credentials from an id and a secret.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Self { client_id: client_id.into(), client_secret: client_secret.into() }
    }
}

/// A way to obtain an access token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Grant {
    /// Client credentials: the client acts as itself.
    ClientCredentials(ClientCredentials),
    /// SAML2 bearer: a SAML assertion from the organisation's identity provider.
    Saml2Bearer {
        /// The OAuth client.
        client: ClientCredentials,
        /// The organisation's short name.
        org_name: String,
        /// The base64-encoded SAML assertion.
        assertion: Secret,
    },
    /// Authorization code, after the user signed in at the authorize URL.
    AuthorizationCode {
        /// The OAuth client.
        client: ClientCredentials,
        /// The code from the redirect.
        code: Secret,
        /// The redirect URI the code was issued for.
        redirect_uri: String,
    },
    /// Authorization code with PKCE (a public client: no secret).
    Pkce {
        /// The OAuth client id.
        client_id: String,
        /// The code from the redirect.
        code: Secret,
        /// The redirect URI the code was issued for.
        redirect_uri: String,
        /// The verifier whose challenge was sent to the authorize URL.
        verifier: Secret,
    },
    /// A refresh token from an earlier authorization-code or PKCE grant.
    RefreshToken {
        /// The OAuth client id.
        client_id: String,
        /// The client secret (absent for PKCE clients).
        client_secret: Option<Secret>,
        /// The refresh token.
        refresh_token: Secret,
    },
}

impl Grant {
    /// Client credentials.
    pub fn client_credentials(client_id: impl Into<String>, client_secret: impl Into<Secret>) -> Self {
        Grant::ClientCredentials(ClientCredentials::new(client_id, client_secret))
    }

    /// The grant that refreshes after this one, given the refresh token it returned.
    pub fn refresh_with(&self, refresh_token: Secret) -> Option<Grant> {
        let (client_id, client_secret) = match self {
            Grant::AuthorizationCode { client, .. } => (client.client_id.clone(), Some(client.client_secret.clone())),
            Grant::Pkce { client_id, .. } => (client_id.clone(), None),
            Grant::RefreshToken { client_id, client_secret, .. } => (client_id.clone(), client_secret.clone()),
            Grant::ClientCredentials(_) | Grant::Saml2Bearer { .. } => return None,
        };
        Some(Grant::RefreshToken { client_id, client_secret, refresh_token })
    }

    /// The token request: `POST /oauth/token` (origin form; the executor adds the login host),
    /// a form body, and HTTP Basic client authentication where the grant has a secret.
    pub fn request(&self) -> http::Request<Bytes> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        let basic = match self {
            Grant::ClientCredentials(c) => {
                form.append_pair("grant_type", "client_credentials");
                Some(c)
            }
            Grant::Saml2Bearer { client, org_name, assertion } => {
                form.append_pair("grant_type", "urn:ietf:params:oauth:grant-type:saml2-bearer");
                form.append_pair("orgName", org_name);
                form.append_pair("assertion", assertion.expose());
                Some(client)
            }
            Grant::AuthorizationCode { client, code, redirect_uri } => {
                form.append_pair("grant_type", "authorization_code");
                form.append_pair("code", code.expose());
                form.append_pair("redirect_uri", redirect_uri);
                Some(client)
            }
            Grant::Pkce { client_id, code, redirect_uri, verifier } => {
                form.append_pair("grant_type", "authorization_code");
                form.append_pair("code", code.expose());
                form.append_pair("redirect_uri", redirect_uri);
                form.append_pair("client_id", client_id);
                form.append_pair("code_verifier", verifier.expose());
                None
            }
            Grant::RefreshToken { client_id, client_secret, refresh_token } => {
                form.append_pair("grant_type", "refresh_token");
                form.append_pair("refresh_token", refresh_token.expose());
                if client_secret.is_none() {
                    form.append_pair("client_id", client_id);
                }
                None
            }
        };
        let mut request = http::Request::new(Bytes::from(form.finish()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = http::Uri::from_static(TOKEN_PATH);
        let headers = request.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let basic_pair = match (self, basic) {
            (_, Some(c)) => Some((c.client_id.as_str(), c.client_secret.expose())),
            (Grant::RefreshToken { client_id, client_secret: Some(secret), .. }, None) => {
                Some((client_id.as_str(), secret.expose()))
            }
            _ => None,
        };
        if let Some((id, secret)) = basic_pair {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
            if let Ok(mut value) = HeaderValue::from_str(&format!("Basic {encoded}")) {
                value.set_sensitive(true);
                headers.insert(header::AUTHORIZATION, value);
            }
        }
        request.extensions_mut().insert(&TOKEN_OPERATION);
        request
    }
}

/// A token as the token endpoint returned it.
#[derive(Clone, Debug)]
pub struct TokenInfo {
    /// The access token.
    pub access_token: Secret,
    /// The token type (`bearer`).
    pub token_type: String,
    /// How long the token lives, from when it was issued.
    pub expires_in: Option<Duration>,
    /// The refresh token (authorization-code and PKCE grants).
    pub refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    description: Option<String>,
    error_description: Option<String>,
}

/// Sends the grant's token request through `executor` (which talks to the login host) and
/// reads the token. Every failure is an [`ErrorKind::Auth`] error; none carries a secret.
pub async fn request_token(executor: &dyn Executor, grant: &Grant) -> Result<TokenInfo, Error> {
    let outcome = request_token_once(executor, grant).await;
    crate::metrics::token_request(outcome.is_ok());
    outcome
}

async fn request_token_once(executor: &dyn Executor, grant: &Grant) -> Result<TokenInfo, Error> {
    let response = executor.execute(grant.request()).await.map_err(|e| {
        let kind = e.kind();
        Error::new(ErrorKind::Auth, format!("the token request failed ({kind}): {}", e.message()))
            .with_operation(TOKEN_OPERATION.operation_id)
            .with_source(e)
    })?;
    let (head, body) = response.into_parts();
    let parsed: Option<TokenResponse> = serde_json::from_slice(&body).ok();
    if !head.status.is_success() {
        let why = parsed
            .as_ref()
            .and_then(|p| p.error_description.clone().or_else(|| p.description.clone()).or_else(|| p.error.clone()))
            .unwrap_or_else(|| head.status.canonical_reason().unwrap_or("error").to_owned());
        // The body of a token error has no secret, but keep only the message anyway.
        return Err(Error::new(ErrorKind::Auth, format!("the token endpoint refused the grant: {why}"))
            .with_status(head.status)
            .with_headers(head.headers)
            .with_operation(TOKEN_OPERATION.operation_id));
    }
    match parsed {
        Some(TokenResponse { access_token: Some(token), token_type, expires_in, refresh_token, .. })
            if !token.is_empty() =>
        {
            Ok(TokenInfo {
                access_token: Secret::new(token),
                token_type: token_type.unwrap_or_else(|| "bearer".into()),
                expires_in: expires_in.map(Duration::from_secs),
                refresh_token: refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
            })
        }
        _ => Err(Error::new(ErrorKind::Auth, "the token endpoint answered without an access token")
            .with_status(head.status)
            .with_headers(head.headers)
            .with_operation(TOKEN_OPERATION.operation_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(request: &http::Request<Bytes>) -> Vec<(String, String)> {
        form_urlencoded::parse(request.body()).into_owned().collect()
    }

    #[test]
    fn client_credentials_use_basic_auth() {
        let r = Grant::client_credentials("id-1", "s3cret").request();
        assert_eq!(r.method(), Method::POST);
        assert_eq!(r.uri(), "/oauth/token");
        assert_eq!(form(&r), vec![("grant_type".to_owned(), "client_credentials".to_owned())]);
        // base64("id-1:s3cret")
        assert_eq!(r.headers()[header::AUTHORIZATION], "Basic aWQtMTpzM2NyZXQ=");
        assert!(r.headers()[header::AUTHORIZATION].is_sensitive());
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/x-www-form-urlencoded");
    }

    #[test]
    fn saml2_code_pkce_and_refresh_bodies() {
        let client = ClientCredentials::new("id", "sec");
        let r = Grant::Saml2Bearer { client: client.clone(), org_name: "acme".into(), assertion: "PHNhbWw+".into() }
            .request();
        assert_eq!(
            form(&r),
            vec![
                ("grant_type".into(), "urn:ietf:params:oauth:grant-type:saml2-bearer".into()),
                ("orgName".into(), "acme".into()),
                ("assertion".into(), "PHNhbWw+".into())
            ]
        );
        let r = Grant::AuthorizationCode {
            client: client.clone(),
            code: "c0de".into(),
            redirect_uri: "https://app/cb".into(),
        }
        .request();
        assert_eq!(form(&r)[0], ("grant_type".into(), "authorization_code".into()));
        assert_eq!(form(&r)[2], ("redirect_uri".into(), "https://app/cb".into()));
        assert!(r.headers().contains_key(header::AUTHORIZATION));
        let r = Grant::Pkce {
            client_id: "pub".into(),
            code: "c".into(),
            redirect_uri: "http://localhost/cb".into(),
            verifier: "v".repeat(43).into(),
        }
        .request();
        let f = form(&r);
        assert!(
            f.contains(&("client_id".into(), "pub".into())) && f.contains(&("code_verifier".into(), "v".repeat(43)))
        );
        assert!(!r.headers().contains_key(header::AUTHORIZATION), "a PKCE client has no secret to send");
        let refresh = Grant::AuthorizationCode { client, code: "c".into(), redirect_uri: "u".into() }
            .refresh_with("r1".into())
            .unwrap();
        let r = refresh.request();
        assert_eq!(
            form(&r),
            vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "r1".into())]
        );
        assert!(r.headers().contains_key(header::AUTHORIZATION));
        assert!(Grant::client_credentials("a", "b").refresh_with("r".into()).is_none());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let g = Grant::Saml2Bearer {
            client: ClientCredentials::new("id", "the-client-secret"),
            org_name: "o".into(),
            assertion: "the-assertion".into(),
        };
        let shown = format!("{g:?}");
        assert!(!shown.contains("the-client-secret") && !shown.contains("the-assertion"), "{shown}");
    }
}
