//! The service types of the stack: the one erased type, what a layer of the SDK wraps, and
//! what an extension point takes.

use crate::body::{self, error_from_layer, Body, BoxError};
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::Error;
use std::task::{Context, Poll};
use tower::util::BoxCloneSyncService;
use tower::Service;

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
