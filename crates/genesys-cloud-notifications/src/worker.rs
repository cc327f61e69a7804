//! One channel's worker: its socket read until something ends it, reconnects, handovers to a
//! new channel, and the resync after a gap or a loss.
//!
//! Every wait here ends: the socket's connection and handshakes are bounded by
//! [`Options::connect_timeout`], the REST calls by the client's timeouts, the handover by
//! [`HANDOVER_LIMIT`], a shutdown by [`SHUTDOWN_LIMIT`]; and every wait also ends when the
//! consumer leaves.

use crate::api::Api;
use crate::event::{decode_message, decode_one_pass, envelope, DecodeFailure};
use crate::item::{ConnectionEvent, Item};
use crate::lease::Leasing;
use crate::options::{ChannelBudget, Options, Shared};
use crate::queue::{Delivery, Queue};
use crate::resync::{Fetch, Resync};
use crate::topic::Topic;
use chrono::{DateTime, Utc};
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use genesys_cloud_api::Tags as _;
use genesys_cloud_core::{Error, ErrorKind, SharedExecutor};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest a handover reads the old socket beside the new one before leaving it.
pub(crate) const HANDOVER_LIMIT: Duration = Duration::from_secs(30);

/// The longest a shutdown waits for the subscriptions' removal and the socket's close.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// With nothing in flight, a handover leaves the old socket once it has been quiet this long
/// with the new one up (an event sent before the new subscription may still be on its way).
const HANDOVER_SETTLE: Duration = Duration::from_millis(200);

/// A gap starts this long before the lost socket's last frame: events sent just before that
/// frame arrived may have been on their way still.
pub(crate) const GAP_MARGIN: Duration = Duration::from_secs(1);

/// The most events held back at once: the new socket's during a handover, and those of topics
/// whose state is being fetched again. Past it, a handover ends early, and a held topic's
/// events are dropped (reported as [`Item::Lost`]) and its state fetched again.
const HOLD_LIMIT: usize = 16_384;

/// The most events of the old socket remembered during a handover, to drop their copies on
/// the new one.
const OVERLAP_KEYS: usize = 65_536;

/// A channel of the service.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub(crate) id: String,
    connect_uri: String,
    /// When to move to a new channel.
    renew_at: Option<Instant>,
}

/// What a worker needs to open and connect a channel, apart from the worker itself (so a new
/// channel can be set up while the worker reads the old socket).
#[derive(Clone)]
pub(crate) struct Setup {
    pub(crate) executor: SharedExecutor,
    pub(crate) options: Options,
    /// The channel's topics: fixed, or (through a fleet) those whose leases the subscription
    /// holds now; shared by every clone.
    pub(crate) topics: Arc<std::sync::Mutex<Arc<[Topic]>>>,
    /// Through a fleet: the leases of the subscription.
    pub(crate) lease: Option<Arc<LeaseKeeping>>,
}

/// The topics a fleet subscription holds now, and from when events of those newly taken may
/// have been missed.
pub(crate) type LeaseChange = (Arc<[Topic]>, DateTime<Utc>);

/// What a fleet subscription's worker shares with the task that keeps its leases.
pub(crate) struct LeaseKeeping {
    pub(crate) leasing: Leasing,
    /// The subscription's name among the holders.
    pub(crate) holder: String,
    /// The topics the keeper holds now, and from when events of those newly taken may have
    /// been missed; set by the keeper, taken by the worker.
    pub(crate) change: std::sync::Mutex<Option<LeaseChange>>,
    /// Rung when `change` is set.
    pub(crate) changed: tokio::sync::Notify,
}

impl Setup {
    fn api(&self) -> Api {
        Api(self.executor.clone())
    }

    /// The channel's topics now.
    pub(crate) fn topics(&self) -> Arc<[Topic]> {
        self.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A new channel with every topic subscribed.
    pub(crate) async fn open_channel(&self) -> Result<Channel, Error> {
        let made = self.api().notifications().post_notifications_channels().send().await?;
        let (Some(id), Some(connect_uri)) = (made.id.clone(), made.connect_uri.clone()) else {
            return Err(Error::new(ErrorKind::Decode, "the new channel has no id or connectUri"));
        };
        let renew_at = made.expires.and_then(|at| {
            let left = (at - chrono::Utc::now()).to_std().ok()?;
            Some(Instant::now() + left.saturating_sub(self.options.renew_before))
        });
        let channel = Channel { id, connect_uri, renew_at };
        self.subscribe_all(&channel).await?;
        Ok(channel)
    }

    async fn subscribe_all(&self, channel: &Channel) -> Result<(), Error> {
        self.subscribe_on(&channel.id).await
    }

    /// Puts the channel's topics now as the subscriptions of channel `id`.
    async fn subscribe_on(&self, id: &str) -> Result<(), Error> {
        let body: Vec<models::ChannelTopic> = self
            .topics()
            .iter()
            .map(|t| models::ChannelTopic::default().with(|c| c.id = Some(t.as_str().to_owned())))
            .collect();
        self.api().notifications().put_notifications_channel_subscriptions(id.to_owned(), body).send().await?;
        Ok(())
    }

    /// The channel's socket: TCP (or the proxy's tunnel), TLS and the WebSocket handshake, all
    /// within [`Options::connect_timeout`].
    pub(crate) async fn connect(&self, channel: &Channel) -> Result<Socket, Error> {
        let limit = self.options.connect_timeout;
        match tokio::time::timeout(limit, self.connect_unbounded(channel)).await {
            Ok(connected) => connected,
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!("the notification socket was not connected within {limit:?} (connection and handshakes)"),
            )),
        }
    }

    async fn connect_unbounded(&self, channel: &Channel) -> Result<Socket, Error> {
        let uri: tokio_tungstenite::tungstenite::http::Uri = channel
            .connect_uri
            .parse()
            .map_err(|e| Error::new(ErrorKind::Connect, format!("connectUri {:?}: {e}", channel.connect_uri)))?;
        let host = uri.host().ok_or_else(|| Error::new(ErrorKind::Connect, "connectUri has no host"))?.to_owned();
        let tls = uri.scheme_str() == Some("wss");
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let options = &self.options;
        let stream =
            genesys_cloud_transport::connect_tcp(options.proxy.as_ref(), &host, port, tls, options.connect_timeout)
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Connect, format!("notification socket: {}", e.message())).with_source(e)
                })?;
        let connector = if tls {
            let config = options.tls.client_config()?;
            Some(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
        } else {
            Some(tokio_tungstenite::Connector::Plain)
        };
        let (socket, _) =
            tokio_tungstenite::client_async_tls_with_config(channel.connect_uri.as_str(), stream, None, connector)
                .await
                .map_err(|e| {
                    Error::new(ErrorKind::Connect, format!("notification socket handshake: {e}")).with_source(e)
                })?;
        Ok(socket)
    }

    async fn open_and_connect(self) -> Result<(Channel, Socket), Error> {
        let channel = self.open_channel().await?;
        let socket = self.connect(&channel).await?;
        Ok((channel, socket))
    }

    /// Removes the subscriptions of `channel` (best effort, bounded).
    async fn unsubscribe(&self, channel: &str) {
        let remove = self.api().notifications().delete_notifications_channel_subscriptions(channel.to_owned()).send();
        if tokio::time::timeout(SHUTDOWN_LIMIT, remove).await.is_err() {
            tracing::warn!(channel, "notifications: the subscriptions' removal did not answer in time");
        }
    }
}

/// One text message of the socket, read.
enum Read {
    /// A heartbeat, a pong, or nothing the listener knows: only a sign of life.
    Alive,
    /// The socket must be left.
    End(Ended),
    /// An event: its topic, the key of its text (for a handover's duplicates), the item.
    Event { topic: String, key: u64, item: Item },
}

/// Why a socket's loop stopped.
pub(crate) enum Ended {
    /// The consumer is gone.
    Shutdown,
    /// The socket was lost, or stopped delivering; `last` is its last sign of life.
    Lost { why: String, last: DateTime<Utc>, new_channel: bool },
    /// The channel must be replaced while its socket still works (`socket_closing`, its end).
    NewChannel(String),
}

/// What a message of a control topic does: `Some(None)` is only a sign of life (heartbeats
/// and pongs), `Some(Some(_))` ends the socket; `None`: an event topic.
fn control(topic: &str) -> Option<Option<Ended>> {
    let lost = |why: &str, new_channel| Ended::Lost { why: why.into(), last: Utc::now(), new_channel };
    match topic {
        "channel.metadata" => Some(None),
        "v2.system.socket_closing" => Some(Some(Ended::NewChannel("socket_closing".into()))),
        // The service may stop delivering on a revoked channel at once: a possible loss.
        t if t.starts_with("v2.system.token_revoked") => Some(Some(lost("the token was revoked", true))),
        t if t.starts_with("v2.system.no_longer_subscribed") => Some(Some(lost("no longer subscribed", false))),
        _ => None,
    }
}

fn read(text: &str) -> Read {
    let key = {
        let mut h = std::hash::DefaultHasher::new();
        text.hash(&mut h);
        h.finish()
    };
    if let Some(decoded) = decode_one_pass(text.as_bytes()) {
        if let Some(control) = control(&decoded.topic) {
            return control.map_or(Read::Alive, Read::End);
        }
        let topic = decoded.topic.clone();
        return Read::Event { topic, key, item: Item::Event(decoded.into_event()) };
    }
    let Ok(m) = envelope(text.as_bytes()) else {
        tracing::debug!("notifications: a message that is not an event was skipped");
        return Read::Alive;
    };
    if let Some(control) = control(&m.topic) {
        return control.map_or(Read::Alive, Read::End);
    }
    let topic = m.topic.to_owned();
    match decode_message(m) {
        Ok(event) => Read::Event { topic, key, item: Item::Event(event) },
        Err(DecodeFailure::Body(u)) => Read::Event { topic, key, item: Item::Undecodable(u) },
        Err(DecodeFailure::Envelope(_)) => Read::Alive,
    }
}

/// A resync in progress: the fetches, the topics whose state has not come yet, and their
/// events held back until it has.
struct ResyncRun {
    fetches: Pin<Box<dyn Stream<Item = Resync> + Send>>,
    pending: HashSet<String>,
    held: VecDeque<(String, Item)>,
    /// Topics whose held events were dropped: fetched again after this run.
    again: HashSet<String>,
}

pub(crate) struct Worker {
    setup: Setup,
    queue: Arc<Queue>,
    shared: Arc<Shared>,
    budget: Arc<ChannelBudget>,
    /// This worker's place in `shared.channels`.
    index: usize,
    /// The fetches of a resync, one per event topic with a REST counterpart.
    plan: Vec<(String, Fetch)>,
    resync: Option<ResyncRun>,
    /// After a handover: the old socket's events not yet seen again on the new one.
    overlap: Option<HashMap<u64, u32>>,
    /// Losses told to the consumer so far (each starts a resync).
    losses_seen: u64,
}

impl Worker {
    pub(crate) fn new(
        setup: Setup,
        queue: Arc<Queue>,
        shared: Arc<Shared>,
        budget: Arc<ChannelBudget>,
        index: usize,
    ) -> Self {
        let plan = if setup.options.resync { crate::resync::plan(&setup.topics()) } else { Vec::new() };
        Self { setup, queue, shared, budget, index, plan, resync: None, overlap: None, losses_seen: 0 }
    }

    pub(crate) fn set_channel(&self, id: &str) {
        if let Some(slot) =
            self.shared.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(self.index)
        {
            *slot = id.to_owned();
        }
    }

    /// Hands an event on: held back while its topic's state is being fetched, else queued
    /// (or dropped and counted for a slow consumer). `false` when the consumer left.
    fn hand_on(&mut self, topic: String, item: Item) -> bool {
        if let Some(run) = &mut self.resync {
            if run.pending.contains(&topic) {
                if run.held.len() >= HOLD_LIMIT {
                    // Dropped: the consumer hears of it, and the topic's state comes again.
                    self.queue.lose();
                    run.again.insert(topic);
                } else {
                    run.held.push_back((topic, item));
                }
                return true;
            }
        }
        self.queue.event(item) != Delivery::Closed
    }

    /// An event read from the current socket: dropped when the handover already delivered it
    /// from the old one, else handed on.
    fn on_current_event(&mut self, topic: String, key: u64, item: Item) -> bool {
        self.queue.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(overlap) = &mut self.overlap {
            match overlap.get_mut(&key) {
                Some(count) => {
                    *count -= 1;
                    if *count == 0 {
                        overlap.remove(&key);
                    }
                    if overlap.is_empty() {
                        self.overlap = None;
                    }
                    self.queue.duplicates.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    return true;
                }
                // The new socket is past what the old one delivered.
                None => self.overlap = None,
            }
        }
        self.hand_on(topic, item)
    }

    /// Starts fetching the state of `topics` (all with a REST counterpart when `None`); the
    /// socket is read meanwhile, and the events of those topics held back until their state
    /// has come.
    fn start_resync(&mut self, only: Option<&HashSet<String>>) {
        let plan: Vec<(String, Fetch)> =
            self.plan.iter().filter(|(t, _)| only.is_none_or(|o| o.contains(t))).cloned().collect();
        if plan.is_empty() {
            return;
        }
        tracing::info!(topics = plan.len(), "notifications: fetching the state the gap may have changed");
        let executor = self.setup.executor.clone();
        let mut pending: HashSet<String> = plan.iter().map(|(t, _)| t.clone()).collect();
        let fetches = futures_util::stream::iter(plan)
            .map(move |(topic, what)| {
                let executor = executor.clone();
                async move { crate::resync::fetch(executor, topic, &what).await }
            })
            .buffered(self.setup.options.resync_concurrency.max(1));
        match &mut self.resync {
            // A run in progress: its topics are fetched again too (they may have lost events).
            Some(run) => {
                run.again.extend(pending.drain());
            }
            None => {
                let run =
                    ResyncRun { fetches: Box::pin(fetches), pending, held: VecDeque::new(), again: HashSet::new() };
                self.resync = Some(run);
            }
        }
    }

    /// One state fetched (or the run's end): queued, then the topic's held events after it.
    fn on_resync(&mut self, fetched: Option<Resync>) -> bool {
        let Some(run) = &mut self.resync else { return true };
        let Some(resync) = fetched else {
            // Every state came; topics whose held events were dropped are fetched again.
            // Their events stay held, in order, until the new fetch of their state has come.
            let again = std::mem::take(&mut run.again);
            let (still_held, released): (VecDeque<_>, VecDeque<_>) =
                std::mem::take(&mut run.held).into_iter().partition(|(t, _)| again.contains(t));
            self.resync = None;
            for (_, item) in released {
                if self.queue.event(item) == Delivery::Closed {
                    return false;
                }
            }
            if !again.is_empty() {
                self.start_resync(Some(&again));
                match &mut self.resync {
                    Some(run) => run.held = still_held,
                    // No fetch for them after all: what was held goes on.
                    None => {
                        for (_, item) in still_held {
                            if self.queue.event(item) == Delivery::Closed {
                                return false;
                            }
                        }
                    }
                }
            }
            return true;
        };
        if let Err(e) = &resync.state {
            tracing::warn!(topic = %resync.topic, error = %e, "notifications: resync failed");
        }
        let topic = resync.topic.clone();
        if run.again.contains(&topic) {
            // Its events were dropped after this fetch may have started: it comes again, and
            // until then its events stay held (passing them on now would put them before the
            // ones already held).
            return true;
        }
        run.pending.remove(&topic);
        if !self.queue.control(Item::Resync(resync)) {
            return false;
        }
        let (released, kept): (VecDeque<_>, VecDeque<_>) =
            std::mem::take(&mut run.held).into_iter().partition(|(t, _)| *t == topic);
        run.held = kept;
        for (_, item) in released {
            if self.queue.event(item) == Delivery::Closed {
                return false;
            }
        }
        true
    }

    /// Reads `socket` until something ends it.
    async fn pump(&mut self, socket: &mut Socket, renew_at: Option<Instant>) -> Ended {
        let options = self.setup.options.clone();
        let mut last = Instant::now();
        let mut last_frame = Utc::now();
        let mut pinged = false;
        loop {
            let quiet_until = last + if pinged { options.ping_after + options.pong_within } else { options.ping_after };
            let far = Instant::now() + Duration::from_secs(86_400 * 365);
            let queue = self.queue.clone();
            let resyncing = self.resync.is_some();
            let lease = self.setup.lease.clone();
            tokio::select! {
                () = queue.closed() => return Ended::Shutdown,
                () = async { match &lease { Some(l) => l.changed.notified().await, None => std::future::pending().await } } => {
                    if let Some(end) = self.follow_leases().await {
                        return end;
                    }
                }
                told = queue.loss_told(self.losses_seen) => {
                    self.losses_seen = told;
                    self.start_resync(None);
                }
                fetched = async { match self.resync.as_mut() { Some(run) => run.fetches.next().await, None => std::future::pending().await } }, if resyncing => {
                    if !self.on_resync(fetched) {
                        return Ended::Shutdown;
                    }
                }
                msg = socket.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        last = Instant::now();
                        let before = std::mem::replace(&mut last_frame, Utc::now());
                        pinged = false;
                        match read(t.as_str()) {
                            Read::Alive => {}
                            // The service may have stopped delivering when it sent this: the
                            // possible loss starts at the frame before it.
                            Read::End(Ended::Lost { why, new_channel, .. }) => {
                                return Ended::Lost { why, last: before, new_channel };
                            }
                            Read::End(end) => return end,
                            Read::Event { topic, key, item } => {
                                if !self.on_current_event(topic, key, item) {
                                    return Ended::Shutdown;
                                }
                            }
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => {
                        return Ended::Lost { why: "the server closed the socket".into(), last: last_frame, new_channel: false };
                    }
                    Some(Err(e)) => return Ended::Lost { why: format!("the socket failed: {e}"), last: last_frame, new_channel: false },
                    Some(Ok(_)) => { last = Instant::now(); last_frame = Utc::now(); pinged = false; }
                },
                () = tokio::time::sleep_until(quiet_until) => {
                    if pinged {
                        let why = format!("no heartbeat or pong for {:?}", options.ping_after + options.pong_within);
                        return Ended::Lost { why, last: last_frame, new_channel: false };
                    }
                    pinged = true;
                    let ping = serde_json::json!({"message": "ping"}).to_string();
                    let sent = tokio::time::timeout(options.pong_within, socket.send(Message::text(ping))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return Ended::Lost { why: "the ping could not be sent".into(), last: last_frame, new_channel: false };
                    }
                }
                () = tokio::time::sleep_until(renew_at.unwrap_or(far)), if renew_at.is_some() => {
                    return Ended::NewChannel("the channel is near its end".into());
                }
            }
        }
    }

    pub(crate) async fn run(mut self, mut channel: Channel, mut socket: Socket) {
        loop {
            let ended = self.pump(&mut socket, channel.renew_at).await;
            let next = match ended {
                Ended::Shutdown => {
                    close_bounded(socket).await;
                    None
                }
                Ended::NewChannel(why) => {
                    tracing::info!(channel = %channel.id, reason = %why, "notifications: moving to a new channel");
                    self.hand_over(channel.clone(), socket, why).await
                }
                Ended::Lost { why, last, new_channel } => {
                    tracing::warn!(channel = %channel.id, reason = %why, "notifications: socket lost");
                    close_bounded(socket).await;
                    let keep = (!new_channel).then(|| channel.clone());
                    if new_channel {
                        self.retire(&channel.id);
                    }
                    self.reconnect(why, last, keep).await
                }
            };
            match next {
                Some((c, s)) => (channel, socket) = (c, s),
                None => {
                    self.shutdown(&channel.id).await;
                    self.queue.producer_done();
                    return;
                }
            }
        }
    }

    /// Moves to a new channel while the old socket still works, with no gap: the old socket
    /// is read while the new channel is set up, then beside the new one until the new one has
    /// caught up with it; events of the overlap are delivered once, in the order sent.
    async fn hand_over(&mut self, old_channel: Channel, mut old: Socket, why: String) -> Option<(Channel, Socket)> {
        let queue = self.queue.clone();
        // One handover at a time per client: it needs one channel beyond the client's own.
        let budget = self.budget.clone();
        let permit = tokio::select! {
            () = queue.closed() => { close_bounded(old).await; return None; }
            permit = budget.renewal() => permit,
        };
        // Through a fleet, one renewal at a time for the whole fleet too.
        let fleet_turn = match &self.setup.lease {
            Some(lease) => match fleet_renewal(lease, &queue, &self.setup.options).await {
                Some(turn) => turn,
                None => {
                    close_bounded(old).await;
                    return None;
                }
            },
            None => None,
        };
        let _fleet_turn = fleet_turn;
        let mut setup = Box::pin(self.setup.clone().open_and_connect());
        let mut old_last = Utc::now();
        let mut old_alive = true;
        // Phase 1: the new channel is set up; the old socket is still read.
        let made = loop {
            tokio::select! {
                () = queue.closed() => { close_bounded(old).await; return None; }
                made = &mut setup => break made,
                msg = old.next(), if old_alive => match msg {
                    Some(Ok(Message::Text(t))) => {
                        old_last = Utc::now();
                        if let Read::Event { topic, item, .. } = read(t.as_str()) {
                            self.queue.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if !self.hand_on(topic, item) { close_bounded(old).await; return None; }
                        }
                    }
                    Some(Ok(_)) => old_last = Utc::now(),
                    _ => old_alive = false,
                },
            }
        };
        // The old socket went before the new one was up: what was sent in between may be
        // missed.
        let mut gap_from = (!old_alive).then_some(old_last);
        let (channel, mut new) = match made {
            Ok(made) => made,
            Err(e) => {
                drop(permit);
                close_bounded(old).await;
                // The old channel may still be valid (socket_closing): reconnect checks it
                // before making another.
                let why = format!("{why}; the new channel failed: {e}");
                return self.reconnect(why, old_last, Some(old_channel)).await;
            }
        };
        // Phase 2: both sockets; the old one's events go on, the new one's wait.
        let mut from_old: HashMap<u64, u32> = HashMap::new();
        let mut remembered = 0usize;
        let mut held: VecDeque<(String, u64, Item)> = VecDeque::new();
        let until = Instant::now() + HANDOVER_LIMIT;
        let mut old_event_at = Instant::now();
        // The old socket is as dead as the pump would judge it after this long with no frame.
        let old_silence = self.setup.options.ping_after + self.setup.options.pong_within;
        let mut old_frame_at = Instant::now();
        let mut caught_up = false;
        while old_alive {
            if held.front().is_some_and(|(_, key, _)| from_old.contains_key(key)) {
                // Caught up: from here the new socket carries what the old one would.
                caught_up = true;
                break;
            }
            if held.len() >= HOLD_LIMIT {
                break;
            }
            // Nothing in flight: the new socket has nothing the old one has not delivered.
            let settled = old_event_at + HANDOVER_SETTLE;
            tokio::select! {
                () = queue.closed() => { close_bounded(old).await; close_bounded(new).await; return None; }
                () = tokio::time::sleep_until(until) => break,
                () = tokio::time::sleep_until(settled), if held.is_empty() => { caught_up = true; break; }
                () = tokio::time::sleep_until(old_frame_at + old_silence) => old_alive = false,
                msg = old.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        old_frame_at = Instant::now();
                        old_last = Utc::now();
                        if let Read::Event { topic, key, item } = read(t.as_str()) {
                            old_event_at = Instant::now();
                            self.queue.received.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if remembered < OVERLAP_KEYS {
                                *from_old.entry(key).or_default() += 1;
                                remembered += 1;
                            }
                            if !self.hand_on(topic, item) { close_bounded(old).await; close_bounded(new).await; return None; }
                        }
                    }
                    Some(Ok(_)) => { old_frame_at = Instant::now(); old_last = Utc::now(); }
                    _ => old_alive = false,
                },
                msg = new.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        if let Read::Event { topic, key, item } = read(t.as_str()) {
                            held.push_back((topic, key, item));
                        }
                    }
                    Some(Ok(_)) => {}
                    // The new socket failed already: the pump finds it so and reconnects.
                    _ => break,
                },
            }
        }
        // The old socket ended (or fell silent, or the wait ran out) before it delivered the
        // new socket's first event: what was sent between its last frame and the new socket's
        // start may have reached neither.
        if !caught_up && gap_from.is_none() {
            gap_from = Some(old_last);
        }
        close_bounded(old).await;
        drop(permit);
        // The old channel keeps no subscriptions (nor a place in the client's budget).
        self.retire(&old_channel.id);
        self.overlap = (!from_old.is_empty()).then_some(from_old);
        self.set_channel(&channel.id);
        tracing::info!(old = %old_channel.id, new = %channel.id, "notifications: moved to a new channel");
        let event = ConnectionEvent::Renewed { old_channel: old_channel.id.clone(), new_channel: channel.id.clone() };
        if !self.queue.control(Item::Connection(event)) {
            close_bounded(new).await;
            return None;
        }
        // The gap comes before the new socket's events: they were sent after it.
        if let Some(start) = gap_from {
            if !self.report_gap(start) {
                close_bounded(new).await;
                return None;
            }
        }
        for (topic, key, item) in held {
            self.queue.received.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if !self.on_current_event(topic, key, item) {
                close_bounded(new).await;
                return None;
            }
        }
        Some((channel, new))
    }

    /// Through a fleet: the channel's subscriptions follow the topics whose leases the
    /// subscription holds now. The consumer is told which topics came and went; for those
    /// taken over from a process whose lease lapsed, a gap from before its last renewal, and
    /// their state fetched again. `Some` when the socket must be left.
    async fn follow_leases(&mut self) -> Option<Ended> {
        let lease = self.setup.lease.clone()?;
        let (now_held, gap_from) = lease.change.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()?;
        let before = self.setup.topics();
        let taken: Vec<Topic> = now_held.iter().filter(|t| !before.contains(t)).cloned().collect();
        let lost: Vec<Topic> = before.iter().filter(|t| !now_held.contains(t)).cloned().collect();
        if taken.is_empty() && lost.is_empty() {
            return None;
        }
        *self.setup.topics.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = now_held;
        if self.setup.options.resync {
            self.plan = crate::resync::plan(&self.setup.topics());
        }
        let names = |topics: &[Topic]| topics.iter().map(|t| t.as_str().to_owned()).collect::<Vec<_>>();
        tracing::info!(taken = taken.len(), lost = lost.len(), "notifications: the fleet's topic leases moved");
        let event = ConnectionEvent::TopicsLeased { taken: names(&taken), lost: names(&lost) };
        if !self.queue.control(Item::Connection(event)) {
            return Some(Ended::Shutdown);
        }
        let channel = self
            .shared
            .channels
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(self.index)
            .cloned()
            .unwrap_or_default();
        // What the taken topics carried since their holder's lease was last renewed may be
        // missed; a reconnect reports the gap from there.
        let last = if taken.is_empty() { Utc::now() } else { gap_from };
        if let Err(e) = self.setup.subscribe_on(&channel).await {
            let why = format!("the subscriptions could not follow the fleet's leases: {e}");
            return Some(Ended::Lost { why, last, new_channel: false });
        }
        if !taken.is_empty() {
            let only: HashSet<String> = crate::resync::plan(&taken).into_iter().map(|(t, _)| t).collect();
            if !self.report_gap_of(last, Some(&only)) {
                return Some(Ended::Shutdown);
            }
        }
        None
    }

    /// Tells of a gap from `last` (the last frame received) to now, and fetches the state
    /// again. `false` when the consumer left.
    fn report_gap(&mut self, last: DateTime<Utc>) -> bool {
        self.report_gap_of(last, None)
    }

    /// [`report_gap`](Self::report_gap), fetching the state of `only` those event topics
    /// (all when `None`).
    fn report_gap_of(&mut self, last: DateTime<Utc>, only: Option<&HashSet<String>>) -> bool {
        // What the service sent just before that frame arrived may still have been on its way.
        let start =
            chrono::TimeDelta::from_std(GAP_MARGIN).ok().and_then(|m| last.checked_sub_signed(m)).unwrap_or(last);
        let end = Utc::now();
        tracing::warn!(%start, %end, "notifications: events of this interval may have been missed");
        if !self.queue.control(Item::Connection(ConnectionEvent::Gap { start, end })) {
            return false;
        }
        self.start_resync(only);
        true
    }

    /// Removes a channel's subscriptions in the background: left behind, it would keep them
    /// until its 24-hour end.
    fn retire(&self, channel: &str) {
        let setup = self.setup.clone();
        let channel = channel.to_owned();
        tokio::spawn(async move { setup.unsubscribe(&channel).await });
    }

    /// Gets a socket back: the same channel while it is valid (subscriptions put again), else a
    /// new one; jittered exponential backoff between attempts. Once connected, reports the gap
    /// from `last` (the lost socket's last frame) to then, and fetches the state again. `None`
    /// when the consumer left.
    async fn reconnect(
        &mut self,
        why: String,
        last: DateTime<Utc>,
        mut channel: Option<Channel>,
    ) -> Option<(Channel, Socket)> {
        let queue = self.queue.clone();
        let options = self.setup.options.clone();
        let mut attempt = 0u32;
        let mut reason = why;
        loop {
            attempt += 1;
            tracing::info!(attempt, reason = %reason, "notifications: reconnecting");
            if !queue.control(Item::Connection(ConnectionEvent::Reconnecting { attempt, reason: reason.clone() })) {
                return None;
            }
            let wait = if attempt == 1 {
                Duration::ZERO
            } else {
                genesys_cloud_transport::__workspace::full_jitter_backoff(
                    options.backoff_base,
                    options.backoff_max,
                    attempt,
                )
            };
            let setup = self.setup.clone();
            let known = channel.clone();
            let outcome = async move {
                tokio::time::sleep(wait).await;
                let usable = match &known {
                    Some(c) => {
                        setup.api().notifications().head_notifications_channel(c.id.clone()).send().await.is_ok()
                    }
                    None => false,
                };
                let c = match (usable, known) {
                    (true, Some(c)) => {
                        setup.subscribe_all(&c).await?;
                        c
                    }
                    _ => setup.open_channel().await?,
                };
                let s = setup.connect(&c).await?;
                Ok::<_, Error>((c, s))
            };
            let outcome = tokio::select! {
                () = queue.closed() => return None,
                outcome = outcome => outcome,
            };
            match outcome {
                Ok((c, s)) => {
                    self.set_channel(&c.id);
                    tracing::info!(channel = %c.id, attempt, "notifications connected");
                    self.overlap = None;
                    if !queue.control(Item::Connection(ConnectionEvent::Connected { channel: c.id.clone() }))
                        || !self.report_gap(last)
                    {
                        close_bounded(s).await;
                        self.retire(&c.id);
                        return None;
                    }
                    return Some((c, s));
                }
                Err(e) => {
                    if e.status().map(|s| s.as_u16()) == Some(404) {
                        channel = None;
                    }
                    reason = e.to_string();
                }
            }
        }
    }

    /// The consumer left: the channel's subscriptions are removed (bounded).
    async fn shutdown(&mut self, channel: &str) {
        let setup = self.setup.clone();
        setup.unsubscribe(channel).await;
        tracing::info!(channel, "notifications closed");
    }
}

/// Closes a socket and waits for the server to end it too (so the service no longer counts
/// it as connected when the next channel is made), at most a second.
async fn close_bounded(mut socket: Socket) {
    let closed = async {
        let _ = socket.close(None).await;
        while let Some(Ok(_)) = socket.next().await {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
}

/// The pseudo-topic whose lease is a fleet's one renewal at a time.
const RENEWAL_LEASE: &str = "#renewal";

/// A fleet's renewal turn, given back when dropped.
pub(crate) struct RenewalTurn {
    lease: Arc<LeaseKeeping>,
}

impl Drop for RenewalTurn {
    fn drop(&mut self) {
        let lease = self.lease.clone();
        // Best effort: it lapses by itself otherwise.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let l = &lease.leasing;
                let topics = [RENEWAL_LEASE.to_owned()];
                let _ =
                    tokio::time::timeout(SHUTDOWN_LIMIT, l.store.release(&l.scope, "", &lease.holder, &topics)).await;
            });
        }
    }
}

/// Waits for the fleet's renewal turn (its lease lapses after the longest a handover takes),
/// polling every second: `Some(None)` when the store fails (the renewal goes on, fail open),
/// `None` when the consumer left.
async fn fleet_renewal(lease: &Arc<LeaseKeeping>, queue: &Queue, options: &Options) -> Option<Option<RenewalTurn>> {
    let l = &lease.leasing;
    let topics = [RENEWAL_LEASE.to_owned()];
    let ttl = HANDOVER_LIMIT + options.connect_timeout * 2;
    loop {
        let claim = tokio::time::timeout(SHUTDOWN_LIMIT, l.store.claim_topics(&l.scope, &lease.holder, &topics, ttl));
        let answer = tokio::select! {
            () = queue.closed() => return None,
            answer = claim => answer,
        };
        match answer {
            Ok(Ok(held)) if held.first().is_some_and(Option::is_none) => {
                return Some(Some(RenewalTurn { lease: lease.clone() }));
            }
            Ok(Ok(held)) => {
                let by = held.into_iter().flatten().next().unwrap_or_default();
                tracing::debug!(by = %by, "notifications: waiting for the fleet's renewal turn");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "notifications: the fleet's leases did not answer; renewing without its turn");
                return Some(None);
            }
            Err(_) => {
                tracing::warn!("notifications: the fleet's leases did not answer in time; renewing without its turn");
                return Some(None);
            }
        }
        tokio::select! {
            () = queue.closed() => return None,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
