//! The listener: subscriptions as streams, each kept alive by one worker task per channel
//! ([`crate::worker`]).

use crate::item::{ConnectionEvent, Item};
use crate::options::{ChannelBudget, Options, Reservation, Shared, TOPICS_PER_CHANNEL};
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
    /// Notifications through `executor` (a transport: `Arc::new(transport)`; with the facade,
    /// `client.notification_service()`), default options.
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
    /// they need; the client's subscriptions hold at most [`CHANNELS_IN_USE`](crate::CHANNELS_IN_USE) channels at once
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
