//! What the layers know of a call, in its request's extensions: [`CallContext`] and the call's
//! [`Deadline`], and the copy of a request each attempt sends.

use crate::body::Body;
use genesys_cloud_core::http::Request;
use genesys_cloud_core::meta::is_idempotent_method;
use genesys_cloud_core::{CallOptions, OperationMeta};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Room in a copy's header map for the headers the layers below add (token, `User-Agent`,
/// `purecloud-sdk`, `Accept-Encoding`, `Host`), so none of them grows it again.
const HEADER_ROOM: usize = 5;

/// A copy of a request: bodies are whole and shared, so every attempt can be replayed.
pub fn clone_request(req: &Request<Body>) -> Request<Body> {
    let mut out = Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    // A clone of the map would have room for its own headers only.
    let headers = out.headers_mut();
    headers.reserve(req.headers().len() + HEADER_ROOM);
    for (name, value) in req.headers() {
        headers.append(name.clone(), value.clone());
    }
    *out.extensions_mut() = req.extensions().clone();
    out
}

/// What the SDK's layers know of a call: one entry in its request's extensions, filled in
/// as the call goes down the stack, and copied with each attempt as one piece.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallContext {
    /// The operation (`None` for a request no operation builder made).
    pub operation: Option<&'static OperationMeta>,
    /// The call's own options, when it has any (`with_timeout`, `with_retry`, headers).
    pub options: Option<Arc<CallOptions>>,
    /// When the whole call must be over: set by [`CallTimeoutLayer`](crate::CallTimeoutLayer).
    pub deadline: Option<Deadline>,
    /// The attempt this request is, from 1: set by [`RetryLayer`](crate::RetryLayer) (0 above it).
    pub attempt: u32,
    /// Whether this attempt is the replay after a 401 with a fresh token ([`Reauthorize`](crate::Reauthorize)):
    /// a 401 to it stands.
    pub reauthorized: bool,
}

impl CallContext {
    /// A context for this operation with these options (`None` when it has none).
    pub fn new(operation: Option<&'static OperationMeta>, options: Option<CallOptions>) -> Self {
        Self { operation, options: options.map(Arc::new), ..Self::default() }
    }

    /// The context of `req`, if it has one.
    pub fn of<B>(req: &Request<B>) -> Option<&CallContext> {
        req.extensions().get::<CallContext>()
    }

    /// The context of `req`, made from the operation and options in its extensions when it
    /// has none yet.
    pub fn of_mut<B>(req: &mut Request<B>) -> &mut CallContext {
        if Self::of(req).is_none() {
            let made = Self::new(meta(req), options(req).cloned());
            req.extensions_mut().insert(made);
        }
        req.extensions_mut().get_or_insert_default()
    }
}

/// The operation of `req`: its context's, else the one `into_request` put there.
pub(crate) fn meta<B>(req: &Request<B>) -> Option<&'static OperationMeta> {
    match CallContext::of(req) {
        Some(c) => c.operation,
        None => req.extensions().get::<&'static OperationMeta>().copied(),
    }
}

/// The call's own options: its context's, else the ones `into_request` put there.
pub(crate) fn options<B>(req: &Request<B>) -> Option<&CallOptions> {
    match CallContext::of(req) {
        Some(c) => c.options.as_deref(),
        None => req.extensions().get::<CallOptions>(),
    }
}

/// The deadline of `req`'s call, if it has one.
pub(crate) fn deadline<B>(req: &Request<B>) -> Option<Deadline> {
    CallContext::of(req).and_then(|c| c.deadline)
}

/// The attempt `req` is (0 above the retry layer).
pub(crate) fn attempt<B>(req: &Request<B>) -> u32 {
    CallContext::of(req).map_or(0, |c| c.attempt)
}

/// Whether `req` may be sent twice: its operation says, else its method.
pub(crate) fn is_idempotent<B>(req: &Request<B>) -> bool {
    meta(req).map_or_else(|| is_idempotent_method(req.method()), |m| m.idempotent)
}

/// When a call must be over: set by [`CallTimeoutLayer`](crate::CallTimeoutLayer) in the request's [`CallContext`], read by
/// [`RetryLayer`](crate::RetryLayer) (no wait past it), [`AttemptTimeoutLayer`](crate::AttemptTimeoutLayer) (an attempt's timer fires at
/// its own limit or at the deadline, whichever is first), and [`AuthLayer`](crate::AuthLayer) and
/// [`PaceLayer`](crate::PaceLayer) (no wait for a token or a turn past it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The instant.
    pub at: Instant,
    /// The whole-call limit it came from (for the error message).
    pub limit: Duration,
}
