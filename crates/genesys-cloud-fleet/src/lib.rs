//! Fleets of genesys-cloud-rs processes on Redis.
//!
//! Genesys Cloud limits what the processes of one integration share: the OAuth client's
//! token endpoint, each token's requests a minute, the client's budget across its tokens, the
//! notification channels of a user and app. Processes that each act alone add up to more than
//! the platform allows. A [`Fleet`] points them at one Redis, an engine people already run:
//!
//! - **One token per expiry for the whole fleet.** One process mints the OAuth client's
//!   token (a lock with an expiry, the others reading the key rather than minting), stores it
//!   with a time to live of its lifetime less the refresh margin, and every process uses it.
//!   A 401 re-mints once for the fleet. With a token pool, the pool is the fleet's.
//! - **One rate governor.** Each attempt takes the fleet's next turn of its token's budget (as
//!   the token's answers state it) and of the OAuth client's budget
//!   ([`Fleet::with_client_budget`]), in order, in one Lua script on Redis's clock; a 429's
//!   `Retry-After` holds the token's turns for every process. A turn past the call's deadline
//!   is not taken: the call fails at once with a timeout.
//! - **Exports that resume.** `client.jobs(family).checkpointed(fleet.checkpoint_store(),
//!   name).export(&query)` keeps the job's id and the cursor of its next page as results are
//!   read; an exporter started again with the same query resumes from the cursor, and a lease
//!   per query keeps two processes from submitting it both.
//!
//! ```no_run
//! # async fn demo() -> genesys_cloud::Result<()> {
//! use genesys_cloud::{fleet::Fleet, Client};
//! let fleet = Fleet::redis("redis://127.0.0.1:6379/")?.with_namespace("provisioning");
//! let client = Client::builder().client_credentials("id", "secret").fleet(&fleet).build()?;
//! # Ok(()) }
//! ```
//!
//! - **Notification channels shared.** With the `notifications` feature (the facade's
//!   `fleet` and `notification-service` together), `Fleet::channel_leases`: the fleet's
//!   subscriptions hold the user and app's 19 channels together (past them, an error names
//!   the holders), each topic is carried by one subscription at a time, and a process that
//!   dies is taken over when its leases lapse, with a gap and the state fetched again.
//!
//! **Fail open.** Redis down, slow or restarted never stops a call: every store call gives up
//! after a bounded time (500 ms), and the process then mints on its own, logs a warning and
//! counts it ([`TokenCache::fleet_stats`](genesys_cloud_auth::TokenCache::fleet_stats),
//! [`Fleet::stats`]). After a failed connection the store is not asked again for a second;
//! then the next token refresh finds it again. Every right the store gives has an expiry, so a
//! process that dies or a partition never leaves a token locked.
//!
//! **Secrets.** The token is stored only in the Redis the URL names, under
//! `genesys:{namespace}:{login host[:port]}:{client id}:token:{n}`; it never appears in logs or
//! `Debug` output. Redis's own access control (a password in the URL, TLS with `rediss://`
//! when the client is built with redis-rs's TLS feature) is the user's to set.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod redis_store;

use genesys_cloud_auth::TokenStore;
use genesys_cloud_core::Error;
use std::sync::Arc;
use std::time::Duration;

use genesys_cloud_transport::RateStore;
pub use redis_store::{RedisStore, StoreStats};

/// A fleet's shared state on Redis, and the namespace that keeps it apart from other fleets
/// on the same Redis. Cheap to clone: clones share the connection.
#[derive(Clone)]
pub struct Fleet {
    namespace: String,
    /// The store of tokens and turns.
    tokens: Arc<RedisStore>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet").field("namespace", &self.namespace).field("redis", &self.tokens).finish()
    }
}

impl Fleet {
    /// A fleet on the Redis at `url` (`redis://host:port/db`, with a password as
    /// `redis://:password@host/`). Nothing connects here: the first token refresh does, and a
    /// Redis that is down then is a fallback, not an error. A URL that does not parse is an
    /// error now.
    pub fn redis(url: &str) -> Result<Self, Error> {
        Ok(Self { namespace: "default".to_owned(), tokens: Arc::new(RedisStore::open(url)?) })
    }

    /// Keys under `namespace` (default `default`): fleets of different deployments, or test
    /// runs, on one Redis.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long one Redis call may take before the process goes on without it (default
    /// 500 ms; the token cache bounds each call at 500 ms too).
    pub fn with_call_limit(mut self, limit: Duration) -> Self {
        // The store is not shared yet while the fleet is being set up.
        if let Some(tokens) = Arc::get_mut(&mut self.tokens) {
            tokens.set_call_limit(limit);
        }
        self
    }

    /// The OAuth client's budget across all its tokens, which the fleet's turns keep under:
    /// `allowed` requests in any stretch of `window` (the platform's
    /// `org.app.user.rate.per.minute` is 3,000 a minute). Default: none, only each token's
    /// budget, as its answers state it.
    pub fn with_client_budget(mut self, allowed: u32, window: Duration) -> Self {
        if let Some(store) = Arc::get_mut(&mut self.tokens) {
            store.set_client_budget(allowed, window);
        }
        self
    }

    /// The namespace of the fleet's keys.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The token store, for a transport (`TransportBuilder::token_store`) or a cache of your
    /// own ([`TokenCache::shared_through`](genesys_cloud_auth::TokenCache::shared_through)).
    pub fn token_store(&self) -> Arc<dyn TokenStore> {
        self.tokens.clone()
    }

    /// The checkpoint store, for exports that resume
    /// (`client.jobs(family).checkpointed(fleet.checkpoint_store(), name)`).
    pub fn checkpoint_store(&self) -> Arc<dyn genesys_cloud_core::CheckpointStore> {
        self.tokens.clone()
    }

    /// The rate store, for a transport (`TransportBuilder::rate_store`).
    pub fn rate_store(&self) -> Arc<dyn RateStore> {
        self.tokens.clone()
    }

    /// The channel leases, for a notification listener
    /// ([`Notifications::leases`](genesys_cloud_notifications::Notifications::leases); with
    /// the facade, `ClientBuilder::fleet` sets it for `client.notification_service()`).
    #[cfg(feature = "notifications")]
    #[cfg_attr(docsrs, doc(cfg(feature = "notifications")))]
    pub fn channel_leases(&self) -> Arc<dyn genesys_cloud_notifications::ChannelLeases> {
        self.tokens.clone()
    }

    /// What the Redis store has done so far: calls answered, calls failed.
    pub fn stats(&self) -> StoreStats {
        self.tokens.stats()
    }
}
