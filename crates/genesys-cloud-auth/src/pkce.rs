//! PKCE (RFC 7636): a verifier from the operating system's CSPRNG, its S256 challenge, and
//! the authorize URL.

use crate::secret::Secret;
use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The characters a verifier may use (RFC 7636 "unreserved").
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// A fresh code verifier of `len` characters (clamped to RFC 7636's 43 to 128), drawn from
/// the operating system's CSPRNG.
pub fn generate_verifier(len: usize) -> Result<Secret, getrandom::Error> {
    let len = len.clamp(43, 128);
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::getrandom(&mut buf)?;
        // Rejection sampling keeps the distribution uniform over the 66 characters.
        for b in buf {
            if out.len() == len {
                break;
            }
            if (b as usize) < 256 - (256 % UNRESERVED.len()) {
                out.push(UNRESERVED[b as usize % UNRESERVED.len()] as char);
            }
        }
    }
    Ok(Secret::new(out))
}

/// The S256 challenge of a verifier: `BASE64URL(SHA-256(verifier))` without padding.
pub fn challenge(verifier: &Secret) -> String {
    let digest = Sha256::digest(verifier.expose().as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// The URL to send the user to: `https://{login_host}/oauth/authorize?…` with the S256
/// challenge of `verifier` (or without PKCE when `verifier` is `None`).
pub fn authorize_url(
    login_base: &str,
    client_id: &str,
    redirect_uri: &str,
    state: Option<&str>,
    verifier: Option<&Secret>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("client_id", client_id);
    query.append_pair("response_type", "code");
    query.append_pair("redirect_uri", redirect_uri);
    if let Some(v) = verifier {
        query.append_pair("code_challenge", &challenge(v));
        query.append_pair("code_challenge_method", "S256");
    }
    if let Some(s) = state {
        query.append_pair("state", s);
    }
    format!("{}/oauth/authorize?{}", login_base.trim_end_matches('/'), query.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let verifier = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(challenge(&verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn verifiers_are_valid_and_distinct() {
        let a = generate_verifier(64).unwrap();
        let b = generate_verifier(64).unwrap();
        assert_eq!(a.expose().len(), 64);
        assert!(a.expose().bytes().all(|c| UNRESERVED.contains(&c)));
        assert_ne!(a, b);
        assert_eq!(generate_verifier(1).unwrap().expose().len(), 43);
        assert_eq!(generate_verifier(1000).unwrap().expose().len(), 128);
    }

    #[test]
    fn authorize_url_carries_the_challenge() {
        let v = Secret::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        let url =
            authorize_url("https://login.mypurecloud.com/", "cid", "http://localhost:8080/cb", Some("xyz"), Some(&v));
        assert_eq!(
            url,
            "https://login.mypurecloud.com/oauth/authorize?client_id=cid&response_type=code&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&state=xyz"
        );
    }
}
