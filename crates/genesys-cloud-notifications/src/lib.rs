//! Typed event streams over the Genesys Cloud notification service (its WebSocket) that heal
//! themselves.
//!
//! ```no_run
//! # async fn demo(client: genesys_cloud_core::SharedExecutor) -> Result<(), Box<dyn std::error::Error>> {
//! use genesys_cloud_notifications::{topics, Item, Notifications, Payload};
//!
//! let notifications = Notifications::new(client);
//! let mut stream = notifications
//!     .subscribe([topics::users_presence("user-id")?, topics::routing_queues_conversations("queue-id")?])
//!     .await?;
//! while let Some(item) = stream.next().await {
//!     match item {
//!         Item::Event(e) => match &e.payload {
//!             Payload::UsersPresence(p) => println!("{}: {:?}", e.topic, p.presence_definition),
//!             other => println!("{}: {}", e.topic, other.type_name()),
//!         },
//!         Item::Connection(c) => println!("connection: {c:?}"),
//!         other => println!("{other:?}"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! - **Topics** are built by one constructor per topic pattern of the service
//!   ([`topics`], generated from `spec/notification-topics.json`: 242 patterns), ids
//!   checked; [`Topic::user_combined`] gives `v2.users.{id}?presence&routingStatus`, and
//!   [`Topic::raw`] any other name.
//! - **One stream per subscription**, of [`Item`]s: events with their body typed by topic
//!   ([`Payload`], one variant per pattern, [`Payload::Raw`] for unknown topics), a body that
//!   does not fit its type as [`Item::Undecodable`] (raw JSON and the error; the stream goes
//!   on), connection changes ([`ConnectionEvent`]), and [`Item::Lost`] when a slow consumer
//!   made the bounded buffer drop events (how many, and over which time). Only events are
//!   ever dropped: connection changes, gaps and states always reach the consumer.
//!   [`Subscription::next`] needs no trait import.
//! - **It heals itself**: a dropped socket (closed, cut without a close frame, or silent) is
//!   reconnected with jittered backoff and every topic subscribed again; a quiet socket is
//!   pinged after 35 s (the service's heartbeat is every 30 s) and replaced 10 s later without
//!   an answer. `v2.system.socket_closing` and the channel's 24-hour end move the stream to a
//!   new channel with no gap: the old socket is read while the new channel is set up, then
//!   beside the new one until the new one has caught up, so events come once, and within each
//!   topic in the order the service sent them; the old channel's subscriptions are removed.
//!   A revoked token or `no_longer_subscribed` is a possible loss (the service may stop
//!   delivering at once): the stream reconnects and reports a gap.
//! - **Every loss is reported**: whenever events may have been missed, a
//!   [`ConnectionEvent::Gap`] says from when (a second before the lost socket's last frame)
//!   to when (the new socket up), and **the state is made whole again**: for every subscribed
//!   topic with a REST counterpart (a user's presence and routing status, a queue's members)
//!   an [`Item::Resync`] comes with the state fetched through the API, after a gap and after
//!   an [`Item::Lost`]. The socket is read meanwhile: events of other topics go on, and those of
//!   a topic being fetched wait for its state. The fetches go through the client (its pacing
//!   applies), [`Options::resync_concurrency`] at a time.
//! - **Every wait ends**: the socket's connection and handshakes within
//!   [`Options::connect_timeout`], a handover within 30 s, a shutdown within
//!   [`SHUTDOWN_LIMIT`]; each also ends when the consumer leaves.
//! - **Channels are budgeted per client**: the service allows 20 per user and app and replaces
//!   the oldest past that, so a client's subscriptions hold at most [`CHANNELS_IN_USE`] (19)
//!   together, one being kept for renewals, and renew one at a time ([`ChannelBudget`]).
//!   Processes of the same user and app share the service's 20 too.
//! - Channel and subscription calls are the client's generated Notifications operations, so
//!   its tokens, retries and logging apply; `wss://` uses rustls with the client's roots
//!   ([`Options::tls`]), through the client's proxy ([`Options::proxy`], a CONNECT tunnel).
//! - **A live local view** ([`Reflector`], from [`Notifications::reflector`]): the presence
//!   and routing status of the users you pick, and the members and conversations of the
//!   queues you pick, filled by a listing, kept current by the stream, made whole after every gap or loss by the
//!   state fetched then; reads answer from memory, and [`Reflector::changes`] streams what
//!   changed.
//! - **The same events from Amazon EventBridge** (the vendor's advice for backends):
//!   [`decode_eventbridge`] turns an event of the Genesys Cloud partner source (what a Lambda
//!   function is given, or an SQS record's body) into the same [`Event`] and [`Payload`], by
//!   the same topic table; [`decode_sqs_batch`] decodes an SQS batch record by record, going
//!   on past bad ones, and answers Lambda's partial batch response. No AWS crate is needed.
//! - **Decoding** is one pass when `topicName` comes before `eventBody` (as the service writes
//!   them): the body is decoded into its type as the envelope is read.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
mod event;
mod eventbridge;
mod item;
mod lease;
mod listener;
mod options;
mod queue;
mod reflector;
mod resync;
mod topic;
mod worker;

#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
#[path = "generated/topics.rs"]
mod generated;

pub use event::{decode_event, DecodeFailure, EnvelopeError, Event, Undecodable};
pub use eventbridge::{
    decode_eventbridge, decode_sqs_batch, BatchItemFailure, BatchResponse, BridgedEvent, SqsBatch, SqsRecord,
};
pub use generated::{topics, Payload, PATTERNS};
pub use item::{ConnectionEvent, Item};
pub use lease::{ChannelGrant, ChannelLeases, MemoryChannelLeases};
pub use listener::{Notifications, StreamStats, Subscription};
pub use options::{ChannelBudget, Options, CHANNELS_IN_USE, CHANNELS_PER_CLIENT, TOPICS_PER_CHANNEL};
pub use reflector::{
    Change, Changes, PresenceState, QueueConversation, Reflector, ReflectorBuilder, RoutingState, UserState,
};
pub use resync::{Resync, ResyncError, ResyncState};
pub use topic::{Topic, TopicError, UserPart};
pub use worker::SHUTDOWN_LIMIT;
