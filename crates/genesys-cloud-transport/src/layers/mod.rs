//! The SDK's layers. Each is a tower [`Layer`] over any service of [`Body`] requests and
//! responses that fails with the SDK's [`Error`] ([`SdkService`]), so the client's stack is their
//! composition, and a user can compose, reorder or replace them the same way.
//!
//! What a layer needs to know about a call travels in the request's extensions as one
//! [`CallContext`], filled in as the call goes down: the operation and the call's own options
//! (put there by the transport), the call's [`Deadline`] (set by [`CallTimeoutLayer`]) and the
//! attempt number (set by [`RetryLayer`]). A request without one (built by
//! `RequestParts::into_request`, which puts the operation and options in the extensions one by
//! one) is read the same way.

use crate::body::{self, error_from_layer, Body, BoxError};
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::meta::is_idempotent_method;
use genesys_cloud_core::{CallOptions, Error, OperationMeta};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::util::BoxCloneSyncService;
#[cfg(doc)]
use tower::Layer;
use tower::Service;

/// A stage that sends each request on once: ready when its inner service is (a concurrency
/// limit below holds the stage, as with tower's own middleware).
macro_rules! ready_when_inner_is {
    () => {
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.inner.poll_ready(cx)
        }
    };
}

mod attempt_timeout;
mod auth;
mod base_url;
mod call_timeout;
mod headers;
mod retry;

pub use attempt_timeout::AttemptTimeoutLayer;
pub use auth::{AuthLayer, Reauthorize};
pub use base_url::BaseUrlLayer;
pub(crate) use call_timeout::until_deadline;
pub use call_timeout::{CallTimeoutLayer, Deadline};
pub use headers::HeadersLayer;
pub use retry::{full_jitter_backoff, RetryLayer};

/// The one erased service type of the stack: a request with a whole body in, a response with
/// a whole body (any status) or an SDK error out. The extension points of the builder hand
/// layers this type, and [`TransportBuilder::http_service`](crate::TransportBuilder::http_service)
/// takes any service that converts to it.
pub type HttpService = BoxCloneSyncService<Request<Body>, Response<Body>, Error>;

/// A service the SDK's layers can wrap: [`Body`] in and out, the SDK's [`Error`], cloneable
/// (the retry and auth layers send more than once). Implemented for every such service.
pub trait SdkService:
    Service<Request<Body>, Response = Response<Body>, Error = Error, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<S> SdkService for S where
    S: Service<Request<Body>, Response = Response<Body>, Error = Error, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

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
    /// When the whole call must be over: set by [`CallTimeoutLayer`].
    pub deadline: Option<Deadline>,
    /// The attempt this request is, from 1: set by [`RetryLayer`] (0 above it).
    pub attempt: u32,
    /// Whether this attempt is the replay after a 401 with a fresh token ([`Reauthorize`]):
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
pub(super) fn options<B>(req: &Request<B>) -> Option<&CallOptions> {
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
pub(super) fn is_idempotent<B>(req: &Request<B>) -> bool {
    meta(req).map_or_else(|| is_idempotent_method(req.method()), |m| m.idempotent)
}

/// A service the stack can take at an extension point, as it is: requests of [`Body`], any
/// response body that is an [`http_body::Body`], any error convertible to [`BoxError`].
/// Implemented for every such service (the services of tower's and tower-http's layers, a
/// `service_fn` double); [`into_http_service`](Self::into_http_service) erases it.
pub trait StackService: Clone + Send + Sync + 'static {
    /// The service as the stack's [`HttpService`]: its errors become the SDK's (tower's
    /// timeout a timeout error, anything else a transport error naming it) and its response
    /// body is read whole into a [`Body`] (at once when it is one already).
    fn into_http_service(self) -> HttpService;
}

impl<T, B> StackService for T
where
    T: Service<Request<Body>, Response = Response<B>> + Clone + Send + Sync + 'static,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    fn into_http_service(self) -> HttpService {
        BoxCloneSyncService::new(Adapted(self))
    }
}

/// The adapter behind [`StackService::into_http_service`].
#[derive(Clone)]
struct Adapted<T>(T);

impl<T, B> Service<Request<Body>> for Adapted<T>
where
    T: Service<Request<Body>, Response = Response<B>>,
    T::Error: Into<BoxError>,
    T::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = Error;
    type Future = body::Collected<T::Future, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.0.poll_ready(cx).map_err(error_from_layer)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        body::Collected::new(self.0.call(req))
    }
}
