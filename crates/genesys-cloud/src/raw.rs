//! Calls outside the generated operations.

use genesys_cloud_core::executor::{Empty, Json};
use genesys_cloud_core::http::Method;
use genesys_cloud_core::{Call, CallWithResponse, Error, Operation, OperationMeta, RequestParts, SharedExecutor};

/// The raw-call entry point of a client: `client.raw().request(Method::GET, "/api/v2/…")`.
#[derive(Clone)]
pub struct Raw {
    executor: SharedExecutor,
}

impl std::fmt::Debug for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Raw")
    }
}

impl Raw {
    pub(crate) fn new(executor: SharedExecutor) -> Self {
        Self { executor }
    }

    /// Sends parts built elsewhere as they are (a generated builder's
    /// [`build`](genesys_cloud_core::Operation), changed; or [`RawRequest::build`]'s) and
    /// returns the whole success response: status, headers and the body's bytes, for a body
    /// decoded some other way. A non-2xx status is an API error. The path is checked as
    /// [`request`](Self::request) checks it, and nothing is sent when it fails.
    pub async fn send_parts(
        &self,
        parts: RequestParts,
    ) -> Result<genesys_cloud_core::http::Response<genesys_cloud_core::bytes::Bytes>, Error> {
        check_api_path(&parts.path)?;
        genesys_cloud_core::executor::execute(&*self.executor, parts).await
    }

    /// GETs an absolute `http`/`https` URL a response gave (a download link, a report's
    /// result, a `selfUri`) through the client's stack: retries, timeouts, pacing and logging
    /// apply, and the token goes with it only when the URL is on one of the client's own
    /// hosts. Returns the whole success response; a non-2xx status is an API error.
    pub async fn get_url(
        &self,
        url: &str,
    ) -> Result<genesys_cloud_core::http::Response<genesys_cloud_core::bytes::Bytes>, Error> {
        let uri: genesys_cloud_core::http::Uri =
            url.parse().map_err(|_| Error::build(format!("not a URL: {url:?}")))?;
        let web = matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some();
        let Some(meta) = OperationMeta::raw(&Method::GET).filter(|_| web) else {
            return Err(Error::build(format!("get_url takes an absolute http or https URL: {url:?}")));
        };
        genesys_cloud_core::executor::execute(&*self.executor, RequestParts::new(meta, uri.to_string())).await
    }

    /// A request for `path` (which must start with `/`; the host is always the API host, so
    /// the access token never goes anywhere else). The path is sent as given: encode its
    /// parameters with [`encode_path_segment`](genesys_cloud_core::encode_path_segment). A
    /// segment that is `.` or `..` (also percent-encoded) is a build error, and nothing is
    /// sent: servers and proxies that normalize paths would send it to another resource.
    pub fn request(&self, method: Method, path: impl Into<String>) -> RawRequest {
        let path = path.into();
        let parts = match OperationMeta::raw(&method) {
            None => Err(Error::build(format!("unsupported method {method} for a raw call"))),
            Some(meta) => check_api_path(&path).map(|()| RequestParts::new(meta, path)),
        };
        RawRequest { executor: self.executor.clone(), parts, options: Default::default() }
    }
}

/// A path under the API host: one leading `/` (no host of its own) and no dot segment
/// (servers and proxies that normalize paths would send it to another resource).
fn check_api_path(path: &str) -> Result<(), Error> {
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(Error::build(format!(
            "a raw call takes a path under the API host, starting with one '/': {path:?}"
        )));
    }
    genesys_cloud_core::encode::check_path(path)
}

/// One raw call being built.
#[must_use = "a call does nothing until it is sent"]
pub struct RawRequest {
    executor: SharedExecutor,
    parts: Result<RequestParts, Error>,
    options: genesys_cloud_core::CallOptions,
}

impl std::fmt::Debug for RawRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.parts {
            Ok(p) => f.debug_struct("RawRequest").field("method", &p.meta.method).field("path", &p.path).finish(),
            Err(e) => f.debug_tuple("RawRequest").field(e).finish(),
        }
    }
}

impl RawRequest {
    /// Adds a query parameter.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        if let Ok(p) = &mut self.parts {
            p.query.push(name, value);
        }
        self
    }

    /// Sets a JSON body.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Self {
        if let Ok(p) = &mut self.parts {
            if let Err(e) = p.json_body(body) {
                self.parts = Err(e);
            }
        }
        self
    }

    fn into_parts(self) -> (SharedExecutor, Result<RequestParts, Error>) {
        let options = self.options;
        (
            self.executor,
            self.parts.map(|mut p| {
                p.options = options;
                p
            }),
        )
    }

    /// The request as it would be sent.
    pub fn build(&self) -> Result<RequestParts, Error> {
        match &self.parts {
            Ok(p) => {
                let mut p = p.clone();
                p.options = self.options.clone();
                Ok(p)
            }
            Err(e) => Err(Error::build(e.message().to_owned())),
        }
    }

    /// Sends and decodes the JSON response into `T` (`serde_json::Value` for anything).
    pub fn send_json<T: serde::de::DeserializeOwned>(self) -> Call<T, Json> {
        let (executor, parts) = self.into_parts();
        Call::new(&executor, parts)
    }

    /// Sends and returns the decoded response with status and headers.
    pub fn send_json_with_response<T: serde::de::DeserializeOwned>(self) -> CallWithResponse<T, Json> {
        self.send_json().with_response()
    }

    /// Sends and ignores the response body.
    pub fn send(self) -> Call<(), Empty> {
        let (executor, parts) = self.into_parts();
        Call::new(&executor, parts)
    }
}

impl Operation for RawRequest {
    fn options_mut(&mut self) -> &mut genesys_cloud_core::CallOptions {
        &mut self.options
    }
}

/// The per-call options as inherent methods, as on the generated builders.
impl RawRequest {
    /// Limits the whole call, retries included, to `timeout`.
    pub fn with_timeout(self, timeout: std::time::Duration) -> Self {
        <Self as Operation>::with_timeout(self, timeout)
    }

    /// Adds a header to this call only (replacing the SDK's header of the same name).
    pub fn with_header(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        <Self as Operation>::with_header(self, name, value)
    }

    /// Overrides the client's retry settings for this call.
    pub fn with_retry(self, retry: genesys_cloud_core::RetryOverride) -> Self {
        <Self as Operation>::with_retry(self, retry)
    }

    /// Sends this call once, without retries.
    pub fn without_retry(self) -> Self {
        <Self as Operation>::without_retry(self)
    }
}
