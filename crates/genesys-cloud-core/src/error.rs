//! The one error type of the SDK.

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;

/// The header Genesys Cloud uses to identify a request in its logs.
pub const CORRELATION_ID_HEADER: &str = "inin-correlation-id";

/// How many bytes of a response body an error keeps.
pub const BODY_EXCERPT_LIMIT: usize = 2048;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request could not be built: a missing required parameter, an invalid header
    /// value, a body that does not serialize. Nothing was sent.
    Build,
    /// No usable access token: the token request failed or was refused.
    Auth,
    /// The connection could not be made (DNS, refused, TLS handshake, proxy).
    Connect,
    /// A timeout expired (per attempt or per call). The request may have been processed.
    Timeout,
    /// The connection failed after the request was sent (reset, closed mid-body).
    /// The request may have been processed.
    Transport,
    /// The API answered with a non-success status.
    Api,
    /// The API answered with a success status but a body that does not match the expected
    /// type. Status, headers, correlation id and a body excerpt are kept.
    Decode,
    /// An asynchronous job ended in `FAILED` (or `CANCELLED`): the message is the server's
    /// `errorMessage`.
    JobFailed,
    /// An asynchronous job ended in `EXPIRED`: its results are gone; submit it again.
    JobExpired,
    /// The response body was larger (once inflated) than the client's maximum response size;
    /// it was not read further. Not retried.
    TooLarge,
    /// Another process holds the lease this work needs (an export of the same query, in a
    /// fleet): nothing was sent. Try again once its lease lapses.
    Leased,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Build => "request build error",
            ErrorKind::Auth => "authentication error",
            ErrorKind::Connect => "connection error",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Transport => "transport error",
            ErrorKind::Api => "API error",
            ErrorKind::Decode => "response decode error",
            ErrorKind::JobFailed => "job failed",
            ErrorKind::JobExpired => "job expired",
            ErrorKind::TooLarge => "response too large",
            ErrorKind::Leased => "held by another process",
        })
    }
}

/// The error body Genesys Cloud returns with 4xx and 5xx responses.
///
/// Every field is optional: gateways and proxies answer with other bodies, and those are
/// kept in [`Error::body_excerpt`] instead.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ApiErrorBody {
    /// Human-readable message.
    pub message: Option<String>,
    /// Machine-readable code, e.g. `not.found` or `bad.request`.
    pub code: Option<String>,
    /// The HTTP status the body reports.
    pub status: Option<u16>,
    /// The message with `{placeholders}` for [`message_params`](Self::message_params).
    pub message_with_params: Option<String>,
    /// Values of the placeholders.
    pub message_params: Option<serde_json::Map<String, serde_json::Value>>,
    /// The server-side context id (often the correlation id).
    pub context_id: Option<String>,
    /// Further details, as sent.
    pub details: Option<Vec<serde_json::Value>>,
    /// Nested errors (validation failures of several fields).
    pub errors: Option<Vec<ApiErrorBody>>,
}

impl ApiErrorBody {
    /// Parses a Genesys error body; `None` for anything that is not a JSON object with at
    /// least one of the known fields.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let parsed: Self = serde_json::from_slice(body).ok()?;
        (parsed != Self::default()).then_some(parsed)
    }
}

/// An SDK error: what failed, and everything known about the response, if there was one.
///
/// The kind and the predicates (`is_timeout()`, `is_connect()`, …) always describe the cause,
/// also when the retry loop gave up ([`is_retries_exhausted`](Self::is_retries_exhausted)
/// says that, and [`attempts`](Self::attempts) how many were made).
///
/// Errors never carry secrets: request headers (where `Authorization` lives) are not kept, and
/// response bodies are cut to [`BODY_EXCERPT_LIMIT`] bytes.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    operation: Option<&'static str>,
    status: Option<StatusCode>,
    headers: Option<HeaderMap>,
    api: Option<ApiErrorBody>,
    body_excerpt: Option<String>,
    retry_after: Option<Duration>,
    attempts: u32,
    exhausted: bool,
    decode_path: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                operation: None,
                status: None,
                headers: None,
                api: None,
                body_excerpt: None,
                retry_after: None,
                attempts: 0,
                exhausted: false,
                decode_path: None,
                source: None,
            }),
        }
    }

    /// A [`ErrorKind::Build`] error.
    pub fn build(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Build, message)
    }

    /// An [`ErrorKind::Api`] error from a non-success response: the Genesys error body is
    /// parsed, the correlation id and `Retry-After` read from the headers.
    pub fn from_response(status: StatusCode, headers: HeaderMap, body: &[u8]) -> Self {
        let api = ApiErrorBody::parse(body);
        let message = api
            .as_ref()
            .and_then(|a| a.message.clone())
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("unexpected status").to_owned());
        let retry_after = parse_retry_after(&headers, std::time::SystemTime::now());
        let mut e =
            Self::new(ErrorKind::Api, message).with_status(status).with_body_excerpt(body).with_headers(headers);
        e.inner.api = api;
        e.inner.retry_after = retry_after;
        e
    }

    /// A [`ErrorKind::Decode`] error: a success response whose body did not decode.
    pub fn decode(status: StatusCode, headers: HeaderMap, body: &[u8], source: serde_json::Error) -> Self {
        Self::new(ErrorKind::Decode, format!("the response body does not match the expected type: {source}"))
            .with_status(status)
            .with_body_excerpt(body)
            .with_headers(headers)
            .with_source(source)
    }

    /// A [`ErrorKind::Decode`] error naming the JSON path of the value that did not decode
    /// as `T` (`entities[3].start`). The path is found by decoding the body again with path
    /// tracking, only here, once a decode has failed: a decode that succeeds pays nothing.
    #[cold]
    pub fn decode_as<T: serde::de::DeserializeOwned>(
        status: StatusCode,
        headers: HeaderMap,
        body: &[u8],
        source: serde_json::Error,
    ) -> Self {
        Self::decode_with(status, headers, body, source, |de| T::deserialize(de).map(drop))
    }

    /// [`decode_as`](Self::decode_as) for a decoder that is not a `Deserialize` type (a seed):
    /// `decode` is run again on `body` through a path-tracking deserializer.
    #[doc(hidden)]
    #[cold]
    pub fn decode_with(
        status: StatusCode,
        headers: HeaderMap,
        body: &[u8],
        source: serde_json::Error,
        decode: impl FnOnce(PathTracking<'_, '_>) -> Result<(), serde_json::Error>,
    ) -> Self {
        let e = Self::decode(status, headers, body, source);
        match failure_path(body, decode) {
            Some(path) => e.with_decode_path(path),
            None => e,
        }
    }

    /// Names the JSON path of the value a [`ErrorKind::Decode`] error failed on, in its
    /// message and in [`decode_path`](Self::decode_path).
    pub fn with_decode_path(mut self, path: impl Into<String>) -> Self {
        let path = path.into();
        let cause = self.inner.source.as_ref().map(|s| s.to_string()).unwrap_or_default();
        self.inner.message = format!("the response body does not match the expected type at `{path}`: {cause}");
        self.inner.decode_path = Some(path);
        self
    }

    /// For a [`ErrorKind::Decode`] error, the JSON path of the value that did not decode
    /// (`entities[3].start`; `.` is the body itself), when it could be told.
    pub fn decode_path(&self) -> Option<&str> {
        self.inner.decode_path.as_deref()
    }

    /// Re-labels the error (e.g. a failed token request becomes [`ErrorKind::Auth`]),
    /// keeping everything else.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.inner.kind = kind;
        self
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Keeps the response headers.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.inner.headers = Some(headers);
        self
    }

    /// Keeps the first [`BODY_EXCERPT_LIMIT`] bytes of a response body (cut on a character
    /// boundary).
    pub fn with_body_excerpt(mut self, body: &[u8]) -> Self {
        if !body.is_empty() {
            self.inner.body_excerpt = Some(excerpt(body));
        }
        self
    }

    /// Sets the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Sets the underlying cause, already boxed (a tower layer's error).
    pub fn with_boxed_source(mut self, source: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        self.inner.source = Some(source);
        self
    }

    /// Names the operation that failed.
    pub fn with_operation(mut self, operation_id: &'static str) -> Self {
        self.inner.operation = Some(operation_id);
        self
    }

    /// Records how many attempts were made.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Sets the server's `Retry-After` hint.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.inner.retry_after = Some(wait);
        self
    }

    /// Marks this error as the last one of a retry loop that gave up after `attempts`
    /// attempts. Its kind, status, body and source stay those of the cause.
    pub fn into_retries_exhausted(mut self, attempts: u32) -> Self {
        self.inner.exhausted = true;
        self.inner.attempts = attempts;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The HTTP status, when a response was received.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The response headers, when a response was received.
    pub fn headers(&self) -> Option<&HeaderMap> {
        self.inner.headers.as_ref()
    }

    /// The parsed Genesys error body, when the response had one.
    pub fn api_error(&self) -> Option<&ApiErrorBody> {
        self.inner.api.as_ref()
    }

    /// The start of the response body, for bodies that are not a Genesys error.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.inner.body_excerpt.as_deref()
    }

    /// The `ININ-Correlation-Id` of the response, to quote to Genesys support.
    pub fn correlation_id(&self) -> Option<&str> {
        self.inner
            .headers
            .as_ref()
            .and_then(|h| h.get(CORRELATION_ID_HEADER))
            .and_then(|v| v.to_str().ok())
            .or_else(|| self.inner.api.as_ref().and_then(|a| a.context_id.as_deref()))
    }

    /// The wait the server asked for with `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The operation id of the failed call, when known.
    pub fn operation(&self) -> Option<&'static str> {
        self.inner.operation
    }

    /// How many attempts were made (0 when unknown).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// Whether the retry loop gave up: every allowed attempt failed with a retryable error,
    /// and this is the last one (its kind is the cause's).
    pub fn is_retries_exhausted(&self) -> bool {
        self.inner.exhausted
    }

    /// Whether the request could not be built ([`ErrorKind::Build`]); nothing was sent.
    pub fn is_build(&self) -> bool {
        self.inner.kind == ErrorKind::Build
    }

    /// Whether no access token could be had ([`ErrorKind::Auth`]).
    pub fn is_auth(&self) -> bool {
        self.inner.kind == ErrorKind::Auth
    }

    /// Whether this error, or an SDK error it wraps, is of `kind`: an [`ErrorKind::Auth`]
    /// error whose token request could not connect is also a connect error.
    fn caused_by(&self, kind: ErrorKind) -> bool {
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if e.downcast_ref::<Error>().is_some_and(|sdk| sdk.inner.kind == kind) {
                return true;
            }
            cur = e.source();
        }
        false
    }

    /// Whether the connection could not be made ([`ErrorKind::Connect`]), here or in the
    /// request this error wraps (a token request that could not connect).
    pub fn is_connect(&self) -> bool {
        self.caused_by(ErrorKind::Connect)
    }

    /// Whether a response was past the client's maximum response size
    /// ([`ErrorKind::TooLarge`]), here or in a wrapped request.
    pub fn is_too_large(&self) -> bool {
        self.caused_by(ErrorKind::TooLarge)
    }

    /// Whether a timeout expired ([`ErrorKind::Timeout`]), here or in a wrapped request.
    pub fn is_timeout(&self) -> bool {
        self.caused_by(ErrorKind::Timeout)
    }

    /// Whether the connection failed after the request was sent ([`ErrorKind::Transport`]),
    /// here or in a wrapped request.
    pub fn is_transport(&self) -> bool {
        self.caused_by(ErrorKind::Transport)
    }

    /// Whether the API answered with a non-success status ([`ErrorKind::Api`]).
    pub fn is_api(&self) -> bool {
        self.inner.kind == ErrorKind::Api
    }

    /// Whether a success body did not decode ([`ErrorKind::Decode`]).
    pub fn is_decode(&self) -> bool {
        self.inner.kind == ErrorKind::Decode
    }

    /// Whether an asynchronous job failed or was cancelled ([`ErrorKind::JobFailed`]).
    pub fn is_job_failed(&self) -> bool {
        self.inner.kind == ErrorKind::JobFailed
    }

    /// Whether an asynchronous job expired ([`ErrorKind::JobExpired`]).
    pub fn is_job_expired(&self) -> bool {
        self.inner.kind == ErrorKind::JobExpired
    }

    /// Whether the API said 404.
    pub fn is_not_found(&self) -> bool {
        self.inner.status == Some(StatusCode::NOT_FOUND)
    }

    /// Whether the API said 429.
    pub fn is_rate_limited(&self) -> bool {
        self.inner.status == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the API said 409: a duplicate (an email already in use, a name taken) or a
    /// stale `version` on an update. [`code`](Self::code) tells which (`general.conflict`,
    /// `conflict.version`, …).
    pub fn is_conflict(&self) -> bool {
        self.inner.status == Some(StatusCode::CONFLICT)
    }

    /// Whether the API said 403: the token lacks a permission or a scope, or the org lacks
    /// a product. Retrying does not help.
    pub fn is_forbidden(&self) -> bool {
        self.inner.status == Some(StatusCode::FORBIDDEN)
    }

    /// Whether the API said 400: the request was refused as invalid.
    /// [`api_error`](Self::api_error) has the server's message and, for validation
    /// failures, one nested error per field.
    pub fn is_bad_request(&self) -> bool {
        self.inner.status == Some(StatusCode::BAD_REQUEST)
    }

    /// Whether the API answered with this HTTP status (`err.is_status(412)`).
    pub fn is_status(&self, status: u16) -> bool {
        self.inner.status.is_some_and(|s| s.as_u16() == status)
    }

    /// The Genesys error code of the answer's body, such as `general.conflict`,
    /// `bad.request` or `not.authorized`, when the body had one.
    pub fn code(&self) -> Option<&str> {
        self.inner.api.as_ref().and_then(|a| a.code.as_deref())
    }

    /// Whether trying again could succeed: 429, 502, 503, 504, connection and transport
    /// failures, and timeouts. (Whether it is *safe* to retry depends on the operation's
    /// idempotency, which the retry layer checks.)
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            ErrorKind::Connect | ErrorKind::Transport | ErrorKind::Timeout => true,
            ErrorKind::Api => matches!(self.inner.status.map(|s| s.as_u16()), Some(429 | 502 | 503 | 504)),
            _ => false,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(BODY_EXCERPT_LIMIT)];
    let mut text = match std::str::from_utf8(cut) {
        Ok(s) => s.to_owned(),
        Err(e) if e.valid_up_to() > 0 && e.error_len().is_none() => {
            String::from_utf8_lossy(&cut[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(cut).into_owned(),
    };
    // A body can carry secrets (a created user's password, a token a gateway echoes).
    if let std::borrow::Cow::Owned(masked) = crate::redact::redact_body(&text) {
        text = masked;
    }
    if body.len() > BODY_EXCERPT_LIMIT {
        text.push('…');
    }
    text
}

/// The longest wait [`parse_retry_after`] reports: one year. Longer values (a server bug,
/// or a hostile proxy) are clamped, so adding the wait to an `Instant` cannot overflow.
pub const RETRY_AFTER_CLAMP: Duration = Duration::from_secs(365 * 86_400);

/// Reads `Retry-After` as delay-seconds or an HTTP-date (relative to `now`), clamped to
/// [`RETRY_AFTER_CLAMP`].
pub fn parse_retry_after(headers: &HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Ok(secs) = value.parse::<f64>() {
        if !(secs.is_finite() && secs >= 0.0) {
            return None;
        }
        Duration::from_secs_f64(secs.min(RETRY_AFTER_CLAMP.as_secs_f64()))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(RETRY_AFTER_CLAMP))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner.kind)?;
        if let Some(op) = self.inner.operation {
            write!(f, " in {op}")?;
        }
        if let Some(status) = self.inner.status {
            write!(f, " ({status})")?;
        }
        write!(f, ": {}", self.inner.message)?;
        if let Some(code) = self.inner.api.as_ref().and_then(|a| a.code.as_deref()) {
            write!(f, " [{code}]")?;
        }
        if let Some(id) = self.correlation_id() {
            write!(f, " (correlation id {id})")?;
        }
        if self.inner.exhausted {
            write!(f, " (retries exhausted after {} attempts)", self.inner.attempts)?;
        } else if self.inner.attempts > 1 {
            write!(f, " after {} attempts", self.inner.attempts)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("message", &self.inner.message);
        if let Some(op) = self.inner.operation {
            d.field("operation", &op);
        }
        if let Some(s) = self.inner.status {
            d.field("status", &s);
        }
        if let Some(id) = self.correlation_id() {
            d.field("correlation_id", &id);
        }
        if let Some(api) = &self.inner.api {
            d.field("api_error", api);
        } else if let Some(b) = &self.inner.body_excerpt {
            d.field("body_excerpt", b);
        }
        if let Some(r) = self.inner.retry_after {
            d.field("retry_after", &r);
        }
        if self.inner.attempts > 0 {
            d.field("attempts", &self.inner.attempts);
        }
        if self.inner.exhausted {
            d.field("retries_exhausted", &true);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Decodes a success body into `T`, or a [`ErrorKind::Decode`] error keeping the response.
pub fn decode_body<T: serde::de::DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::decode_as::<T>(status, headers.clone(), body, e))
}

/// The deserializer [`Error::decode_with`] hands its decoder: JSON, tracking the path.
#[doc(hidden)]
pub type PathTracking<'t, 'b> =
    serde_path_to_error::Deserializer<'t, 't, &'t mut serde_json::Deserializer<serde_json::de::SliceRead<'b>>>;

/// The JSON path (`entities[3].start`) at which `decode` fails on `body`, by running it again
/// through a path-tracking deserializer; `None` if it does not fail this time, or fails at
/// the top (`.`), where the message already says all there is.
fn failure_path(
    body: &[u8],
    decode: impl FnOnce(PathTracking<'_, '_>) -> Result<(), serde_json::Error>,
) -> Option<String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut track = serde_path_to_error::Track::new();
    let failed = decode(serde_path_to_error::Deserializer::new(&mut de, &mut track)).is_err();
    let path = track.path().to_string();
    (failed && path != ".").then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_decode_error_names_the_json_path_and_a_success_keeps_none() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            start: i64,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Page {
            entities: Vec<Item>,
        }
        let ok = StatusCode::OK;
        let body = Bytes::from_static(br#"{"entities":[{"start":1},{"start":2},{"start":3},{"start":"4"}]}"#);
        let e = decode_body::<Page>(ok, &HeaderMap::new(), &body).unwrap_err();
        assert_eq!(e.decode_path(), Some("entities[3].start"));
        assert!(e.to_string().contains("expected type at `entities[3].start`: invalid type: string \"4\""), "{e}");
        assert!(std::error::Error::source(&e).is_some());
        // Broken JSON at the top has no path to name.
        let e = decode_body::<Page>(ok, &HeaderMap::new(), &Bytes::from_static(b"<html>")).unwrap_err();
        assert_eq!(e.decode_path(), None, "{e}");
        let page = decode_body::<Page>(ok, &HeaderMap::new(), &Bytes::from_static(br#"{"entities":[]}"#));
        assert!(page.unwrap().entities.is_empty());
    }

    #[test]
    fn retry_after_is_clamped_to_a_year() {
        let now = std::time::SystemTime::now();
        // Found by the error_body fuzz target: a valid u64 of seconds that overflows an Instant.
        let h = headers(&[("retry-after", "+10000000000000000000")]);
        assert_eq!(parse_retry_after(&h, now), Some(RETRY_AFTER_CLAMP));
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "1e300")]), now), Some(RETRY_AFTER_CLAMP));
        assert_eq!(
            parse_retry_after(&headers(&[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]), now),
            Some(RETRY_AFTER_CLAMP)
        );
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        assert!(std::time::Instant::now().checked_add(RETRY_AFTER_CLAMP).is_some());
    }

    #[test]
    fn parses_a_real_shaped_genesys_error_body() {
        let body = br#"{"message":"The user could not be found: 9f0c","code":"not.found","status":404,
            "messageWithParams":"The user could not be found: {id}","messageParams":{"id":"9f0c"},
            "contextId":"c0ffee-1","details":[{"errorCode":"x"}],"errors":[{"message":"inner","code":"bad.field"}]}"#;
        let e = Error::from_response(StatusCode::NOT_FOUND, headers(&[("inin-correlation-id", "corr-123")]), body);
        assert_eq!(e.kind(), ErrorKind::Api);
        assert!(e.is_not_found() && !e.is_rate_limited() && !e.is_retryable());
        assert_eq!(e.correlation_id(), Some("corr-123"));
        let api = e.api_error().unwrap();
        assert_eq!(api.code.as_deref(), Some("not.found"));
        assert_eq!(api.status, Some(404));
        assert_eq!(api.message_params.as_ref().unwrap()["id"], "9f0c");
        assert_eq!(api.errors.as_ref().unwrap()[0].code.as_deref(), Some("bad.field"));
        assert_eq!(
            e.to_string(),
            "API error (404 Not Found): The user could not be found: 9f0c [not.found] (correlation id corr-123)"
        );
    }

    #[test]
    fn triage_predicates_name_the_status_and_the_genesys_code() {
        let conflict = br#"{"message":"Email already in use","code":"general.conflict","status":409}"#;
        let e = Error::from_response(StatusCode::CONFLICT, HeaderMap::new(), conflict).into_retries_exhausted(1);
        assert!(e.is_conflict() && e.is_status(409));
        assert!(!e.is_forbidden() && !e.is_bad_request() && !e.is_not_found() && !e.is_status(400));
        assert_eq!(e.code(), Some("general.conflict"));
        let e = Error::from_response(StatusCode::FORBIDDEN, HeaderMap::new(), br#"{"code":"missing.permissions"}"#);
        assert!(e.is_forbidden() && !e.is_conflict());
        assert_eq!(e.code(), Some("missing.permissions"));
        let e = Error::from_response(StatusCode::BAD_REQUEST, HeaderMap::new(), b"<html>bad</html>");
        assert!(e.is_bad_request() && e.is_status(400));
        assert_eq!(e.code(), None);
        let e = Error::new(ErrorKind::Timeout, "no answer");
        assert!(!e.is_status(409) && !e.is_conflict() && e.code().is_none());
    }

    #[test]
    fn a_gateway_body_is_kept_as_an_excerpt() {
        let e = Error::from_response(StatusCode::BAD_GATEWAY, HeaderMap::new(), b"<html>502 Bad Gateway</html>");
        assert!(e.api_error().is_none());
        assert_eq!(e.body_excerpt(), Some("<html>502 Bad Gateway</html>"));
        assert!(e.is_retryable());
        assert_eq!(e.message(), "Bad Gateway");
        let big = vec![b'x'; BODY_EXCERPT_LIMIT * 3];
        let e = Error::from_response(StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), &big);
        assert_eq!(e.body_excerpt().unwrap().chars().count(), BODY_EXCERPT_LIMIT + 1);
    }

    #[test]
    fn context_id_stands_in_for_a_missing_correlation_header() {
        let e =
            Error::from_response(StatusCode::BAD_REQUEST, HeaderMap::new(), br#"{"message":"m","contextId":"ctx"}"#);
        assert_eq!(e.correlation_id(), Some("ctx"));
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "7")]), now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(parse_retry_after(&headers(&[("retry-after", &date)]), now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&headers(&[("retry-after", &past)]), now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(&headers(&[("retry-after", "soon")]), now), None);
        let e = Error::from_response(StatusCode::TOO_MANY_REQUESTS, headers(&[("retry-after", "3")]), b"{}");
        assert!(e.is_rate_limited() && e.is_retryable());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn decode_errors_keep_status_correlation_id_and_body() {
        let body = Bytes::from_static(br#"{"id": 5"#);
        let h = headers(&[("inin-correlation-id", "corr-9")]);
        let e = decode_body::<serde_json::Map<String, serde_json::Value>>(StatusCode::OK, &h, &body).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert_eq!(e.status(), Some(StatusCode::OK));
        assert_eq!(e.correlation_id(), Some("corr-9"));
        assert_eq!(e.body_excerpt(), Some(r#"{"id": 5"#));
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn a_body_excerpt_masks_secret_fields_in_debug_and_display() {
        // A success body that does not decode: a gateway's token answer where a model was due,
        // cut off inside its secret at the excerpt's limit too.
        let long = format!(r#"{{"id":7,"access_token":"tok-SECRET-1","refresh_token":"{}"}}"#, "r".repeat(3000));
        let body = Bytes::from(long);
        let e = decode_body::<Vec<u8>>(StatusCode::OK, &HeaderMap::new(), &body).unwrap_err();
        let shown = format!("{e:?} {e} {}", e.body_excerpt().unwrap());
        assert!(!shown.contains("tok-SECRET-1") && !shown.contains("rrrr"), "{shown}");
        assert!(shown.contains(r#""access_token":"[REDACTED]""#), "{shown}");
    }

    #[test]
    fn retries_exhausted_keeps_the_last_response() {
        let last =
            Error::from_response(StatusCode::SERVICE_UNAVAILABLE, headers(&[("inin-correlation-id", "c")]), b"{}");
        let e = last.into_retries_exhausted(4);
        assert!(e.is_retries_exhausted() && e.is_api() && e.is_retryable());
        assert_eq!(e.kind(), ErrorKind::Api);
        assert_eq!(e.attempts(), 4);
        assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
        assert_eq!(e.correlation_id(), Some("c"));
        assert!(e.to_string().ends_with("(retries exhausted after 4 attempts)"), "{e}");
    }

    #[test]
    fn predicates_answer_for_the_cause_after_retries() {
        for kind in [ErrorKind::Timeout, ErrorKind::Connect, ErrorKind::Transport] {
            let e = Error::new(kind, "x").into_retries_exhausted(3);
            assert!(e.is_retries_exhausted());
            assert_eq!(e.kind(), kind);
            assert_eq!(e.is_timeout(), kind == ErrorKind::Timeout);
            assert_eq!(e.is_connect(), kind == ErrorKind::Connect);
            assert_eq!(e.is_transport(), kind == ErrorKind::Transport);
            assert!(!e.is_api() && !e.is_auth() && !e.is_build() && !e.is_decode());
        }
        let plain = Error::new(ErrorKind::Timeout, "x");
        assert!(plain.is_timeout() && !plain.is_retries_exhausted());
        let auth = Error::new(ErrorKind::Auth, "token").with_source(Error::new(ErrorKind::Connect, "refused"));
        assert!(auth.is_auth() && auth.is_connect() && !auth.is_timeout());
    }
}
