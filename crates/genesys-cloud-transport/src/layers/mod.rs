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

#[cfg(doc)]
use {crate::body::Body, genesys_cloud_core::Error, tower::Layer};

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
mod context;
mod headers;
mod retry;
mod service;

pub use attempt_timeout::AttemptTimeoutLayer;
pub use auth::{AuthLayer, Reauthorize};
pub use base_url::BaseUrlLayer;
pub(crate) use call_timeout::until_deadline;
pub use call_timeout::CallTimeoutLayer;
pub(crate) use context::{attempt, clone_request, deadline, meta};
pub use context::{CallContext, Deadline};
pub use headers::HeadersLayer;
pub use retry::{full_jitter_backoff, RetryLayer};
pub use service::{HttpService, SdkService, StackService};
