//! The listener: subscriptions as streams, each kept alive by one worker task per channel
//! ([`crate::worker`]), and the channel budget a client's subscriptions share.

use crate::item::{ConnectionEvent, Item};
use crate::queue::Queue;
use crate::topic::Topic;
use crate::worker::{Setup, Worker, SHUTDOWN_LIMIT};
use futures_util::Stream;
use genesys_cloud_core::{Error, SharedExecutor};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
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

/// How a [`Notifications`] listener behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "options do nothing until they are given to a listener"]
pub struct Options {
    /// Events buffered for a slow consumer; past it, events are counted and dropped
    /// ([`Item::Lost`]). Connection changes, gaps and states are never dropped. Default 1,024.
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
    /// [`Item::Resync`]. Default on.
    pub resync: bool,
    /// How many of those fetches run at once. Default 4.
    pub resync_concurrency: usize,
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
/// Every [`Notifications`] made from one client (and every clone) shares one: the service
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

    fn reserve(self: &Arc<Self>, channels: usize) -> Result<Reservation, Error> {
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
struct Reservation {
    budget: Arc<ChannelBudget>,
    channels: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut in_use = self.budget.in_use.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *in_use = in_use.saturating_sub(self.channels);
    }
}

/// The notification service of one client: subscriptions as streams of typed events.
///
/// Channel and subscription calls go through the client's executor (the generated
/// Notifications operations), so its tokens, retries, pacing and logging apply. Clones share
/// one [`ChannelBudget`].
#[derive(Clone)]
pub struct Notifications {
    executor: SharedExecutor,
    options: Options,
    budget: Arc<ChannelBudget>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Notifications {
    /// Notifications through `executor` (a client's: `client.executor()`), default options.
    pub fn new(executor: SharedExecutor) -> Self {
        Self::with_options(executor, Options::default())
    }

    /// Notifications with `options`.
    pub fn with_options(executor: SharedExecutor, options: Options) -> Self {
        Self { executor, options, budget: Arc::default() }
    }

    /// Counts channels in `budget` (the one of the client this listener belongs to), shared
    /// with every other listener given it.
    pub fn budget(mut self, budget: Arc<ChannelBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// The channel budget this listener counts in.
    pub fn channel_budget(&self) -> Arc<ChannelBudget> {
        self.budget.clone()
    }

    /// Subscribes to `topics` on channels of their own and returns the stream of their
    /// events. More than [`TOPICS_PER_CHANNEL`] topics are spread over as many channels as
    /// they need; the client's subscriptions hold at most [`CHANNELS_IN_USE`] channels at once
    /// (past that, a build error: the service would replace a channel in use). It is
    /// connected and subscribed when this returns (a refused topic is an error here); from
    /// then on it heals itself. Dropping the stream closes the sockets and removes the
    /// subscriptions.
    pub async fn subscribe(&self, topics: impl IntoIterator<Item = Topic>) -> Result<Subscription, Error> {
        let mut topics: Vec<Topic> = topics.into_iter().collect();
        topics.sort();
        topics.dedup();
        if topics.is_empty() {
            return Err(Error::build("subscribe to at least one topic"));
        }
        let channels = topics.len().div_ceil(TOPICS_PER_CHANNEL);
        let reservation = self.budget.reserve(channels)?;
        let shared = Arc::new(Shared { channels: std::sync::Mutex::new(vec![String::new(); channels]) });
        let queue = Arc::new(Queue::new(self.options.buffer, channels));
        let mut ready = Vec::new();
        for (index, chunk) in topics.chunks(TOPICS_PER_CHANNEL).enumerate() {
            let setup = Setup { executor: self.executor.clone(), options: self.options.clone(), topics: chunk.into() };
            let channel = setup.open_channel().await?;
            let socket = setup.connect(&channel).await?;
            let worker = Worker::new(setup, queue.clone(), shared.clone(), self.budget.clone(), index);
            worker.set_channel(&channel.id);
            ready.push((worker, channel, socket));
        }
        let mut tasks = Vec::new();
        for (worker, channel, socket) in ready {
            queue.control(Item::Connection(ConnectionEvent::Connected { channel: channel.id.clone() }));
            tracing::info!(channel = %channel.id, "notifications connected");
            tasks.push(tokio::spawn(worker.run(channel, socket)));
        }
        Ok(Subscription { queue, tasks, shared, _reservation: reservation })
    }
}

pub(crate) struct Shared {
    /// The channel in use by each worker.
    pub(crate) channels: std::sync::Mutex<Vec<String>>,
}

/// What a subscription's sockets have carried so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StreamStats {
    /// Events read from the sockets (the copies a handover drops included).
    pub received: u64,
    /// Events dropped for a slow consumer (told as [`Item::Lost`]).
    pub dropped: u64,
    /// Copies of events dropped at a handover (delivered once from the old socket).
    pub duplicates: u64,
}

/// The stream of one subscription ([`Item`]s). Dropping it closes the sockets and removes
/// the subscriptions; [`close`](Subscription::close) does so and waits for it.
pub struct Subscription {
    queue: Arc<Queue>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
    _reservation: Reservation,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("channels", &self.channel_ids()).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The next item (`None` once the stream has ended): the stream's `next()` with no trait
    /// to import.
    pub async fn next(&mut self) -> Option<Item> {
        std::future::poll_fn(|cx| self.queue.poll_next(cx)).await
    }

    /// The (first) channel in use now.
    pub fn channel_id(&self) -> String {
        self.channel_ids().into_iter().next().unwrap_or_default()
    }

    /// Every channel in use now (one per [`TOPICS_PER_CHANNEL`] topics).
    pub fn channel_ids(&self) -> Vec<String> {
        self.shared.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// What the sockets have carried so far.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            received: self.queue.received.load(Ordering::Relaxed),
            dropped: self.queue.dropped.load(Ordering::Relaxed),
            duplicates: self.queue.duplicates.load(Ordering::Relaxed),
        }
    }

    /// Closes the sockets, removes the subscriptions, and waits until both are done, or at
    /// most a few seconds when the service does not answer (the workers are then stopped).
    pub async fn close(mut self) {
        self.queue.close();
        for mut task in std::mem::take(&mut self.tasks) {
            if tokio::time::timeout(SHUTDOWN_LIMIT + Duration::from_secs(2), &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

impl Stream for Subscription {
    type Item = Item;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.queue.poll_next(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The workers see the consumer gone, remove the subscriptions and close the sockets.
        self.queue.close();
    }
}
