//! What a listener is given: its options, the channel budget a client's subscriptions share,
//! and the state its workers share with the stream. Used by the listener and its workers.

use genesys_cloud_core::Error;
use std::sync::Arc;
use std::time::Duration;

/// Topics one channel can hold (the service refuses more with a 400).
pub const TOPICS_PER_CHANNEL: usize = 1_000;

/// Channels one user and app can hold: past this the service replaces the oldest channel
/// without a connection (or, when all are connected, the oldest).
pub const CHANNELS_PER_CLIENT: usize = 20;

/// The channels a client's subscriptions may hold at once: one fewer than the service allows,
/// so a renewal (which opens the new channel before it leaves the old one) never makes the
/// service evict a channel in use.
pub const CHANNELS_IN_USE: usize = CHANNELS_PER_CLIENT - 1;

/// How a [`Notifications`](crate::Notifications) listener behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "options do nothing until they are given to a listener"]
pub struct Options {
    /// Events buffered for a slow consumer; past it, events are counted and dropped
    /// ([`Item::Lost`](crate::Item::Lost)). Connection changes, gaps and states are never dropped. Default 1,024.
    pub buffer: usize,
    /// With no message for this long, the listener sends a ping. Default 35 s: the service
    /// sends a heartbeat every 30 s, so a quiet socket past that has missed one.
    pub ping_after: Duration,
    /// And with no answer to the ping within this much more, the socket is taken for dead and
    /// replaced. Default 10 s: 45 s in all, a heartbeat and a ping missed.
    pub pong_within: Duration,
    /// Reconnection backoff: full jitter between zero and `min(backoff_max, backoff_base ×
    /// 2^attempt)`. Defaults 250 ms and 30 s.
    pub backoff_base: Duration,
    /// See [`backoff_base`](Self::backoff_base).
    pub backoff_max: Duration,
    /// Move to a new channel this long before the channel's `expires` (24 hours after it was
    /// made). Default 10 minutes.
    pub renew_before: Duration,
    /// TLS for `wss://` sockets (the client's roots and identity).
    pub tls: genesys_cloud_transport::TlsConfig,
    /// The proxy the socket goes through (a CONNECT tunnel, as the client's requests do;
    /// `NO_PROXY` applies). Default none.
    pub proxy: Option<genesys_cloud_transport::Proxy>,
    /// How long connecting the socket may take: the TCP connection (or the proxy's tunnel),
    /// TLS and the WebSocket handshake together. Default 10 s.
    pub connect_timeout: Duration,
    /// After a gap, fetch the state of every topic with a REST counterpart and yield it as
    /// [`Item::Resync`](crate::Item::Resync). Default on.
    pub resync: bool,
    /// How many of those fetches run at once. Default 4.
    pub resync_concurrency: usize,
    /// Through a fleet's leases ([`Notifications::leases`](crate::Notifications::leases)):
    /// how long a subscription's channel place and topics stay its own without renewal. They
    /// are renewed every third of it; a process that dies gives its topics up to another this
    /// long after its last renewal at most. Default 30 s.
    pub lease_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            buffer: 1024,
            ping_after: Duration::from_secs(35),
            pong_within: Duration::from_secs(10),
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
            renew_before: Duration::from_secs(600),
            tls: genesys_cloud_transport::TlsConfig::default(),
            proxy: None,
            connect_timeout: Duration::from_secs(10),
            resync: true,
            resync_concurrency: 4,
            lease_ttl: Duration::from_secs(30),
        }
    }
}

impl Options {
    /// Sets [`buffer`](Self::buffer) (at least 1).
    pub fn buffer(mut self, items: usize) -> Self {
        self.buffer = items.max(1);
        self
    }
    /// Sets [`ping_after`](Self::ping_after) and [`pong_within`](Self::pong_within).
    pub fn heartbeat(mut self, ping_after: Duration, pong_within: Duration) -> Self {
        self.ping_after = ping_after;
        self.pong_within = pong_within;
        self
    }
    /// Sets the reconnection backoff.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_max = max;
        self
    }
    /// Sets [`renew_before`](Self::renew_before).
    pub fn renew_before(mut self, before: Duration) -> Self {
        self.renew_before = before;
        self
    }
    /// Sets [`resync`](Self::resync).
    pub fn resync(mut self, on: bool) -> Self {
        self.resync = on;
        self
    }
    /// Sets [`resync_concurrency`](Self::resync_concurrency) (at least 1).
    pub fn resync_concurrency(mut self, fetches: usize) -> Self {
        self.resync_concurrency = fetches.max(1);
        self
    }
    /// Sets [`lease_ttl`](Self::lease_ttl) (at least 300 ms).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(300));
        self
    }
    /// Sets [`proxy`](Self::proxy).
    pub fn proxy(mut self, proxy: Option<genesys_cloud_transport::Proxy>) -> Self {
        self.proxy = proxy;
        self
    }
    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, tls: genesys_cloud_transport::TlsConfig) -> Self {
        self.tls = tls;
        self
    }
}

/// The channels a client's subscriptions hold, against [`CHANNELS_IN_USE`], and the one
/// renewal at a time that the last channel of the service's 20 is kept for.
///
/// Every [`Notifications`](crate::Notifications) made from one client (and every clone) shares one: the service
/// counts channels per user and app (OAuth client), not per subscription. Processes of the
/// same user and app share the service's budget too, which no budget in one process can see.
#[derive(Debug)]
pub struct ChannelBudget {
    in_use: std::sync::Mutex<usize>,
    renewing: Arc<tokio::sync::Semaphore>,
}

impl Default for ChannelBudget {
    fn default() -> Self {
        Self { in_use: std::sync::Mutex::new(0), renewing: Arc::new(tokio::sync::Semaphore::new(1)) }
    }
}

impl ChannelBudget {
    /// The channels in use now.
    pub fn in_use(&self) -> usize {
        *self.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn reserve(self: &Arc<Self>, channels: usize) -> Result<Reservation, Error> {
        let mut in_use = self.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *in_use + channels > CHANNELS_IN_USE {
            return Err(Error::build(format!(
                "the subscription needs {channels} channels and this client's subscriptions hold {} already: at most \
                 {CHANNELS_IN_USE} at once (the service allows {CHANNELS_PER_CLIENT} per user and app, and one is kept \
                 for renewals)",
                *in_use
            )));
        }
        *in_use += channels;
        Ok(Reservation { budget: self.clone(), channels })
    }

    /// The one renewal at a time of this client (ends when the budget's semaphore is gone,
    /// which it never is while a worker holds the budget).
    pub(crate) async fn renewal(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.renewing.clone().acquire_owned().await.ok()
    }
}

/// Channels taken from a [`ChannelBudget`], given back on drop.
pub(crate) struct Reservation {
    budget: Arc<ChannelBudget>,
    channels: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_use = self.budget.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *in_use = in_use.saturating_sub(self.channels);
    }
}

/// What the workers of one subscription share with its stream.
pub(crate) struct Shared {
    /// The channel in use by each worker.
    pub(crate) channels: std::sync::Mutex<Vec<String>>,
}
