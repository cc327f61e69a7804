//! Typed event streams over the Genesys Cloud notification service (its WebSocket) that heal
//! themselves.
//!
//! ```no_run
//! # async fn demo(client: genesys_cloud_core::SharedExecutor) -> Result<(), Box<dyn std::error::Error>> {
//! use futures_util::StreamExt as _;
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
//!   made the bounded buffer drop events.
//! - **It heals itself**: a dropped socket is reconnected with jittered backoff and every topic
//!   subscribed again; a quiet socket is pinged after 35 s (the service's heartbeat is every
//!   30 s) and replaced 10 s later without an answer; `v2.system.socket_closing`, a revoked
//!   token and the channel's 24-hour end move the stream to a new channel that is subscribed
//!   and connected before the old socket goes, events of the overlap delivered once. Whenever
//!   events may have been missed, a [`ConnectionEvent::Gap`] says from when to when, and
//!   **the state is made whole again**: for every subscribed topic with a REST counterpart (a
//!   user's presence and routing status, a queue's members) an [`Item::Resync`] follows with
//!   the state fetched through the API, before any event of the new socket.
//! - Channel and subscription calls are the client's generated Notifications operations, so
//!   its tokens, retries and logging apply; `wss://` uses rustls with the client's roots
//!   ([`Options::tls`]), through the client's proxy ([`Options::proxy`], a CONNECT tunnel).
//! - **Decoding** is one pass when `topicName` comes before `eventBody` (as the service writes
//!   them): the body is decoded into its type as the envelope is read.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod event;
mod listener;
mod resync;
mod topic;

#[rustfmt::skip]
#[allow(clippy::all, missing_docs)]
#[path = "generated/topics.rs"]
mod generated;

pub use event::{decode_event, DecodeFailure, EnvelopeError, Event, Undecodable};
pub use generated::{topics, Payload, PATTERNS};
pub use listener::{
    ConnectionEvent, Item, Notifications, Options, Subscription, CHANNELS_PER_CLIENT, TOPICS_PER_CHANNEL,
};
pub use resync::{Resync, ResyncError, ResyncState};
pub use topic::{Topic, TopicError, UserPart};
