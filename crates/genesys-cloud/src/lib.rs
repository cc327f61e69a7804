//! The Rust SDK for the Genesys Cloud Platform API v2.
//!
//! ```ignore
//! use genesys_cloud::prelude::*;
//!
//! let client = genesys_cloud::Client::from_executor(executor);
//! let me = client.users().get_users_me().expand(["presence"]).send().await?;
//! let mut queues = client.routing().get_routing_queues().page_size(100).into_paginator().items();
//! while let Some(queue) = queues.try_next().await? { println!("{:?}", queue.name); }
//! ```
//!
//! - [`Client`] is cheap to clone, `Send + Sync`, and holds everything it uses: there are no
//!   process-wide globals, and several clients can live in one process.
//! - Every operation of the API is a method of a tag accessor (`client.users()`,
//!   `client.routing()`, …) behind the tag's Cargo feature; see [`api`].
//! - [`Client::raw`] calls any path with any JSON, for endpoints the spec gets wrong.
//!
//! The HTTP transport (TLS, retries, timeouts, OAuth) plugs in through
//! [`core::Executor`]; until a transport is configured a client is built from an executor
//! with [`Client::from_executor`].
#![cfg_attr(docsrs, feature(doc_cfg))]

use std::fmt;
use std::sync::Arc;

pub use genesys_cloud_api as api;
pub use genesys_cloud_core as core;
pub use genesys_cloud_models as models;

pub use genesys_cloud_core::{Error, ErrorKind, Response, Result};

mod raw;
pub use raw::{Raw, RawRequest};

/// The traits a call needs in scope: tag accessors ([`api::Tags`]), per-call options
/// ([`core::Operation`]) and the model helpers ([`models::Model`]), plus `TryStreamExt`-free
/// stream access through `futures`.
pub mod prelude {
    pub use genesys_cloud_api::Tags as _;
    pub use genesys_cloud_core::Operation as _;
    pub use genesys_cloud_models::Model as _;
}

/// A Genesys Cloud client: every operation of the API, sent through one executor.
///
/// Cloning is cheap (one `Arc`); clones share the executor, its connections and its tokens.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    executor: core::SharedExecutor,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").field("api_host", &self.inner.executor.api_host()).finish_non_exhaustive()
    }
}

impl Client {
    /// A client that sends every call through `executor` (a transport, or a test double).
    pub fn from_executor(executor: core::SharedExecutor) -> Self {
        Self { inner: Arc::new(Inner { executor }) }
    }

    /// A builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The executor calls go through.
    pub fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
    }

    /// The escape hatch: any method, any path under the API host, any JSON.
    pub fn raw(&self) -> Raw {
        Raw::new(self.inner.executor.clone())
    }
}

impl api::Tags for Client {
    fn executor(&self) -> core::SharedExecutor {
        self.inner.executor.clone()
    }
}

/// Builds a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    executor: Option<core::SharedExecutor>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder").field("executor", &self.executor.is_some()).finish()
    }
}

impl ClientBuilder {
    /// Sends calls through `executor`.
    pub fn executor(mut self, executor: core::SharedExecutor) -> Self {
        self.executor = Some(executor);
        self
    }

    /// The client; a build error when no executor was given.
    pub fn build(self) -> Result<Client> {
        match self.executor {
            Some(executor) => Ok(Client::from_executor(executor)),
            None => Err(Error::build("no executor configured: call ClientBuilder::executor")),
        }
    }
}
