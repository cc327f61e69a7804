//! Open Messaging webhooks: what Genesys Cloud posts to an Open Messaging integration's
//! `outboundNotificationWebhookUrl` (the agents' messages, their receipts, typing events),
//! signed with the integration's `outboundNotificationWebhookSignatureSecretToken`.
//!
//! - [`WebhookVerifier`] checks `X-Hub-Signature-256` (`sha256=` and the HMAC-SHA256 of the raw
//!   body, base64 as the service sends it; hex is accepted too) in constant time, and decodes
//!   the body into an [`OutboundMessage`] typed by the spec's Open Messaging definitions.
//! - [`WebhookService`] is a tower service that does both and hands each message to your
//!   handler, so an axum router (`route_service`) or a hyper server (through hyper-util's
//!   `TowerToHyperService`) can mount it. Its answers follow the service's retry rules: a
//!   message that is not genuine is 401 and one that does not decode 400 (neither is sent
//!   again), and a handler that fails is 503, which the service retries (up to 5 times, 5 s
//!   apart; it waits 10 s for an answer).
//!
//! ```no_run
//! # async fn demo() {
//! use genesys_cloud::open_messaging::{OutboundMessage, WebhookService, WebhookVerifier};
//! let verifier = WebhookVerifier::new("the integration's secret token");
//! let service = WebhookService::new(verifier, |message: OutboundMessage| async move {
//!     if let OutboundMessage::Message(m) = &message {
//!         println!("to {:?}: {:?}", m.channel.as_ref().and_then(|c| c.to.as_ref()), m.text);
//!     }
//!     Ok::<(), std::convert::Infallible>(())
//! });
//! // axum: Router::new().route_service("/genesys/webhook", service)
//! # let _ = service;
//! # }
//! ```

use crate::auth::Secret;
use bytes::Bytes;
use genesys_cloud_core::{bytes, http};
use hmac::Mac as _;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt as _;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";

/// The largest body [`WebhookService`] reads by default: 1 MiB (a normalized message with its
/// content is far smaller).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// A message Genesys Cloud posts to an Open Messaging webhook.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum OutboundMessage {
    /// A message (`type` `Text`, `Structured`, …) or a receipt (`Receipt`) of a message the
    /// integration sent. A type the spec does not list is kept in
    /// [`OpenNormalizedMessageType::Unknown`](crate::models::OpenNormalizedMessageType::Unknown),
    /// fields it does not list kept too.
    Message(Box<crate::models::OpenNormalizedMessage>),
    /// An event (`type` `Event`): typing indicators and the like.
    Event(Box<crate::models::OpenEventNormalizedMessage>),
}

impl OutboundMessage {
    /// The message's id (a receipt has the id of the message it is about).
    pub fn id(&self) -> Option<&str> {
        match self {
            OutboundMessage::Message(m) => m.id.as_deref(),
            OutboundMessage::Event(e) => e.id.as_deref(),
        }
    }
}

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Hub-Signature-256` header.
    MissingSignature,
    /// The header is not `sha256=` and a base64 or hex digest.
    MalformedSignature,
    /// The signature is not the body's under the integration's secret: not from Genesys Cloud,
    /// changed on the way, or signed with another secret.
    SignatureMismatch,
    /// The body is genuine but not a normalized message (why).
    Body(String),
    /// The body is longer than the limit (in bytes).
    TooLarge(usize),
    /// The body could not be read (why).
    Read(String),
}

impl WebhookError {
    /// The status a webhook answers with: 401 for a signature, 400 for a body, 413 for a size
    /// (the service sends none of them again).
    pub fn status(&self) -> StatusCode {
        match self {
            WebhookError::MissingSignature | WebhookError::MalformedSignature | WebhookError::SignatureMismatch => {
                StatusCode::UNAUTHORIZED
            }
            WebhookError::Body(_) | WebhookError::Read(_) => StatusCode::BAD_REQUEST,
            WebhookError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::MissingSignature => write!(f, "no {SIGNATURE_HEADER} header"),
            WebhookError::MalformedSignature => {
                write!(f, "the {SIGNATURE_HEADER} header is not `sha256=` and a base64 or hex digest")
            }
            WebhookError::SignatureMismatch => {
                write!(f, "the {SIGNATURE_HEADER} signature does not match the body under the integration's secret")
            }
            WebhookError::Body(why) => write!(f, "the body is not an Open Messaging normalized message: {why}"),
            WebhookError::TooLarge(limit) => write!(f, "the body is longer than {limit} bytes"),
            WebhookError::Read(why) => write!(f, "the body could not be read: {why}"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// Checks Open Messaging webhook signatures with an integration's secret token, and decodes
/// what they sign. Cheap to clone; its `Debug` never shows the secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Secret,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier").field("secret", &self.secret).finish()
    }
}

impl WebhookVerifier {
    /// A verifier for the integration whose `outboundNotificationWebhookSignatureSecretToken`
    /// is `secret`.
    pub fn new(secret: impl Into<Secret>) -> Self {
        Self { secret: secret.into() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length.
        HmacSha256::new_from_slice(self.secret.expose().as_bytes()).unwrap_or_else(|_| unreachable!())
    }

    /// The signature header's value for `body`: `sha256=` and the base64 HMAC-SHA256, as the
    /// service computes it (for tests, and for a relay that signs again).
    pub fn sign(&self, body: &[u8]) -> String {
        use base64::Engine as _;
        let digest = self.mac().chain_update(body).finalize().into_bytes();
        format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(digest))
    }

    /// Checks `signature` (the `X-Hub-Signature-256` header's value, if any) against the raw
    /// `body`, in constant time.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> Result<(), WebhookError> {
        let signature = signature.ok_or(WebhookError::MissingSignature)?.trim();
        let digest = signature
            .get(..7)
            .filter(|prefix| prefix.eq_ignore_ascii_case("sha256="))
            .and_then(|_| digest_bytes(&signature[7..]))
            .ok_or(WebhookError::MalformedSignature)?;
        self.mac().chain_update(body).verify_slice(&digest).map_err(|_| WebhookError::SignatureMismatch)
    }

    /// [`verify`](Self::verify), then [`decode_outbound`].
    pub fn decode(&self, body: &[u8], signature: Option<&str>) -> Result<OutboundMessage, WebhookError> {
        self.verify(body, signature)?;
        decode_outbound(body)
    }
}

/// A digest as the header writes it: base64 (44 characters, the service's) or hex (64).
fn digest_bytes(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (0..64).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect();
    }
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).ok()?;
    (bytes.len() == 32).then_some(bytes)
}

/// Decodes a webhook body (unverified: see [`WebhookVerifier::decode`]) by its `type`:
/// `Event` as an event, anything else as a normalized message.
pub fn decode_outbound(body: &[u8]) -> Result<OutboundMessage, WebhookError> {
    #[derive(serde::Deserialize)]
    struct Kind {
        #[serde(rename = "type")]
        kind: Option<String>,
    }
    let kind: Kind = serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))?;
    let decoded = match kind.kind.as_deref() {
        Some("Event") => serde_json::from_slice(body).map(|e| OutboundMessage::Event(Box::new(e))),
        Some(_) => serde_json::from_slice(body).map(|m| OutboundMessage::Message(Box::new(m))),
        None => return Err(WebhookError::Body("no `type`".into())),
    };
    decoded.map_err(|e| WebhookError::Body(e.to_string()))
}

/// A tower service for an Open Messaging webhook: it reads the body (up to a limit), checks its
/// signature, decodes it and calls the handler with the message.
///
/// | the request | the answer |
/// |---|---|
/// | not `POST` | 405 |
/// | no signature, or one that does not match | 401 (the handler is not called) |
/// | genuine, but not a normalized message | 400 |
/// | longer than the limit ([`DEFAULT_BODY_LIMIT`]) | 413 |
/// | the handler returns `Ok` | 200 |
/// | the handler returns `Err` | 503: the service sends it again (5 times at most, 5 s apart) |
///
/// The answers' bodies say why in a line; they never show the secret or the expected
/// signature. Refusals are logged at `warn` with why (not the header's value).
pub struct WebhookService<H> {
    verifier: WebhookVerifier,
    handler: Arc<H>,
    limit: usize,
}

impl<H> Clone for WebhookService<H> {
    fn clone(&self) -> Self {
        Self { verifier: self.verifier.clone(), handler: self.handler.clone(), limit: self.limit }
    }
}

impl<H> fmt::Debug for WebhookService<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookService").field("verifier", &self.verifier).field("limit", &self.limit).finish()
    }
}

impl<H> WebhookService<H> {
    /// A webhook that hands each genuine message to `handler` (an `async` closure or function
    /// of an [`OutboundMessage`], returning `Result<(), E>`).
    pub fn new(verifier: WebhookVerifier, handler: H) -> Self {
        Self { verifier, handler: Arc::new(handler), limit: DEFAULT_BODY_LIMIT }
    }

    /// The largest body read, in bytes (default [`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }
}

fn answer(status: StatusCode, text: String) -> Response<http_body_util::Full<Bytes>> {
    let mut response = Response::new(http_body_util::Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}

impl<B, H, F, E> tower_service::Service<Request<B>> for WebhookService<H>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    H: Fn(OutboundMessage) -> F + Send + Sync + 'static,
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: fmt::Display,
{
    type Response = Response<http_body_util::Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let verifier = self.verifier.clone();
        let limit = self.limit;
        if request.method() != Method::POST {
            let text = format!("an Open Messaging webhook takes POST, not {}", request.method());
            return Box::pin(std::future::ready(Ok(answer(StatusCode::METHOD_NOT_ALLOWED, text))));
        }
        let signature = request.headers().get(SIGNATURE_HEADER).map(|v| v.to_str().map(str::to_owned));
        // A message is handled only once it is read and checked whole.
        let handler = self.handler.clone();
        Box::pin(async move {
            let checked = async {
                let signature = match signature {
                    None => None,
                    Some(Ok(text)) => Some(text),
                    Some(Err(_)) => return Err(WebhookError::MalformedSignature),
                };
                let body = http_body_util::Limited::new(request.into_body(), limit).collect().await.map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        WebhookError::TooLarge(limit)
                    } else {
                        WebhookError::Read(e.to_string())
                    }
                })?;
                verifier.decode(&body.to_bytes(), signature.as_deref())
            };
            let message = match checked.await {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!(error = %e, "open messaging webhook: request refused");
                    return Ok(answer(e.status(), format!("{e}\n")));
                }
            };
            let id = message.id().unwrap_or_default().to_owned();
            Ok(match handler(message).await {
                Ok(()) => answer(StatusCode::OK, String::new()),
                Err(e) => {
                    tracing::warn!(id, error = %e, "open messaging webhook: the handler failed; the service will send it again");
                    answer(StatusCode::SERVICE_UNAVAILABLE, format!("the message {id} was not handled: {e}\n"))
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"m-1","type":"Text","direction":"Outbound","text":"hello","channel":{"platform":"Open","type":"Private","to":{"id":"customer-1"},"from":{"id":"integration-1"},"time":"2026-12-07T10:15:30.000Z"},"extraField":{"kept":true}}"#;

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let verifier = WebhookVerifier::new("integration-secret");
        let signature = verifier.sign(BODY);
        assert!(signature.starts_with("sha256=") && signature.len() == 7 + 44, "{signature}");
        assert_eq!(verifier.verify(BODY, Some(&signature)), Ok(()));
        let mut tampered = BODY.to_vec();
        tampered[20] ^= 1;
        assert_eq!(verifier.verify(&tampered, Some(&signature)), Err(WebhookError::SignatureMismatch));
        let other = WebhookVerifier::new("another-secret");
        assert_eq!(other.verify(BODY, Some(&signature)), Err(WebhookError::SignatureMismatch));
        assert_eq!(verifier.verify(BODY, None), Err(WebhookError::MissingSignature));
        for bad in ["sha1=abc", "sha256=", "sha256=not base64!", "sha256=AAAA", &signature[7..]] {
            assert_eq!(verifier.verify(BODY, Some(bad)), Err(WebhookError::MalformedSignature), "{bad}");
        }
        // Hex, as some relays write it, and the prefix in any case.
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(&signature[7..]).unwrap();
        let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(verifier.verify(BODY, Some(&format!("SHA256={hex}"))), Ok(()));
    }

    #[test]
    fn bodies_decode_by_type_keeping_what_the_spec_does_not_list() {
        let verifier = WebhookVerifier::new("integration-secret");
        let OutboundMessage::Message(m) = verifier.decode(BODY, Some(&verifier.sign(BODY))).unwrap() else {
            panic!("a message")
        };
        assert_eq!(m.text.as_deref(), Some("hello"));
        let back = serde_json::to_value(&*m).unwrap();
        assert_eq!(back["extraField"], serde_json::json!({"kept": true}));
        let structured = br#"{"id":"m-2","type":"Structured","content":[]}"#;
        let OutboundMessage::Message(m) = decode_outbound(structured).unwrap() else { panic!() };
        assert_eq!(m.r#type.as_ref().map(|t| t.as_str()), Some("Structured"));
        let event = br#"{"id":"e-1","type":"Event","channel":{"platform":"Open"},"events":[{"eventType":"Typing","typing":{"type":"On"}}]}"#;
        assert!(matches!(decode_outbound(event), Ok(OutboundMessage::Event(_))));
        for bad in [&b"not json"[..], b"{}", br#"{"type":"Text","text":7}"#] {
            assert!(matches!(decode_outbound(bad), Err(WebhookError::Body(_))), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_secret_never_shows() {
        let verifier = WebhookVerifier::new("integration-secret");
        let service = WebhookService::new(verifier.clone(), |_: OutboundMessage| async { Ok::<(), Infallible>(()) });
        for text in [format!("{verifier:?}"), format!("{service:?}"), WebhookError::SignatureMismatch.to_string()] {
            assert!(!text.contains("integration-secret"), "{text}");
        }
    }
}
