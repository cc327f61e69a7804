//! The notification service: channels, their subscriptions, and a WebSocket per channel at
//! the `connectUri` the channel is created with (`ws://127.0.0.1:PORT/channels/{id}`).
//!
//! As in Genesys Cloud: heartbeats (`channel.metadata`, "WebSocket Heartbeat") at an interval,
//! `{"message":"ping"}` answered by a pong, one socket per channel (a second connection closes
//! the first), at most 1,000 topics per channel (a 400 past that), 20 channels per OAuth
//! client (a new one replaces the client's oldest channel without a connection, or its oldest
//! channel when all are connected), a channel lifetime. Faults for tests, as the service may
//! behave: close the sockets (with a close frame), cut them (no close frame), silence them (no
//! heartbeat, pong or event; events published meanwhile are lost to them), send
//! `v2.system.socket_closing` and close later, stop heartbeats, expire a channel, refuse
//! subscriptions, revoke the token (the channel falls silent at once), and events that share a
//! correlation id.

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Topics one channel may hold.
pub const TOPIC_LIMIT: usize = 1_000;
/// Channels one client may hold; a new one replaces the oldest without a connection.
pub const CHANNEL_LIMIT: usize = 20;

/// What a socket's writer task is told to do.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// Close the socket (a server-side drop, with a close frame).
    Close,
    /// Cut the connection: no close frame.
    Abort,
}

#[derive(Default)]
struct Channel {
    /// The OAuth client that made it.
    owner: String,
    /// The connection number of its socket that is silent (no heartbeat, pong or event goes
    /// to it); a socket connected later is not.
    silent: Option<u64>,
    topics: BTreeSet<String>,
    /// The writer of the connected socket and its connection number.
    socket: Option<(u64, mpsc::UnboundedSender<Outgoing>)>,
    created: u64,
    expires: Option<SystemTime>,
}

/// The notification service of the mock.
pub(crate) struct Hub {
    base: Mutex<String>,
    channels: Mutex<BTreeMap<String, Channel>>,
    next: AtomicU64,
    heartbeats: AtomicBool,
    refuse_subscriptions: AtomicBool,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) channel_lifetime: Duration,
    published: AtomicU64,
}

/// Locks `m`, poisoned or not (the state stays usable after a panicking test thread).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The body of a subscription request (`[{"id": topic}]`) as topic names; the combined form
/// `v2.users.{id}?presence&routingStatus` stands for one topic per part.
pub(crate) fn topics_of(body: &[u8]) -> Result<Vec<String>, String> {
    let list: Vec<Value> = serde_json::from_slice(body).map_err(|e| format!("a list of topics: {e}"))?;
    let mut out = Vec::new();
    for item in list {
        let id = item.get("id").and_then(Value::as_str).ok_or("each topic needs an id")?;
        match id.split_once('?') {
            Some((base, parts)) => out.extend(parts.split('&').map(|p| format!("{base}.{p}"))),
            None => out.push(id.to_owned()),
        }
    }
    Ok(out)
}

impl Channel {
    /// Whether its socket is silent now.
    fn is_silent(&self) -> bool {
        self.silent.is_some() && self.socket.as_ref().map(|(n, _)| *n) == self.silent
    }

    /// Silences its current socket (`on`), or lets it speak again.
    fn set_silent(&mut self, on: bool) {
        self.silent = if on { self.socket.as_ref().map(|(n, _)| *n) } else { None };
    }
}

impl Hub {
    pub(crate) fn new(heartbeat_interval: Duration, channel_lifetime: Duration) -> Self {
        Self {
            base: Mutex::new(String::new()),
            channels: Mutex::new(BTreeMap::new()),
            next: AtomicU64::new(1),
            heartbeats: AtomicBool::new(true),
            refuse_subscriptions: AtomicBool::new(false),
            heartbeat_interval,
            channel_lifetime,
            published: AtomicU64::new(0),
        }
    }

    /// The `ws://` base of the sockets.
    pub(crate) fn base(&self) -> String {
        lock(&self.base).clone()
    }

    pub(crate) fn set_base(&self, ws_base: String) {
        *lock(&self.base) = ws_base;
    }

    /// `POST /api/v2/notifications/channels` for OAuth client `owner`.
    pub(crate) fn create_channel(&self, owner: &str) -> Value {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        let id = format!("streaming-{n:04}-mock");
        let expires = SystemTime::now() + self.channel_lifetime;
        let mut channels = lock(&self.channels);
        let owned = |c: &&Channel| c.owner == owner;
        if channels.values().filter(owned).count() >= CHANNEL_LIMIT {
            // The client's oldest channel without a connection goes (Genesys Cloud's rule);
            // when all are connected, its oldest channel, whose socket is closed.
            let oldest = |connected: bool| {
                channels
                    .iter()
                    .filter(|(_, c)| c.owner == owner && (connected || c.socket.is_none()))
                    .min_by_key(|(_, c)| c.created)
                    .map(|(k, _)| k.clone())
            };
            if let Some(k) = oldest(false).or_else(|| oldest(true)) {
                if let Some((_, tx)) = channels.remove(&k).and_then(|c| c.socket) {
                    let _ = tx.send(Outgoing::Close);
                }
            }
        }
        let channel = Channel { owner: owner.to_owned(), created: n, expires: Some(expires), ..Default::default() };
        channels.insert(id.clone(), channel);
        let connect = format!("{}/channels/{id}", lock(&self.base));
        json!({"id": id, "connectUri": connect, "expires": httpdate_rfc3339(expires)})
    }

    /// Whether the channel exists and has not expired (`HEAD …/channels/{id}`).
    pub(crate) fn is_valid(&self, id: &str) -> bool {
        let channels = lock(&self.channels);
        channels.get(id).is_some_and(|c| c.expires.is_none_or(|e| SystemTime::now() < e))
    }

    /// The topics of a channel, `None` when there is no such channel.
    pub(crate) fn topics(&self, id: &str) -> Option<Vec<String>> {
        lock(&self.channels).get(id).map(|c| c.topics.iter().cloned().collect())
    }

    /// Adds (`replace` false) or replaces the topics of a channel.
    pub(crate) fn subscribe(&self, id: &str, topics: Vec<String>, replace: bool) -> Result<Vec<String>, (u16, String)> {
        if self.refuse_subscriptions.load(Ordering::SeqCst) {
            return Err((400, "the subscription was refused (mock fault)".into()));
        }
        let mut channels = lock(&self.channels);
        let channel = channels.get_mut(id).ok_or((404, format!("channel {id} does not exist")))?;
        let mut next = if replace { BTreeSet::new() } else { channel.topics.clone() };
        next.extend(topics);
        if next.len() > TOPIC_LIMIT {
            return Err((400, format!("a channel holds at most {TOPIC_LIMIT} topics; asked for {}", next.len())));
        }
        channel.topics = next;
        Ok(channel.topics.iter().cloned().collect())
    }

    /// `DELETE …/subscriptions`.
    pub(crate) fn unsubscribe_all(&self, id: &str) -> bool {
        lock(&self.channels).get_mut(id).map(|c| c.topics.clear()).is_some()
    }

    /// A socket connected to channel `id`: returns its connection number and its queue,
    /// closing the channel's previous socket (one socket per channel).
    pub(crate) fn attach(&self, id: &str) -> Option<(u64, mpsc::UnboundedReceiver<Outgoing>)> {
        let mut channels = lock(&self.channels);
        let channel = channels.get_mut(id)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        if let Some((_, old)) = channel.socket.replace((n, tx)) {
            let _ = old.send(Outgoing::Close);
        }
        Some((n, rx))
    }

    fn detach(&self, id: &str, n: u64) {
        if let Some(c) = lock(&self.channels).get_mut(id) {
            if c.socket.as_ref().is_some_and(|(k, _)| *k == n) {
                c.socket = None;
            }
        }
    }

    /// Sends one event of `topic` to every connected channel subscribed to it; returns how
    /// many sockets it was sent to (a silent socket's event is lost, and not counted).
    pub(crate) fn publish(&self, topic: &str, body: &Value) -> usize {
        let n = self.published.fetch_add(1, Ordering::SeqCst) + 1;
        self.publish_with(topic, body, &format!("mock-event-{n:08}"))
    }

    /// [`publish`](Self::publish) with this correlation id (the service does not promise
    /// unique ones).
    pub(crate) fn publish_with(&self, topic: &str, body: &Value, correlation_id: &str) -> usize {
        // In the service's order: topicName, version, eventBody, metadata.
        let text = format!(
            r#"{{"topicName":{},"version":"2","eventBody":{body},"metadata":{{"CorrelationId":{}}}}}"#,
            Value::String(topic.to_owned()),
            Value::String(correlation_id.to_owned())
        );
        let channels = lock(&self.channels);
        let mut sent = 0;
        for c in channels.values().filter(|c| c.topics.contains(topic) && !c.is_silent()) {
            if let Some((_, tx)) = &c.socket {
                if tx.send(Outgoing::Text(text.clone())).is_ok() {
                    sent += 1;
                }
            }
        }
        sent
    }

    /// Sends `text` to every connected socket that is not silent.
    fn broadcast(&self, text: &str) {
        for c in lock(&self.channels).values().filter(|c| !c.is_silent()) {
            if let Some((_, tx)) = &c.socket {
                let _ = tx.send(Outgoing::Text(text.to_owned()));
            }
        }
    }

    /// Fault: every socket is closed by the server.
    pub(crate) fn drop_sockets(&self) {
        for c in lock(&self.channels).values_mut() {
            if let Some((_, tx)) = c.socket.take() {
                let _ = tx.send(Outgoing::Close);
            }
        }
    }

    /// Fault: every socket is cut, with no close frame (a network drop, a crashed node).
    pub(crate) fn abort_sockets(&self) {
        for c in lock(&self.channels).values_mut() {
            if let Some((_, tx)) = c.socket.take() {
                let _ = tx.send(Outgoing::Abort);
            }
        }
    }

    /// Fault: every channel's socket falls silent (on), or speaks again (off): a silent socket
    /// stays open but gets no heartbeat, pong or event, and events published meanwhile are
    /// lost to it. A socket that connects to the channel later is not silent.
    pub(crate) fn silence(&self, on: bool) {
        for c in lock(&self.channels).values_mut() {
            c.set_silent(on);
        }
    }

    /// Fault: channel `id` alone falls silent (`on`) or speaks again; whether it exists.
    pub(crate) fn silence_channel(&self, id: &str, on: bool) -> bool {
        lock(&self.channels).get_mut(id).map(|c| c.set_silent(on)).is_some()
    }

    /// Whether channel `id` is silent now.
    fn is_silent(&self, id: &str) -> bool {
        lock(&self.channels).get(id).is_some_and(Channel::is_silent)
    }

    /// Fault: `v2.system.socket_closing` on every socket, which closes `grace` later.
    pub(crate) fn socket_closing(&self, grace: Duration) {
        self.broadcast(
            &json!({"topicName": "v2.system.socket_closing", "eventBody": {"message": "socket closing"}}).to_string(),
        );
        let sockets: Vec<mpsc::UnboundedSender<Outgoing>> =
            lock(&self.channels).values().filter_map(|c| c.socket.as_ref().map(|(_, tx)| tx.clone())).collect();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            for tx in sockets {
                let _ = tx.send(Outgoing::Close);
            }
        });
    }

    /// Fault: heartbeats stop (and pings go unanswered) until turned on again.
    pub(crate) fn set_heartbeats(&self, on: bool) {
        self.heartbeats.store(on, Ordering::SeqCst);
    }

    /// Fault: subscription requests are refused with a 400.
    pub(crate) fn set_refuse_subscriptions(&self, on: bool) {
        self.refuse_subscriptions.store(on, Ordering::SeqCst);
    }

    /// Fault: every channel expires now (its socket is closed; `HEAD` answers 404).
    pub(crate) fn expire_channels(&self) {
        let mut channels = lock(&self.channels);
        for c in channels.values_mut() {
            c.expires = Some(SystemTime::UNIX_EPOCH);
            if let Some((_, tx)) = c.socket.take() {
                let _ = tx.send(Outgoing::Close);
            }
        }
    }

    /// Fault: `v2.system.token_revoked.{id}` on every socket, whose channel falls silent at
    /// once (the service may stop delivering on a revoked channel right away): events published
    /// after it are lost to it, and the socket stays open until the client leaves it.
    pub(crate) fn revoke_token(&self) {
        self.broadcast(
            &json!({"topicName": "v2.system.token_revoked.mock", "eventBody": {"message": "token revoked"}})
                .to_string(),
        );
        self.silence(true);
    }

    /// How many channels exist and how many have a socket.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let channels = lock(&self.channels);
        (channels.len(), channels.values().filter(|c| c.socket.is_some()).count())
    }

    /// How many channels OAuth client `owner` has, and how many of them have a socket.
    pub(crate) fn counts_of(&self, owner: &str) -> (usize, usize) {
        let channels = lock(&self.channels);
        let owned: Vec<&Channel> = channels.values().filter(|c| c.owner == owner).collect();
        (owned.len(), owned.iter().filter(|c| c.socket.is_some()).count())
    }

    /// Runs one WebSocket of channel `id` until either side closes it.
    pub(crate) async fn run_socket<S>(&self, id: String, ws: tokio_tungstenite::WebSocketStream<S>)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let Some((n, mut outgoing)) = self.attach(&id) else { return };
        let (mut sink, mut incoming) = ws.split();
        let heartbeat =
            json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}).to_string();
        let pong = json!({"topicName": "channel.metadata", "eventBody": {"message": "pong"}}).to_string();
        let mut ticker = tokio::time::interval(self.heartbeat_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                out = outgoing.recv() => match out {
                    Some(Outgoing::Text(t)) => {
                        if sink.send(Message::text(t)).await.is_err() { break; }
                    }
                    Some(Outgoing::Close) | None => {
                        let _ = sink.send(Message::Close(None)).await;
                        break;
                    }
                    // Dropped without a close frame: the client sees the connection end.
                    Some(Outgoing::Abort) => break,
                },
                _ = ticker.tick() => {
                    let beat = self.heartbeats.load(Ordering::SeqCst) && !self.is_silent(&id);
                    if beat && sink.send(Message::text(heartbeat.clone())).await.is_err() {
                        break;
                    }
                }
                msg = incoming.next() => match msg {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                        let answer = self.heartbeats.load(Ordering::SeqCst) && !self.is_silent(&id);
                        match v.get("message").and_then(Value::as_str) {
                            Some("ping") if answer && sink.send(Message::text(pong.clone())).await.is_err() => break,
                            Some("subscribe") => {
                                let topics: Vec<String> = v["topics"].as_array().into_iter().flatten()
                                    .filter_map(Value::as_str).map(str::to_owned).collect();
                                let _ = self.subscribe(&id, topics, false);
                            }
                            _ => {}
                        }
                    }
                    Some(Ok(Message::Ping(p))) if !self.is_silent(&id) => { let _ = sink.send(Message::Pong(p)).await; }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
        self.detach(&id, n);
    }
}

/// `2026-12-01T10:00:00.000Z`.
fn httpdate_rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_and_combined_topics() {
        let t = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_764_583_200);
        assert_eq!(super::httpdate_rfc3339(t), "2025-12-01T10:00:00.000Z");
        let topics = super::topics_of(br#"[{"id":"v2.users.u1?presence&routingStatus"},{"id":"v2.x"}]"#).unwrap();
        assert_eq!(topics, ["v2.users.u1.presence", "v2.users.u1.routingStatus", "v2.x"]);
    }
}
