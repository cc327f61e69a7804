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
}

impl OperationMeta {
    /// Metadata for calls made outside the generated operations (the raw escape hatch):
    /// idempotency follows the method.
    pub fn raw(method: http::Method) -> Self {
        let idempotent = is_idempotent_method(&method);
        Self {
            operation_id: "raw",
            tags: &[],
            method,
            path_template: "",
            idempotent,
            pagination: None,
            deprecated: false,
            preview: false,
            needs_auth: true,
        }
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

/// The generator's rule for whether an operation is idempotent: the method's rule, plus POSTs
/// whose path ends in `/query` or `/search` (reads with a body).
pub fn infer_idempotent(method: &http::Method, path_template: &str) -> bool {
    is_idempotent_method(method)
        || (*method == http::Method::POST
            && (path_template.ends_with("/query") || path_template.ends_with("/search")))
}
