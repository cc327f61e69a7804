//! A request as the generated operations build it, and a decoded response.

use crate::encode::Query;
use crate::error::{Error, CORRELATION_ID_HEADER};
use crate::meta::OperationMeta;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, StatusCode};
use std::time::Duration;

/// Overrides of the client's retry settings for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryOverride {
    /// At most this many attempts (1 = no retry).
    pub max_attempts: Option<u32>,
    /// Give up retrying once this much time has passed since the first attempt.
    pub max_elapsed: Option<Duration>,
    /// Retry 404s for up to this long since the first attempt (with backoff, within the
    /// call's time limit): for a read right after a create, which Genesys Cloud can answer
    /// with a 404 for a while. These retries are bounded by this time alone, not by the
    /// attempt count. Default: a 404 is the answer.
    pub not_found_for: Option<Duration>,
}

impl RetryOverride {
    /// No retry for this call.
    pub fn disabled() -> Self {
        Self { max_attempts: Some(1), ..Self::default() }
    }

    /// Retries 404s for up to `limit` (see [`not_found_for`](Self::not_found_for)).
    pub fn not_found_for(mut self, limit: Duration) -> Self {
        self.not_found_for = Some(limit);
        self
    }

    /// Retries 404s for up to five minutes, as the Terraform provider does after a create.
    pub fn eventually_consistent() -> Self {
        Self::default().not_found_for(Duration::from_secs(300))
    }
}

/// Options of one call, set with the `with_*` methods of [`Operation`].
/// They travel to the transport in the request's extensions when the call sets any (a request
/// without them has the defaults).
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// The time limit of the whole call, retries included.
    pub timeout: Option<Duration>,
    /// Extra headers (name, value), added after (and so replacing) the SDK's own; checked when
    /// the request is built.
    pub headers: Vec<(String, String)>,
    /// Retry settings for this call.
    pub retry: Option<RetryOverride>,
}

impl CallOptions {
    /// Whether the call sets none (it then has the defaults).
    pub fn is_empty(&self) -> bool {
        self.timeout.is_none() && self.retry.is_none() && self.headers.is_empty()
    }
}

/// Everything a generated operation decides about a request; the transport adds the host,
/// authentication and the SDK's headers.
#[derive(Debug, Clone)]
pub struct RequestParts {
    /// The operation.
    pub meta: &'static OperationMeta,
    /// The path with its parameters filled in and percent-encoded.
    pub path: String,
    /// The query.
    pub query: Query,
    /// Header parameters of the operation.
    pub headers: HeaderMap,
    /// The JSON body, if any.
    pub body: Option<Bytes>,
    /// Per-call options.
    pub options: CallOptions,
}

impl RequestParts {
    /// Parts for `meta` with a filled path and nothing else.
    pub fn new(meta: &'static OperationMeta, path: String) -> Self {
        Self { meta, path, query: Query::new(), headers: HeaderMap::new(), body: None, options: CallOptions::default() }
    }

    /// Sets a JSON body.
    pub fn json_body<T: serde::Serialize + ?Sized>(&mut self, body: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| Error::build(format!("the request body does not serialize: {e}")).with_source(e))?;
        self.body = Some(Bytes::from(bytes));
        Ok(())
    }

    /// Sets a header parameter of the operation.
    pub fn header(&mut self, name: &'static str, value: &str) -> Result<(), Error> {
        let value = HeaderValue::from_str(value)
            .map_err(|_| Error::build(format!("invalid value for header parameter {name}")))?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(())
    }

    /// The path and query (`/api/v2/users?pageSize=25`).
    pub fn path_and_query(&self) -> String {
        if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query.as_str())
        }
    }

    /// The `http::Request` the executor receives: an origin-form URI (path and query),
    /// `Accept` and `Content-Type`, the header parameters, then the per-call headers; the
    /// [`OperationMeta`] and (when any is set) the [`CallOptions`] ride in the extensions.
    pub fn into_request(self) -> Result<http::Request<Bytes>, Error> {
        let (mut request, meta, options) = self.into_wire()?;
        request.extensions_mut().insert(meta);
        if !options.is_empty() {
            request.extensions_mut().insert(options);
        }
        Ok(request)
    }

    /// The same request as [`into_request`](Self::into_request) with nothing in its
    /// extensions, and the operation and the call's options beside it: for an executor that
    /// takes them directly ([`Executor::execute_parts`](crate::Executor::execute_parts)).
    pub fn into_wire(self) -> Result<(http::Request<Bytes>, &'static OperationMeta, CallOptions), Error> {
        let Self { meta, path, query, headers: params, body, options } = self;
        let build = |what: String| Error::build(what).with_operation(meta.operation_id);
        let path_and_query = if query.is_empty() { path } else { format!("{path}?{}", query.as_str()) };
        // The text becomes the URI's bytes as it is, without another copy.
        let uri = http::Uri::from_maybe_shared(Bytes::from(path_and_query))
            .map_err(|e| build(format!("invalid request path: {e}")))?;
        let has_body = body.is_some();
        let mut request = http::Request::new(body.unwrap_or_default());
        *request.method_mut() = meta.method.clone();
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(ACCEPT, HeaderValue::from_static(meta.accept));
        if has_body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        // One value per header parameter (the last), as `header` sets them.
        let mut last = None;
        for (name, value) in params {
            if let Some(name) = name.or_else(|| last.take()) {
                headers.insert(name.clone(), value);
                last = Some(name);
            }
        }
        for (name, value) in &options.headers {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|_| build(format!("invalid header name {name:?}")))?;
            let value = HeaderValue::from_str(value).map_err(|_| build(format!("invalid value for header {name}")))?;
            headers.insert(name, value);
        }
        Ok((request, meta, options))
    }
}

/// A decoded response with its status, headers and the number of attempts it took.
#[derive(Debug, Clone)]
pub struct Response<T> {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The decoded body.
    pub value: T,
    /// How many attempts the call took (1 when it was not retried).
    pub attempts: u32,
}

impl<T> Response<T> {
    /// How many attempts the call took: 1 when the first answer was the one, more when the
    /// SDK retried (a 429, a 503, a broken connection) before this answer.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The `ININ-Correlation-Id` of the response.
    pub fn correlation_id(&self) -> Option<&str> {
        self.headers.get(CORRELATION_ID_HEADER).and_then(|v| v.to_str().ok())
    }

    /// The body, dropping status and headers.
    pub fn into_value(self) -> T {
        self.value
    }
}

/// The per-call options every operation builder has: `with_timeout`, `with_header`,
/// `with_retry`. The generated builders also have them as inherent methods, so this trait is
/// for code generic over builders.
pub trait Operation: Sized {
    /// The builder's options.
    fn options_mut(&mut self) -> &mut CallOptions;

    /// Limits the whole call, retries included, to `timeout`.
    fn with_timeout(mut self, timeout: Duration) -> Self {
        self.options_mut().timeout = Some(timeout);
        self
    }

    /// Adds a header to this call only (replacing the SDK's header of the same name).
    /// An invalid name or value fails the call with a build error, before anything is sent.
    fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options_mut().headers.push((name.into(), value.into()));
        self
    }

    /// Overrides the client's retry settings for this call.
    fn with_retry(mut self, retry: RetryOverride) -> Self {
        self.options_mut().retry = Some(retry);
        self
    }

    /// Sends this call once, without retries.
    fn without_retry(self) -> Self {
        self.with_retry(RetryOverride::disabled())
    }
}
