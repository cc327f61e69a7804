//! Origin-form URIs made absolute on the API host.

use super::service::SdkService;
use crate::body::Body;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::Error;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Makes origin-form request URIs absolute on a base URL, so the layers inside (logging) see
/// the full URL.
#[derive(Clone, Debug)]
pub struct BaseUrlLayer {
    base: Arc<crate::region::Base>,
}

impl BaseUrlLayer {
    /// Requests go to `base`.
    pub fn new(base: crate::region::Base) -> Self {
        Self { base: Arc::new(base) }
    }
}

impl<S> Layer<S> for BaseUrlLayer {
    type Service = BaseUrl<S>;
    fn layer(&self, inner: S) -> BaseUrl<S> {
        BaseUrl { inner, base: self.base.clone() }
    }
}

/// The service of [`BaseUrlLayer`].
#[derive(Clone, Debug)]
pub struct BaseUrl<S> {
    inner: S,
    base: Arc<crate::region::Base>,
}

impl<S: SdkService> Service<Request<Body>> for BaseUrl<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = futures_util::future::Either<std::future::Ready<Result<Response<Body>, Error>>, S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if req.uri().scheme().is_none() {
            match self.base.join_uri(req.uri()) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(e) => return futures_util::future::Either::Left(std::future::ready(Err(e))),
            }
        }
        futures_util::future::Either::Right(self.inner.call(req))
    }
}
