//! The listener: subscriptions as streams, each kept alive by one worker task per channel
//! ([`crate::worker`]).

use crate::item::{ConnectionEvent, Item};
use crate::lease::{ChannelGrant, ChannelLeases, Leasing};
use crate::options::{ChannelBudget, Options, Reservation, Shared, TOPICS_PER_CHANNEL};
use crate::queue::Queue;
use crate::topic::Topic;
use crate::worker::{LeaseKeeping, Setup, Worker, SHUTDOWN_LIMIT};
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
    pub(crate) executor: SharedExecutor,
    options: Options,
    budget: Arc<ChannelBudget>,
    leasing: Option<Leasing>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications")
            .field("options", &self.options)
            .field("leasing", &self.leasing)
            .finish_non_exhaustive()
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
        Self { executor, options, budget: Arc::default(), leasing: None }
    }

    /// Counts channels in `budget` (the one of the client this listener belongs to), shared
    /// with every other listener given it.
    pub fn budget(mut self, budget: Arc<ChannelBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Shares the notification service with the other processes of a fleet through `store`
    /// (the `genesys-cloud-fleet` crate's Redis; with the facade, `ClientBuilder::fleet` sets
    /// it), under `scope` (the fleet's namespace, login host and OAuth client id: the service
    /// counts channels per user and app).
    ///
    /// - **Channels**: the fleet's subscriptions hold at most [`CHANNELS_IN_USE`](crate::CHANNELS_IN_USE)
    ///   channels together, and renew one at a time; past that, `subscribe` fails with an
    ///   error that names the holders. A subscription through a fleet holds one channel (at
    ///   most [`TOPICS_PER_CHANNEL`] topics).
    /// - **Topics**: each topic is leased by one subscription of the fleet at a time, renewed
    ///   every third of [`Options::lease_ttl`]. A subscription carries the topics it asked for
    ///   that no other holds, and takes over the others when their holder's lease lapses (the
    ///   process died, or lost the store): its stream then tells
    ///   [`ConnectionEvent::TopicsLeased`], a [`Gap`](ConnectionEvent::Gap) from before the
    ///   last renewal, and the topics' state ([`Item::Resync`]). To have every process carry
    ///   every topic, [`share_topics`](Self::share_topics).
    /// - **Fail open**: with the store down, a new subscription carries every topic it asked
    ///   for (another process may carry them too), and a running one keeps what it holds;
    ///   both take their part in the leases again when the store answers.
    pub fn leases(mut self, store: Arc<dyn ChannelLeases>, scope: impl Into<String>) -> Self {
        self.leasing =
            Some(Leasing { store, scope: scope.into(), process: crate::lease::process_name(), exclusive: true });
        self
    }

    /// Through a fleet's [`leases`](Self::leases), lets this listener's subscriptions carry
    /// their topics whoever else carries them (they still count in the fleet's channels).
    pub fn share_topics(mut self) -> Self {
        if let Some(leasing) = &mut self.leasing {
            leasing.exclusive = false;
        }
        self
    }

    /// Through a fleet's [`leases`](Self::leases): this process's name among the holders an
    /// error lists (default: `HOSTNAME` and the process id).
    pub fn process_name(mut self, name: impl Into<String>) -> Self {
        if let Some(leasing) = &mut self.leasing {
            leasing.process = name.into();
        }
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
        if let Some(leasing) = &self.leasing {
            return self.subscribe_leased(topics, leasing.clone()).await;
        }
        let chunks = by_channel(&topics);
        let channels = chunks.len();
        let reservation = self.budget.reserve(channels)?;
        let shared = Arc::new(Shared { channels: std::sync::Mutex::new(vec![String::new(); channels]) });
        let queue = Arc::new(Queue::new(self.options.buffer, channels));
        let mut ready = Vec::new();
        let mut sets = Vec::new();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let topics: TopicSet = Arc::new(std::sync::Mutex::new(chunk.into()));
            sets.push(topics.clone());
            let setup = Setup { executor: self.executor.clone(), options: self.options.clone(), topics, lease: None };
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
        Ok(Subscription { queue, tasks, shared, topics: sets, _reservation: reservation })
    }

    /// [`subscribe`](Self::subscribe) through a fleet's leases: one channel place of the
    /// fleet's, the topics no other subscription holds, and a task that renews both and takes
    /// over topics whose leases lapse.
    async fn subscribe_leased(&self, topics: Vec<Topic>, leasing: Leasing) -> Result<Subscription, Error> {
        let weight: usize = topics.iter().map(Topic::weight).sum();
        if weight > TOPICS_PER_CHANNEL {
            return Err(Error::build(format!(
                "a subscription through a fleet holds one channel, at most {TOPICS_PER_CHANNEL} topics (asked for \
                 {weight}, each part of a combined topic counted): subscribe them in parts"
            )));
        }
        let reservation = self.budget.reserve(1)?;
        let holder = crate::lease::subscription_name(&leasing.process);
        let ttl = self.options.lease_ttl;
        let store = leasing.store.clone();
        let take = store.take_channels(&leasing.scope, &holder, 1, crate::CHANNELS_IN_USE, ttl);
        match tokio::time::timeout(STORE_LIMIT, take).await {
            Ok(Ok(ChannelGrant::Granted)) => {}
            Ok(Ok(ChannelGrant::Full { holders })) => {
                return Err(crate::lease::full_error(1, crate::CHANNELS_IN_USE, &holders));
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "notifications: the fleet's leases did not answer; subscribing alone")
            }
            Err(_) => tracing::warn!("notifications: the fleet's leases did not answer in time; subscribing alone"),
        }
        let wanted: Arc<[Topic]> = topics.into();
        let held: Arc<[Topic]> = if leasing.exclusive {
            match claim(&leasing, &holder, &wanted, ttl).await {
                Some(answer) => {
                    wanted.iter().zip(answer).filter(|(_, by)| by.is_none()).map(|(t, _)| t.clone()).collect()
                }
                None => wanted.clone(),
            }
        } else {
            wanted.clone()
        };
        let lease = Arc::new(LeaseKeeping {
            leasing: leasing.clone(),
            holder: holder.clone(),
            change: std::sync::Mutex::new(None),
            changed: tokio::sync::Notify::new(),
        });
        let shared = Arc::new(Shared { channels: std::sync::Mutex::new(vec![String::new()]) });
        let queue = Arc::new(Queue::new(self.options.buffer, 1));
        let set: TopicSet = Arc::new(std::sync::Mutex::new(held.clone()));
        let setup = Setup {
            executor: self.executor.clone(),
            options: self.options.clone(),
            topics: set.clone(),
            lease: Some(lease.clone()),
        };
        let opened = async {
            let channel = setup.open_channel().await?;
            let socket = setup.connect(&channel).await?;
            Ok::<_, Error>((channel, socket))
        };
        let (channel, socket) = match opened.await {
            Ok(opened) => opened,
            Err(e) => {
                let all: Vec<String> = wanted.iter().map(|t| t.as_str().to_owned()).collect();
                let _ = tokio::time::timeout(STORE_LIMIT, store.release(&leasing.scope, &holder, &holder, &all)).await;
                return Err(e);
            }
        };
        let worker = Worker::new(setup, queue.clone(), shared.clone(), self.budget.clone(), 0);
        worker.set_channel(&channel.id);
        queue.control(Item::Connection(ConnectionEvent::Connected { channel: channel.id.clone() }));
        tracing::info!(channel = %channel.id, topics = held.len(), of = wanted.len(), "notifications connected through the fleet");
        let keeper = tokio::spawn(keep_leases(lease, queue.clone(), wanted, held, ttl));
        let tasks = vec![tokio::spawn(worker.run(channel, socket)), keeper];
        Ok(Subscription { queue, tasks, shared, topics: vec![set], _reservation: reservation })
    }
}

/// `topics` spread over channels in order, each holding at most [`TOPICS_PER_CHANNEL`] as the
/// service counts them ([`Topic::weight`]).
fn by_channel(topics: &[Topic]) -> Vec<&[Topic]> {
    let mut chunks = Vec::new();
    let (mut start, mut weight) = (0, 0);
    for (i, topic) in topics.iter().enumerate() {
        if weight + topic.weight() > TOPICS_PER_CHANNEL && i > start {
            chunks.push(&topics[start..i]);
            (start, weight) = (i, 0);
        }
        weight += topic.weight();
    }
    if start < topics.len() {
        chunks.push(&topics[start..]);
    }
    chunks
}

/// The longest one call to a fleet's lease store may take before the listener goes on
/// without it.
const STORE_LIMIT: Duration = Duration::from_secs(2);

/// Claims (or renews) `topics` for `holder`: the holder of each, `None` for ours; `None`
/// when the store failed (a warning).
async fn claim(leasing: &Leasing, holder: &str, topics: &[Topic], ttl: Duration) -> Option<Vec<Option<String>>> {
    let names: Vec<String> = topics.iter().map(|t| t.as_str().to_owned()).collect();
    match tokio::time::timeout(STORE_LIMIT, leasing.store.claim_topics(&leasing.scope, holder, &names, ttl)).await {
        Ok(Ok(answer)) if answer.len() == names.len() => Some(answer),
        Ok(Ok(_)) => {
            tracing::warn!("notifications: the fleet's leases answered for other topics; keeping what is held");
            None
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "notifications: the fleet's leases did not answer; keeping what is held");
            None
        }
        Err(_) => {
            tracing::warn!("notifications: the fleet's leases did not answer in time; keeping what is held");
            None
        }
    }
}

/// Renews a fleet subscription's channel place and topic leases every third of `ttl`, takes
/// over wanted topics whose leases lapsed, and tells the worker when what it holds changes.
/// Gives everything up when the consumer leaves.
async fn keep_leases(
    lease: Arc<LeaseKeeping>,
    queue: Arc<Queue>,
    wanted: Arc<[Topic]>,
    mut held: Arc<[Topic]>,
    ttl: Duration,
) {
    let leasing = &lease.leasing;
    let holder = &lease.holder;
    // When each wanted topic was last seen held by another subscription: its events may be
    // missed from a lease's time to live before that, should its holder be gone.
    let now = chrono::Utc::now();
    let mut seen_held: std::collections::HashMap<Topic, chrono::DateTime<chrono::Utc>> =
        wanted.iter().filter(|t| !held.contains(t)).map(|t| (t.clone(), now)).collect();
    let every = ttl / 3;
    loop {
        tokio::select! {
            () = queue.closed() => break,
            () = tokio::time::sleep(every) => {}
        }
        let take = leasing.store.take_channels(&leasing.scope, holder, 1, crate::CHANNELS_IN_USE, ttl);
        let taken = tokio::select! {
            () = queue.closed() => break,
            taken = tokio::time::timeout(STORE_LIMIT, take) => taken,
        };
        match taken {
            Ok(Ok(ChannelGrant::Granted)) => {}
            Ok(Ok(ChannelGrant::Full { .. })) => {
                // The place lapsed (the store was away) and others took the budget meanwhile:
                // the channel stays, as the service still counts it.
                tracing::warn!("notifications: the fleet's channels are all held; this one's place lapsed");
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "notifications: the fleet's channel place was not renewed"),
            Err(_) => tracing::warn!("notifications: the fleet's channel place was not renewed in time"),
        }
        if !leasing.exclusive {
            continue;
        }
        let answer = tokio::select! {
            () = queue.closed() => break,
            answer = claim(leasing, holder, &wanted, ttl) => answer,
        };
        let Some(answer) = answer else { continue };
        let now = chrono::Utc::now();
        let mut now_held = Vec::new();
        for (topic, by) in wanted.iter().zip(answer) {
            match by {
                None => now_held.push(topic.clone()),
                Some(_) => {
                    seen_held.insert(topic.clone(), now);
                }
            }
        }
        let now_held: Arc<[Topic]> = now_held.into();
        if now_held == held {
            continue;
        }
        let taken_from = now_held
            .iter()
            .filter(|t| !held.contains(t))
            .filter_map(|t| seen_held.get(t))
            .min()
            .copied()
            .unwrap_or(now);
        let ttl = chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX);
        let gap_from = taken_from.checked_sub_signed(ttl).unwrap_or(taken_from);
        {
            let mut change = lease.change.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            // A change the worker has not taken yet: its gap starts at the earlier time.
            let gap_from = change.as_ref().map_or(gap_from, |(_, earlier)| gap_from.min(*earlier));
            *change = Some((now_held.clone(), gap_from));
        }
        lease.changed.notify_one();
        held = now_held;
    }
    let all: Vec<String> = wanted.iter().map(|t| t.as_str().to_owned()).collect();
    let release = leasing.store.release(&leasing.scope, holder, holder, &all);
    if tokio::time::timeout(STORE_LIMIT, release).await.is_err() {
        tracing::warn!("notifications: the fleet's leases were not given up in time (they lapse by themselves)");
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
    /// Each channel's topics now.
    topics: Vec<TopicSet>,
    _reservation: Reservation,
}

/// A channel's topics, shared by its worker's setups.
type TopicSet = Arc<std::sync::Mutex<Arc<[Topic]>>>;

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

    /// The topics the stream carries now: every topic asked for, or, through a fleet's
    /// [`leases`](Notifications::leases), those this subscription holds.
    pub fn topics(&self) -> Vec<Topic> {
        self.topics
            .iter()
            .flat_map(|set| set.lock().unwrap_or_else(std::sync::PoisonError::into_inner).to_vec())
            .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserPart;

    #[test]
    fn channels_hold_1000_topics_as_the_service_counts_them() {
        let combined: Vec<Topic> = (0..600)
            .map(|n| Topic::user_combined(&format!("u{n}"), &[UserPart::Presence, UserPart::RoutingStatus]).unwrap())
            .collect();
        let chunks = by_channel(&combined);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [500, 100], "two topics each");
        let plain: Vec<Topic> = (0..1500).map(|n| Topic::raw(format!("v2.users.u{n}.presence"))).collect();
        assert_eq!(by_channel(&plain).iter().map(|c| c.len()).collect::<Vec<_>>(), [1000, 500]);
        assert!(by_channel(&[]).is_empty());
    }
}
