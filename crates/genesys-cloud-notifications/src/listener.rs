//! The listener: a channel, its subscriptions and its socket, kept alive by one task per
//! subscription stream.

use crate::event::{decode_message, decode_one_pass, envelope, DecodeFailure, Event, Undecodable};
use crate::resync::{Fetch, Resync};
use crate::topic::Topic;
use futures_util::{SinkExt as _, Stream, StreamExt as _};
use genesys_cloud_api::Tags as _;
use genesys_cloud_core::{Error, ErrorKind, SharedExecutor};
use models::Model as _;
use std::collections::{HashSet, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Topics one channel can hold (the service refuses more with a 400).
pub const TOPICS_PER_CHANNEL: usize = 1_000;

/// Channels one user and app can hold: past this the service replaces the oldest channel.
pub const CHANNELS_PER_CLIENT: usize = 20;

/// One item of a subscription stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Item {
    /// An event of a subscribed topic.
    Event(Event),
    /// An event whose body does not fit its type, kept raw with the error.
    Undecodable(Undecodable),
    /// A change of the connection's state.
    Connection(ConnectionEvent),
    /// After a [`ConnectionEvent::Gap`], the current state of a subscribed topic that has a
    /// REST counterpart (presence, routing status, queue members), fetched through the API.
    Resync(Resync),
    /// The consumer was slower than the events: this many were dropped (the buffer is bounded).
    Lost {
        /// How many items were dropped since the last item delivered.
        count: u64,
    },
}

/// What happened to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The socket of `channel` is up and every topic subscribed.
    Connected {
        /// The channel id.
        channel: String,
    },
    /// The socket was lost; this is attempt `attempt` to get it back.
    Reconnecting {
        /// 1 for the first attempt after a loss.
        attempt: u32,
        /// Why the socket was lost.
        reason: String,
    },
    /// The stream moved to a new channel before the old one went (`socket_closing`, or the
    /// channel's 24-hour end), with no gap: events in the overlap are delivered once.
    Renewed {
        /// The channel left.
        old_channel: String,
        /// The channel now used.
        new_channel: String,
    },
    /// Events of this time may have been missed (the socket was down).
    Gap {
        /// When the socket was lost.
        start: SystemTime,
        /// When it was back.
        end: SystemTime,
    },
}

/// How a [`Notifications`] listener behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
#[must_use = "options do nothing until they are given to a listener"]
pub struct Options {
    /// Items buffered for a slow consumer; past it, items are counted and dropped
    /// ([`Item::Lost`]). Default 1,024.
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
    /// How long opening the TCP connection (or the tunnel) may take. Default 10 s.
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

/// The notification service of one client: subscriptions as streams of typed events.
///
/// Channel and subscription calls go through the client's executor (the generated
/// Notifications operations), so its tokens, retries and logging apply.
#[derive(Clone)]
pub struct Notifications {
    executor: SharedExecutor,
    options: Options,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").field("options", &self.options).finish_non_exhaustive()
    }
}

/// The generated operations over one executor.
pub(crate) struct Api(pub(crate) SharedExecutor);

impl genesys_cloud_api::Tags for Api {
    fn executor(&self) -> SharedExecutor {
        self.0.clone()
    }
}

/// A channel of the service.
#[derive(Debug, Clone)]
struct Channel {
    id: String,
    connect_uri: String,
    /// When to move to a new channel.
    renew_at: Option<Instant>,
}

impl Notifications {
    /// Notifications through `executor` (a client's: `client.executor()`), default options.
    pub fn new(executor: SharedExecutor) -> Self {
        Self::with_options(executor, Options::default())
    }

    /// Notifications with `options`.
    pub fn with_options(executor: SharedExecutor, options: Options) -> Self {
        Self { executor, options }
    }

    /// Subscribes to `topics` on channels of their own and returns the stream of their
    /// events. More than [`TOPICS_PER_CHANNEL`] topics are spread over as many channels as
    /// they need, up to [`CHANNELS_PER_CLIENT`] (past that, a build error: the service would
    /// replace the oldest channel). It is connected and subscribed when this returns (a
    /// refused topic is an error here); from then on it heals itself. Dropping the stream
    /// closes the sockets and removes the subscriptions.
    pub async fn subscribe(&self, topics: impl IntoIterator<Item = Topic>) -> Result<Subscription, Error> {
        let mut topics: Vec<Topic> = topics.into_iter().collect();
        topics.sort();
        topics.dedup();
        if topics.is_empty() {
            return Err(Error::build("subscribe to at least one topic"));
        }
        let channels = topics.len().div_ceil(TOPICS_PER_CHANNEL);
        if channels > CHANNELS_PER_CLIENT {
            return Err(Error::build(format!(
                "{} topics need {channels} channels of {TOPICS_PER_CHANNEL}; a client holds at most {CHANNELS_PER_CLIENT}",
                topics.len()
            )));
        }
        let shared = Arc::new(Shared { channels: std::sync::Mutex::new(vec![String::new(); channels]) });
        let mut ready = Vec::new();
        for (index, chunk) in topics.chunks(TOPICS_PER_CHANNEL).enumerate() {
            let worker =
                Worker::new(self.executor.clone(), self.options.clone(), chunk.to_vec(), shared.clone(), index);
            let channel = worker.open_channel().await?;
            let socket = worker.connect(&channel).await?;
            worker.set_channel(&channel.id);
            ready.push((worker, channel, socket));
        }
        let (tx, rx) = mpsc::channel(self.options.buffer);
        let mut tasks = Vec::new();
        for (worker, channel, socket) in ready {
            let _ = tx.try_send(Item::Connection(ConnectionEvent::Connected { channel: channel.id.clone() }));
            tracing::info!(channel = %channel.id, "notifications connected");
            tasks.push(tokio::spawn(worker.run(tx.clone(), channel, socket)));
        }
        Ok(Subscription { rx, tasks, shared })
    }
}

struct Shared {
    /// The channel in use by each worker.
    channels: std::sync::Mutex<Vec<String>>,
}

/// The stream of one subscription ([`Item`]s). Dropping it closes the socket and removes
/// the subscriptions; [`close`](Subscription::close) does so and waits for it.
pub struct Subscription {
    rx: mpsc::Receiver<Item>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("channels", &self.channel_ids()).finish_non_exhaustive()
    }
}

impl Subscription {
    /// The (first) channel in use now.
    pub fn channel_id(&self) -> String {
        self.channel_ids().into_iter().next().unwrap_or_default()
    }

    /// Every channel in use now (one per [`TOPICS_PER_CHANNEL`] topics).
    pub fn channel_ids(&self) -> Vec<String> {
        self.shared.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Closes the sockets, removes the subscriptions, and waits until both are done.
    pub async fn close(mut self) {
        self.rx.close();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Stream for Subscription {
    type Item = Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        // The task sees the receiver gone, removes the subscriptions and closes the socket.
        self.rx.close();
    }
}

/// The last events delivered, so an event that comes on two sockets (the overlap of a
/// renewal) is delivered once.
struct Seen {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl Seen {
    const KEEP: usize = 4096;

    /// Whether the event of `topic` with this correlation id (or, without one, this body: the
    /// body itself tells duplicates apart) is seen for the first time.
    fn first_time<'b>(&mut self, topic: &str, correlation_id: Option<&str>, body: impl FnOnce() -> &'b str) -> bool {
        let key = match correlation_id {
            Some(id) => format!("{topic}\u{0}{id}"),
            None => format!("{topic}\u{0}{}", body()),
        };
        self.remember(key)
    }

    fn remember(&mut self, key: String) -> bool {
        if !self.set.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        if self.order.len() > Self::KEEP {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
        true
    }
}

/// What a message of a control topic does: `Some(None)` is only a sign of life (heartbeats
/// and pongs), `Some(Some(_))` ends the socket; `None`: an event topic.
fn control(topic: &str) -> Option<Option<Ended>> {
    match topic {
        "channel.metadata" => Some(None),
        "v2.system.socket_closing" => Some(Some(Ended::NewChannel("socket_closing".into()))),
        t if t.starts_with("v2.system.token_revoked") => Some(Some(Ended::NewChannel("the token was revoked".into()))),
        t if t.starts_with("v2.system.no_longer_subscribed") => {
            Some(Some(Ended::NewChannel("no longer subscribed".into())))
        }
        _ => None,
    }
}

/// Why the socket loop stopped.
enum Ended {
    /// The consumer is gone.
    Shutdown,
    /// The socket was lost.
    Lost(String),
    /// The channel must be replaced (expired, token revoked).
    NewChannel(String),
}

struct Worker {
    api: Api,
    options: Options,
    topics: Vec<Topic>,
    /// The fetches of a resync, one per event topic with a REST counterpart.
    resync: Vec<(String, Fetch)>,
    seen: Seen,
    lost: u64,
    shared: Arc<Shared>,
    /// This worker's place in `shared.channels`.
    index: usize,
}

impl Worker {
    fn new(executor: SharedExecutor, options: Options, topics: Vec<Topic>, shared: Arc<Shared>, index: usize) -> Self {
        let resync = if options.resync { crate::resync::plan(&topics) } else { Vec::new() };
        Self {
            api: Api(executor),
            options,
            resync,
            topics,
            seen: Seen { order: VecDeque::new(), set: HashSet::new() },
            lost: 0,
            shared,
            index,
        }
    }

    /// A new channel with every topic subscribed.
    async fn open_channel(&self) -> Result<Channel, Error> {
        let made = self.api.notifications().post_notifications_channels().send().await?;
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
        let body: Vec<models::ChannelTopic> = self
            .topics
            .iter()
            .map(|t| models::ChannelTopic::default().with(|c| c.id = Some(t.as_str().to_owned())))
            .collect();
        self.api.notifications().put_notifications_channel_subscriptions(channel.id.clone(), body).send().await?;
        Ok(())
    }

    async fn connect(&self, channel: &Channel) -> Result<Socket, Error> {
        let uri: tokio_tungstenite::tungstenite::http::Uri = channel
            .connect_uri
            .parse()
            .map_err(|e| Error::new(ErrorKind::Connect, format!("connectUri {:?}: {e}", channel.connect_uri)))?;
        let host = uri.host().ok_or_else(|| Error::new(ErrorKind::Connect, "connectUri has no host"))?.to_owned();
        let tls = uri.scheme_str() == Some("wss");
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let stream = genesys_cloud_transport::connect_tcp(
            self.options.proxy.as_ref(),
            &host,
            port,
            tls,
            self.options.connect_timeout,
        )
        .await
        .map_err(|e| Error::new(ErrorKind::Connect, format!("notification socket: {}", e.message())).with_source(e))?;
        let connector = if tls {
            let config = self.options.tls.client_config()?;
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

    /// Hands `item` to the consumer without ever waiting: a full buffer counts it as lost.
    /// `false` when the consumer is gone.
    fn deliver(&mut self, tx: &mpsc::Sender<Item>, item: Item) -> bool {
        if self.lost > 0 {
            match tx.try_send(Item::Lost { count: self.lost }) {
                Ok(()) => self.lost = 0,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.lost += 1;
                    return true;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.lost += 1;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// One text message: heartbeats and pongs are only signs of life; system topics steer the
    /// connection; every other event is decoded, de-duplicated and delivered.
    fn on_text(&mut self, tx: &mpsc::Sender<Item>, text: &str) -> Option<Ended> {
        let item = match decode_one_pass(text.as_bytes()) {
            Some(decoded) => {
                if let Some(control) = control(&decoded.topic) {
                    return control;
                }
                let body = || envelope(text.as_bytes()).map_or("", |m| m.body);
                if !self.seen.first_time(&decoded.topic, decoded.correlation_id.as_deref(), body) {
                    return None;
                }
                Item::Event(decoded.into_event())
            }
            None => {
                let Ok(m) = envelope(text.as_bytes()) else {
                    tracing::debug!("notifications: a message that is not an event was skipped");
                    return None;
                };
                if let Some(control) = control(&m.topic) {
                    return control;
                }
                if !self.seen.first_time(&m.topic, m.correlation_id.as_deref(), || m.body) {
                    return None;
                }
                match decode_message(m) {
                    Ok(event) => Item::Event(event),
                    Err(DecodeFailure::Body(u)) => Item::Undecodable(u),
                    Err(DecodeFailure::Envelope(_)) => return None,
                }
            }
        };
        // A consumer that is gone ends the socket loop.
        (!self.deliver(tx, item)).then_some(Ended::Shutdown)
    }

    /// Reads `socket` (and, while it drains, the socket being left) until something ends it.
    async fn pump(
        &mut self,
        tx: &mpsc::Sender<Item>,
        socket: &mut Socket,
        draining: &mut Option<(Socket, Instant)>,
        renew_at: Option<Instant>,
    ) -> Ended {
        let mut last = Instant::now();
        let mut pinged = false;
        loop {
            let quiet_until = last
                + if pinged { self.options.ping_after + self.options.pong_within } else { self.options.ping_after };
            let far = Instant::now() + Duration::from_secs(86_400 * 365);
            let drain_deadline = draining.as_ref().map_or(far, |(_, d)| *d);
            let owed = self.lost;
            tokio::select! {
                () = tx.closed() => return Ended::Shutdown,
                // Room again after a loss: the consumer hears how many it missed at once, not
                // only when the next event comes.
                permit = tx.reserve(), if owed > 0 => match permit {
                    Ok(permit) => {
                        permit.send(Item::Lost { count: owed });
                        self.lost = 0;
                    }
                    Err(_) => return Ended::Shutdown,
                },
                msg = socket.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        last = Instant::now();
                        pinged = false;
                        if let Some(end) = self.on_text(tx, t.as_str()) {
                            return end;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => return Ended::Lost("the server closed the socket".into()),
                    Some(Err(e)) => return Ended::Lost(format!("the socket failed: {e}")),
                    Some(Ok(_)) => { last = Instant::now(); pinged = false; }
                },
                msg = async { match draining.as_mut() { Some((old, _)) => old.next().await, None => std::future::pending().await } } => match msg {
                    Some(Ok(Message::Text(t))) => {
                        // Whatever would end the old socket (its own farewell) changes nothing: it
                        // is going anyway, and a consumer that left is seen on the next turn.
                        let _ = self.on_text(tx, t.as_str());
                    }
                    Some(Ok(_)) => {}
                    _ => { *draining = None; }
                },
                () = tokio::time::sleep_until(drain_deadline), if draining.is_some() => {
                    if let Some((mut old, _)) = draining.take() { let _ = old.close(None).await; }
                }
                () = tokio::time::sleep_until(quiet_until) => {
                    if pinged {
                        return Ended::Lost(format!("no heartbeat or pong for {:?}", self.options.ping_after + self.options.pong_within));
                    }
                    pinged = true;
                    let ping = serde_json::json!({"message": "ping"}).to_string();
                    if socket.send(Message::text(ping)).await.is_err() {
                        return Ended::Lost("the ping could not be sent".into());
                    }
                }
                () = tokio::time::sleep_until(renew_at.unwrap_or(far)), if renew_at.is_some() => {
                    return Ended::NewChannel("the channel is near its end".into());
                }
            }
        }
    }

    async fn run(mut self, tx: mpsc::Sender<Item>, mut channel: Channel, mut socket: Socket) {
        let mut draining: Option<(Socket, Instant)> = None;
        loop {
            let ended = self.pump(&tx, &mut socket, &mut draining, channel.renew_at).await;
            match ended {
                Ended::Shutdown => {
                    self.shutdown(&channel, socket, draining).await;
                    return;
                }
                Ended::NewChannel(why) => {
                    // Hand over with no gap: the new channel is subscribed and connected
                    // before the old socket goes; what both deliver is delivered once.
                    tracing::info!(channel = %channel.id, reason = %why, "notifications: moving to a new channel");
                    match self.replacement().await {
                        Ok((next, next_socket)) => {
                            let old = std::mem::replace(&mut socket, next_socket);
                            if let Some((mut older, _)) =
                                draining.replace((old, Instant::now() + Duration::from_secs(60)))
                            {
                                let _ = older.close(None).await;
                            }
                            let event = ConnectionEvent::Renewed {
                                old_channel: channel.id.clone(),
                                new_channel: next.id.clone(),
                            };
                            channel = next;
                            self.set_channel(&channel.id);
                            if !self.deliver(&tx, Item::Connection(event)) {
                                self.shutdown(&channel, socket, draining).await;
                                return;
                            }
                        }
                        Err(e) => {
                            // The old channel may still be valid (socket_closing): reconnect
                            // checks it before making another.
                            let why = format!("{why}; the new channel failed: {e}");
                            match self.reconnect(&tx, why, Some(channel.clone())).await {
                                Some((c, s)) => (channel, socket) = (c, s),
                                None => return,
                            }
                        }
                    }
                }
                Ended::Lost(why) => {
                    tracing::warn!(channel = %channel.id, reason = %why, "notifications: socket lost");
                    if let Some((mut old, _)) = draining.take() {
                        let _ = old.close(None).await;
                    }
                    match self.reconnect(&tx, why, Some(channel.clone())).await {
                        Some((c, s)) => (channel, socket) = (c, s),
                        None => return,
                    }
                }
            }
        }
    }

    fn set_channel(&self, id: &str) {
        if let Some(slot) =
            self.shared.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(self.index)
        {
            *slot = id.to_owned();
        }
    }

    fn gap(&mut self, tx: &mpsc::Sender<Item>, start: SystemTime) {
        let end = SystemTime::now();
        tracing::warn!(?start, ?end, "notifications: events of this interval may have been missed");
        let _ = self.deliver(tx, Item::Connection(ConnectionEvent::Gap { start, end }));
    }

    /// Fetches and delivers the state of every topic with a REST counterpart, in topic-name
    /// order. `false` when the consumer left.
    async fn resync(&mut self, tx: &mpsc::Sender<Item>) -> bool {
        if self.resync.is_empty() {
            return true;
        }
        let executor = self.api.0.clone();
        let plan = self.resync.clone();
        tracing::info!(topics = plan.len(), "notifications: fetching the state the gap may have changed");
        let mut states = futures_util::stream::iter(plan)
            .map(|(topic, what)| {
                let executor = executor.clone();
                async move { crate::resync::fetch(executor, topic, &what).await }
            })
            .buffered(self.options.resync_concurrency.max(1));
        loop {
            let next = tokio::select! {
                () = tx.closed() => return false,
                next = states.next() => next,
            };
            let Some(resync) = next else { return true };
            if let Err(e) = &resync.state {
                tracing::warn!(topic = %resync.topic, error = %e, "notifications: resync failed");
            }
            // State is not dropped for a slow consumer like events are: the socket is not
            // read meanwhile, so waiting for room holds nothing else up.
            if self.lost > 0 {
                if tx.send(Item::Lost { count: self.lost }).await.is_err() {
                    return false;
                }
                self.lost = 0;
            }
            if tx.send(Item::Resync(resync)).await.is_err() {
                return false;
            }
        }
    }

    async fn replacement(&self) -> Result<(Channel, Socket), Error> {
        let next = self.open_channel().await?;
        let socket = self.connect(&next).await?;
        Ok((next, socket))
    }

    /// Gets a socket back: the same channel while it is valid (subscriptions put again), else a
    /// new one; jittered exponential backoff between attempts. Once connected, reports the gap
    /// from the loss to then. `None` when the consumer left.
    async fn reconnect(
        &mut self,
        tx: &mpsc::Sender<Item>,
        why: String,
        mut channel: Option<Channel>,
    ) -> Option<(Channel, Socket)> {
        let lost_at = SystemTime::now();
        let mut attempt = 0u32;
        let mut reason = why;
        loop {
            attempt += 1;
            tracing::info!(attempt, reason = %reason, "notifications: reconnecting");
            if !self.deliver(tx, Item::Connection(ConnectionEvent::Reconnecting { attempt, reason: reason.clone() })) {
                self.unsubscribe(channel.as_ref()).await;
                return None;
            }
            let wait = if attempt == 1 {
                Duration::ZERO
            } else {
                genesys_cloud_transport::full_jitter_backoff(
                    self.options.backoff_base,
                    self.options.backoff_max,
                    attempt,
                )
            };
            tokio::select! {
                () = tx.closed() => {
                    self.unsubscribe(channel.as_ref()).await;
                    return None;
                }
                () = tokio::time::sleep(wait) => {}
            }
            let outcome = async {
                let usable = match &channel {
                    Some(c) => self.api.notifications().head_notifications_channel(c.id.clone()).send().await.is_ok(),
                    None => false,
                };
                let c = match (usable, channel.clone()) {
                    (true, Some(c)) => {
                        self.subscribe_all(&c).await?;
                        c
                    }
                    _ => self.open_channel().await?,
                };
                let s = self.connect(&c).await?;
                Ok::<_, Error>((c, s))
            }
            .await;
            match outcome {
                Ok((c, s)) => {
                    self.set_channel(&c.id);
                    tracing::info!(channel = %c.id, attempt, "notifications connected");
                    // Subscribed before the fetches, and the socket read only after them: an
                    // event of the meantime comes after the state it may already be part of,
                    // and applying it again changes nothing.
                    let stayed =
                        self.deliver(tx, Item::Connection(ConnectionEvent::Connected { channel: c.id.clone() })) && {
                            self.gap(tx, lost_at);
                            self.resync(tx).await
                        };
                    if !stayed {
                        self.shutdown(&c, s, None).await;
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

    /// Removes the subscriptions of `channel` (best effort: the consumer is gone).
    async fn unsubscribe(&self, channel: Option<&Channel>) {
        if let Some(channel) = channel {
            let _ =
                self.api.notifications().delete_notifications_channel_subscriptions(channel.id.clone()).send().await;
        }
    }

    async fn shutdown(&self, channel: &Channel, mut socket: Socket, draining: Option<(Socket, Instant)>) {
        self.unsubscribe(Some(channel)).await;
        let _ = socket.close(None).await;
        if let Some((mut old, _)) = draining {
            let _ = old.close(None).await;
        }
        tracing::info!(channel = %channel.id, "notifications closed");
    }
}
