//! Static facts about each generated operation, carried in the request's extensions.

/// How an operation's listing is paged, as recognised by the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaginationKind {
    /// `pageNumber`/`pageSize` query parameters; the response has `pageCount` (and `total`).
    PageNumber,
    /// The response has a `nextUri` to follow.
    NextUri,
    /// A cursor query parameter (`after`, `cursor`, …) fed from a response field.
    Cursor,
}

/// What the SDK knows about one operation of the spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OperationMeta {
    /// The spec's `operationId`, e.g. `getUsersMe`.
    pub operation_id: &'static str,
    /// The spec's tags, e.g. `["Users"]`.
    pub tags: &'static [&'static str],
    /// The HTTP method.
    pub method: http::Method,
    /// The path template, e.g. `/api/v2/users/{userId}`.
    pub path_template: &'static str,
    /// Whether repeating the call is safe (GET/HEAD/PUT/DELETE/OPTIONS, and POSTs that only
    /// read: `.../query` and `.../search`). Only idempotent calls are retried on 5xx and
    /// transport failures.
    pub idempotent: bool,
    /// How the operation pages, if it does.
    pub pagination: Option<PaginationKind>,
    /// The spec marks it deprecated.
    pub deprecated: bool,
    /// A preview endpoint: it can change or go away without notice.
    pub preview: bool,
    /// Whether the call carries a bearer token (false for the few public endpoints).
    pub needs_auth: bool,
    /// The `Accept` header: the media types the spec says the operation produces
    /// (`application/json` unless it says otherwise, as for a `text/plain` template or the
    /// `text/calendar` feed).
    pub accept: &'static str,
}

impl OperationMeta {
    /// Metadata of a generated operation (a `const fn`, so operations keep it in statics).
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        operation_id: &'static str,
        tags: &'static [&'static str],
        method: http::Method,
        path_template: &'static str,
        idempotent: bool,
        pagination: Option<PaginationKind>,
        deprecated: bool,
        preview: bool,
        needs_auth: bool,
    ) -> Self {
        Self {
            operation_id,
            tags,
            method,
            path_template,
            idempotent,
            pagination,
            deprecated,
            preview,
            needs_auth,
            accept: "application/json",
        }
    }

    /// The same metadata with another `Accept` header (the spec's `produces`, comma-separated).
    pub const fn with_accept(mut self, accept: &'static str) -> Self {
        self.accept = accept;
        self
    }

    /// Metadata for calls made outside the generated operations (the raw escape hatch):
    /// idempotency follows the method. `None` for methods other than GET, HEAD, POST, PUT,
    /// PATCH, DELETE and OPTIONS.
    pub fn raw(method: &http::Method) -> Option<&'static Self> {
        const fn raw(method: http::Method, idempotent: bool) -> OperationMeta {
            OperationMeta::new("raw", &[], method, "", idempotent, None, false, false, true)
        }
        static GET: OperationMeta = raw(http::Method::GET, true);
        static HEAD: OperationMeta = raw(http::Method::HEAD, true);
        static POST: OperationMeta = raw(http::Method::POST, false);
        static PUT: OperationMeta = raw(http::Method::PUT, true);
        static PATCH: OperationMeta = raw(http::Method::PATCH, false);
        static DELETE: OperationMeta = raw(http::Method::DELETE, true);
        static OPTIONS: OperationMeta = raw(http::Method::OPTIONS, true);
        Some(match *method {
            http::Method::GET => &GET,
            http::Method::HEAD => &HEAD,
            http::Method::POST => &POST,
            http::Method::PUT => &PUT,
            http::Method::PATCH => &PATCH,
            http::Method::DELETE => &DELETE,
            http::Method::OPTIONS => &OPTIONS,
            _ => return None,
        })
    }
}

/// Whether a method is idempotent by RFC 9110 (GET, HEAD, PUT, DELETE, OPTIONS, TRACE).
pub fn is_idempotent_method(method: &http::Method) -> bool {
    matches!(
        *method,
        http::Method::GET
            | http::Method::HEAD
            | http::Method::PUT
            | http::Method::DELETE
            | http::Method::OPTIONS
            | http::Method::TRACE
    )
}
