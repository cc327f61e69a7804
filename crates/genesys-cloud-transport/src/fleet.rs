//! One rate governor across the processes of a fleet: the [`RateStore`] where they take their
//! turns, and how the pace layer asks it after its own pacing.
//!
//! Each process paces its tokens on its own ([`PaceLayer`](crate::PaceLayer)); with a rate store
//! an attempt also takes the fleet's next turn of its token's budget (as the token's answers
//! state it: `inin-ratelimit-allowed` per window) and of the OAuth client's budget across its
//! tokens, when the store has one. Turns are handed out in order; a turn further off than the
//! call's deadline is not taken, and the call fails at once with a timeout. A 429 with
//! `Retry-After` holds the token's turns for the whole fleet. The store failing or taking
//! longer than 500 ms leaves the attempt to the local pacing, logged and counted.

use crate::layers::Deadline;
use genesys_cloud_core::http::HeaderValue;
use genesys_cloud_core::{BoxFuture, Error, ErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Where the processes of a fleet take turns at the budgets they share. The
/// `genesys-cloud-fleet` crate implements it over Redis.
///
/// A bucket is a budget of `allowed` requests in any stretch of `window`. Everything a store
/// keeps has an expiry, so a process that dies leaves nothing held.
pub trait RateStore: Send + Sync + 'static {
    /// Takes the next turn in every bucket of `buckets` (name, allowed, window) at once, in
    /// order of asking: how long from now the turn comes (zero: now). A turn further off
    /// than `max_wait` is not taken (`None`).
    fn reserve<'a>(
        &'a self,
        buckets: &'a [(String, u32, Duration)],
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, Error>>;

    /// Holds every turn of `bucket` for `wait` (a 429's `Retry-After`), unless it is held
    /// longer already.
    fn hold<'a>(&'a self, bucket: &'a str, wait: Duration) -> BoxFuture<'a, Result<(), Error>>;

    /// The OAuth client's budget across its tokens, when the fleet keeps one: requests per
    /// window (the platform's `org.app.user.rate.per.minute` is 3,000 a minute).
    fn client_budget(&self) -> Option<(u32, Duration)> {
        None
    }
}

/// What the fleet's rate governor has done for one client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FleetPaceStats {
    /// Turns taken from the store.
    pub turns: u64,
    /// Turns that were not now: the attempt waited for them.
    pub waited: u64,
    /// Those waits, added up.
    pub waited_for: Duration,
    /// 429s whose `Retry-After` held the token's turns for the fleet.
    pub holds: u64,
    /// Times the store failed or was too slow and the attempt went on with local pacing.
    pub fallbacks: u64,
}

/// How long a store call may take before the attempt goes on without it.
const STORE_CALL_LIMIT: Duration = Duration::from_millis(500);

/// Added to a token's window: an attempt sent at its turn reaches the server a little later,
/// and not always by the same delay.
const WINDOW_GUARD: Duration = Duration::from_millis(100);

/// The longest a turn is waited for when the call has no deadline.
const NO_DEADLINE_WAIT: Duration = Duration::from_secs(300);

/// A client's link to the fleet's governor.
pub(crate) struct FleetPace {
    store: Arc<dyn RateStore>,
    /// `genesys:{namespace}:{login host}:{client id}:rate`.
    prefix: String,
    turns: AtomicU64,
    waited: AtomicU64,
    waited_nanos: AtomicU64,
    holds: AtomicU64,
    fallbacks: AtomicU64,
}

impl FleetPace {
    pub(crate) fn new(store: Arc<dyn RateStore>, prefix: String) -> Self {
        Self {
            store,
            prefix,
            turns: AtomicU64::new(0),
            waited: AtomicU64::new(0),
            waited_nanos: AtomicU64::new(0),
            holds: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
        }
    }

    pub(crate) fn stats(&self) -> FleetPaceStats {
        FleetPaceStats {
            turns: self.turns.load(Ordering::Relaxed),
            waited: self.waited.load(Ordering::Relaxed),
            waited_for: Duration::from_nanos(self.waited_nanos.load(Ordering::Relaxed)),
            holds: self.holds.load(Ordering::Relaxed),
            fallbacks: self.fallbacks.load(Ordering::Relaxed),
        }
    }

    /// The bucket of a token: a hash of its `Authorization` header (the same in every process,
    /// never the token).
    fn token_bucket(&self, authorization: &HeaderValue) -> String {
        use sha2::Digest as _;
        let digest = sha2::Sha256::digest(authorization.as_bytes());
        let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        format!("{}:token:{hex}", self.prefix)
    }

    fn fall_back(&self, e: &Error) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = %e, "the fleet's rate store failed: this attempt is paced by this process alone");
    }

    /// Waits for the fleet's turn of the token in `authorization` (whose budget its answers
    /// stated as `learned`, when they have) and of the client's budget. Fails at once with a
    /// timeout when the turn is past the call's `deadline`.
    pub(crate) async fn turn(
        &self,
        authorization: Option<&HeaderValue>,
        learned: Option<(u32, Duration)>,
        deadline: Option<Deadline>,
    ) -> Result<(), Error> {
        let mut buckets = Vec::with_capacity(2);
        if let (Some(header), Some((allowed, window))) = (authorization, learned) {
            buckets.push((self.token_bucket(header), allowed, window + WINDOW_GUARD));
        }
        if let Some((allowed, window)) = self.store.client_budget() {
            buckets.push((format!("{}:client", self.prefix), allowed, window + WINDOW_GUARD));
        }
        if buckets.is_empty() {
            return Ok(());
        }
        let max_wait = deadline.map_or(NO_DEADLINE_WAIT, |d| d.at.saturating_duration_since(Instant::now()));
        let reserved = match tokio::time::timeout(STORE_CALL_LIMIT, self.store.reserve(&buckets, max_wait)).await {
            Ok(Ok(reserved)) => reserved,
            Ok(Err(e)) => {
                self.fall_back(&e);
                return Ok(());
            }
            Err(_) => {
                self.fall_back(&Error::new(ErrorKind::Timeout, "no answer within 500ms"));
                return Ok(());
            }
        };
        self.turns.fetch_add(1, Ordering::Relaxed);
        match reserved {
            Some(wait) if wait.is_zero() => Ok(()),
            Some(wait) => {
                self.waited.fetch_add(1, Ordering::Relaxed);
                self.waited_nanos.fetch_add(wait.as_nanos().min(u64::MAX as u128) as u64, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the fleet's rate budget has no turn for this call within its time limit ({:?} left)",
                    max_wait
                ),
            )),
        }
    }

    /// A 429 with `Retry-After`: the token's turns are held for the fleet.
    pub(crate) async fn hold(&self, authorization: Option<&HeaderValue>, wait: Duration) {
        let Some(header) = authorization else { return };
        let bucket = self.token_bucket(header);
        match tokio::time::timeout(STORE_CALL_LIMIT, self.store.hold(&bucket, wait)).await {
            Ok(Ok(())) => {
                self.holds.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(e)) => self.fall_back(&e),
            Err(_) => self.fall_back(&Error::new(ErrorKind::Timeout, "no answer within 500ms")),
        }
    }
}
