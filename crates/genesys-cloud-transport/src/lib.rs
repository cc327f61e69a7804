//! The transport of genesys-cloud-rs: hyper-util's pooled client with rustls under a tower
//! stack, implementing [`genesys_cloud_core::Executor`].
//!
//! The stack is the composition of the public layers of this crate, outer to inner:
//!
//! 1. the application's call layers ([`TransportBuilder::with_layer`]): each sees every
//!    logical call once;
//! 2. [`SpanLayer`]: one `tracing` span per call;
//! 3. [`CallTimeoutLayer`]: the whole call, retries included (per call: `with_timeout`); it
//!    sets the call's [`Deadline`];
//! 4. [`RetryLayer`]: 429 always, 502/503/504 and broken connections for idempotent
//!    operations, `Retry-After` in both forms with a cap, full-jitter backoff, budgets, never
//!    waiting past the deadline; 404s for a bounded time when the call asks (a read right
//!    after a create);
//! 5. the application's attempt layers ([`TransportBuilder::with_attempt_layer`]): each sees
//!    every attempt (metrics, rate limiting, per-attempt tracing);
//! 6. [`AuthLayer`]: the bearer token from a [`TokenProvider`](genesys_cloud_auth::TokenProvider) (one token, or a
//!    [`TokenPool`](genesys_cloud_auth::TokenPool)'s in turn); after a 401, a fresh token and one replay, which the retry
//!    layer sends as one more attempt ([`Reauthorize`]);
//! 7. [`PaceLayer`]: each token kept under its rate limit, learned from the
//!    `inin-ratelimit-*` headers ([`RateLimits`]);
//! 8. [`AttemptTimeoutLayer`]: each attempt as it goes out (or the deadline, when it comes
//!    first), so waiting for a token or for the pacer is not a slow attempt;
//! 9. [`HeadersLayer`]: `User-Agent: genesys-cloud-rs/<version>` and `purecloud-sdk`
//!    (tower-http's `SetRequestHeader`);
//! 10. [`BaseUrlLayer`]: the absolute URL on the API host of the [`Endpoint`];
//! 11. [`LoggingLayer`]: each attempt as it goes out, with secrets redacted;
//! 12. the HTTP service: [`HyperClient`] (gzip by tower-http's `Decompression`), through a
//!     [`Proxy`] if set, or the one [`TransportBuilder::http_service`] puts there.
//!
//! Requests and responses carry a whole [`Body`], an [`http_body::Body`], so tower's and
//! tower-http's layers fit at both extension points as they are. Retry and timeouts are
//! [`Live`] settings, read per call.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod budget;
mod client;
mod fleet;
mod layers;
mod live;
mod logging;
pub mod metrics;
mod pace;
mod proxy;
mod region;
mod tls;
mod transport;

// The public surface is what users compose: the layers, the transport and its builder, the
// call's context, the settings, the body and error types. The services and futures the layers
// make stay in their modules, unnameable: `<RetryLayer as Layer<S>>::Service` names one.
pub use body::{Body, BoxError};
pub use budget::RetryBudget;
pub use client::{HyperClient, DEFAULT_MAX_RESPONSE_SIZE};
pub use fleet::{FleetPaceStats, RateStore};
pub use genesys_cloud_config::{Proxy, RateLimits, Retry, Timeouts};
pub use layers::{
    AttemptTimeoutLayer, AuthLayer, BaseUrlLayer, CallContext, CallTimeoutLayer, Deadline, HeadersLayer, HttpService,
    Reauthorize, RetryLayer, SdkService, StackService,
};
pub use live::Live;
pub use logging::{
    LogFormat, LogHandle, LogLevel, LogSettings, LoggingLayer, SpanLayer, LOG_DROP_WAIT, LOG_QUEUE_BYTES,
    LOG_QUEUE_LINES,
};
pub use pace::{PaceLayer, PaceStats, Pacer, RateLimitStatus};
pub use proxy::connect_tcp;
pub use region::{Base, Endpoint, Region};
pub use tls::TlsConfig;
pub use transport::{Transport, TransportBuilder};

/// The `http-body` crate the stack's bodies implement.
pub use http_body;

/// For the workspace's own crates (the notification socket reconnects with the retry
/// layer's backoff); not part of the API, and may change in any release.
#[doc(hidden)]
pub mod __workspace {
    pub use crate::layers::full_jitter_backoff;
}
