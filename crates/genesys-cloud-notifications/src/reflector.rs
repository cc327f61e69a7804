//! A live local view, in the manner of kube-runtime's reflector: the presence and routing
//! status of the users you pick and the members of the queues you pick, filled by a listing,
//! kept current by the notification stream, and made whole again by the stream's state after
//! every gap or loss. Reads answer from memory.

use crate::item::{ConnectionEvent, Item};
use crate::resync::{Fetch, ResyncState};
use crate::{Notifications, Payload, Subscription, Topic, UserPart};
use chrono::{DateTime, Utc};
use genesys_cloud_api::Tags as _;
use genesys_cloud_core::Error;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, PoisonError, RwLock};

/// A user's presence as the view keeps it (from an event or from the API alike).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct PresenceState {
    /// The presence definition's id.
    pub definition_id: Option<String>,
    /// Its system presence (`Available`, `Busy`, `On Queue`, …).
    pub system_presence: Option<String>,
    /// The user's message.
    pub message: Option<String>,
    /// When it was set.
    pub modified: Option<DateTime<Utc>>,
}

/// A user's routing status as the view keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RoutingState {
    /// `OFF_QUEUE`, `IDLE`, `INTERACTING`, …
    pub status: Option<String>,
    /// Since when.
    pub since: Option<DateTime<Utc>>,
}

/// One user in the view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UserState {
    /// The presence, once known.
    pub presence: Option<PresenceState>,
    /// The routing status, once known.
    pub routing: Option<RoutingState>,
}

/// What changed in the view.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// A user's state, as it is now.
    User {
        /// The user id.
        id: String,
        /// The state now.
        state: UserState,
    },
    /// A queue's members, as they are now (user id → joined).
    Queue {
        /// The queue id.
        id: String,
        /// Its members now.
        members: BTreeMap<String, bool>,
    },
    /// The stream had a gap (or dropped events): the view is made whole again by the state
    /// fetched after it, which comes as `User` and `Queue` changes.
    Gap {
        /// From when events may have been missed.
        start: DateTime<Utc>,
        /// Until when.
        end: DateTime<Utc>,
    },
    /// This receiver was slower than the changes and missed this many: read the view again
    /// ([`Reflector::users`], [`Reflector::queue`]).
    Lagged(u64),
}

#[derive(Default)]
struct View {
    users: HashMap<String, UserState>,
    queues: HashMap<String, BTreeMap<String, bool>>,
}

/// A live local view of users' presence and routing status and queues' members.
/// [`get`](Self::get), [`users`](Self::users) and [`queue`](Self::queue) answer from memory;
/// [`changes`](Self::changes) streams what changed. Dropping it closes its subscription.
///
/// Built by [`Notifications::reflect`]: it subscribes first (so nothing between the listing and
/// the subscription is missed), lists the picked users (`GET /api/v2/users` with `id` and
/// `expand=presence,routingStatus`, 100 a page) and the queues' members, then applies every
/// event in order. After a gap or a loss the stream fetches the state of each affected topic
/// again ([`Item::Resync`]), which replaces what the view held. A presence or routing status
/// older than the one held (by its time) is not applied, so a late event cannot undo a newer
/// listing.
///
/// Each user takes two of a channel's 1,000 topics (presence and routing status), each queue
/// one; a client's subscriptions hold 19 channels, so one reflector follows at most 9,500
/// users (spread the rest over another OAuth client, or over a fleet's processes).
pub struct Reflector {
    view: Arc<RwLock<View>>,
    changes: tokio::sync::broadcast::Sender<Change>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Reflector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Reflector").field("users", &view.users.len()).field("queues", &view.queues.len()).finish()
    }
}

impl Drop for Reflector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The changes of a [`Reflector`], as a stream a consumer reads at its own pace.
#[derive(Debug)]
pub struct Changes(tokio::sync::broadcast::Receiver<Change>);

impl Changes {
    /// The next change (`None` once the reflector is gone). A consumer slower than the
    /// changes gets [`Change::Lagged`] where it missed some.
    pub async fn next(&mut self) -> Option<Change> {
        match self.0.recv().await {
            Ok(change) => Some(change),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => Some(Change::Lagged(n)),
            Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
        }
    }
}

impl Reflector {
    /// A user's state, from memory.
    pub fn get(&self, user_id: &str) -> Option<UserState> {
        self.view.read().unwrap_or_else(PoisonError::into_inner).users.get(user_id).cloned()
    }

    /// Every user's state, from memory (a copy, sorted by id).
    pub fn users(&self) -> Vec<(String, UserState)> {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        let mut users: Vec<(String, UserState)> = view.users.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        users.sort_by(|a, b| a.0.cmp(&b.0));
        users
    }

    /// A queue's members (user id → joined), from memory.
    pub fn queue(&self, queue_id: &str) -> Option<BTreeMap<String, bool>> {
        self.view.read().unwrap_or_else(PoisonError::into_inner).queues.get(queue_id).cloned()
    }

    /// The changes from now on (up to 4,096 ahead of the slowest reader, which is then told it
    /// lagged).
    pub fn changes(&self) -> Changes {
        Changes(self.changes.subscribe())
    }
}

impl From<&models::PresenceEventUserPresence> for PresenceState {
    fn from(p: &models::PresenceEventUserPresence) -> Self {
        let definition = p.presence_definition.as_ref();
        Self {
            definition_id: definition.and_then(|d| d.id.clone()),
            system_presence: definition.and_then(|d| d.system_presence.clone()),
            message: p.message.clone(),
            modified: p.modified_date,
        }
    }
}

impl From<&models::UserPresence> for PresenceState {
    fn from(p: &models::UserPresence) -> Self {
        let definition = p.presence_definition.as_ref();
        Self {
            definition_id: definition.and_then(|d| d.id.clone()),
            system_presence: definition.and_then(|d| d.system_presence.clone()),
            message: p.message.clone(),
            modified: p.modified_date,
        }
    }
}

impl From<&models::RoutingStatus> for RoutingState {
    fn from(r: &models::RoutingStatus) -> Self {
        Self { status: r.status.as_ref().map(|s| s.as_str().to_owned()), since: r.start_time }
    }
}

/// Whether a state of time `new` may replace one of time `held` (unknown times always may).
fn newer(new: Option<DateTime<Utc>>, held: Option<DateTime<Utc>>) -> bool {
    match (new, held) {
        (Some(new), Some(held)) => new >= held,
        _ => true,
    }
}

impl View {
    fn presence(&mut self, user: &str, presence: PresenceState, forced: bool) -> Option<Change> {
        let state = self.users.entry(user.to_owned()).or_default();
        let held = state.presence.as_ref().and_then(|p| p.modified);
        if !forced && !newer(presence.modified, held) {
            return None;
        }
        state.presence = Some(presence);
        Some(Change::User { id: user.to_owned(), state: state.clone() })
    }

    fn routing(&mut self, user: &str, routing: RoutingState, forced: bool) -> Option<Change> {
        let state = self.users.entry(user.to_owned()).or_default();
        let held = state.routing.as_ref().and_then(|r| r.since);
        if !forced && !newer(routing.since, held) {
            return None;
        }
        state.routing = Some(routing);
        Some(Change::User { id: user.to_owned(), state: state.clone() })
    }

    fn member(&mut self, queue: &str, user: &str, joined: bool) -> Change {
        let members = self.queues.entry(queue.to_owned()).or_default();
        members.insert(user.to_owned(), joined);
        Change::Queue { id: queue.to_owned(), members: members.clone() }
    }

    /// Applies one item of the stream; what changed.
    fn apply(&mut self, item: &Item) -> Option<Change> {
        match item {
            Item::Event(e) => {
                let parts: Vec<&str> = e.topic.split('.').collect();
                match (&e.payload, parts.as_slice()) {
                    (Payload::UsersPresence(p), ["v2", "users", id, "presence"]) => {
                        self.presence(id, PresenceState::from(&**p), false)
                    }
                    (Payload::UsersRoutingStatus(r), ["v2", "users", id, "routingStatus"]) => {
                        let status = r.routing_status.as_ref();
                        let routing = RoutingState {
                            status: status.and_then(|s| s.status.as_ref()).map(|s| s.as_str().to_owned()),
                            since: status.and_then(|s| s.start_time),
                        };
                        self.routing(id, routing, false)
                    }
                    (Payload::RoutingQueuesUsers(m), ["v2", "routing", "queues", queue, "users"]) => {
                        let user = m.user.as_ref().and_then(|u| u.id.clone()).or_else(|| m.id.clone())?;
                        Some(self.member(queue, &user, m.joined.unwrap_or(true)))
                    }
                    _ => None,
                }
            }
            Item::Resync(r) => match r.state.as_ref().ok()? {
                ResyncState::Presence { user_id, presence } => {
                    self.presence(user_id, PresenceState::from(&**presence), true)
                }
                ResyncState::RoutingStatus { user_id, status } => {
                    self.routing(user_id, RoutingState::from(status), true)
                }
                ResyncState::QueueMembers { queue_id, members } => {
                    let now = joined(members);
                    self.queues.insert(queue_id.clone(), now.clone());
                    Some(Change::Queue { id: queue_id.clone(), members: now })
                }
            },
            Item::Connection(ConnectionEvent::Gap { start, end }) => Some(Change::Gap { start: *start, end: *end }),
            Item::Lost { from, to, .. } => Some(Change::Gap { start: *from, end: *to }),
            _ => None,
        }
    }
}

impl Notifications {
    /// A [`Reflector`] of the presence and routing status of `users` and the members of
    /// `queues`: subscribed, listed, then kept current by the stream (through this listener's
    /// client, its pacing and, when set, its fleet's leases).
    pub async fn reflect<U, Q>(&self, users: U, queues: Q) -> Result<Reflector, Error>
    where
        U: IntoIterator,
        U::Item: Into<String>,
        Q: IntoIterator,
        Q::Item: Into<String>,
    {
        let users: Vec<String> = users.into_iter().map(Into::into).collect();
        let queues: Vec<String> = queues.into_iter().map(Into::into).collect();
        let mut topics = Vec::new();
        for user in &users {
            topics
                .push(Topic::user_combined(user, &[UserPart::Presence, UserPart::RoutingStatus]).map_err(topic_error)?);
        }
        for queue in &queues {
            topics.push(crate::topics::routing_queues_users(queue).map_err(topic_error)?);
        }
        // Subscribed first: events from here on wait in the stream while the listing runs.
        let subscription = self.subscribe(topics).await?;
        let mut view = View::default();
        let api = crate::api::Api(self.executor.clone());
        for chunk in users.chunks(100) {
            let listing = api
                .users()
                .get_users()
                .id(chunk.iter().cloned())
                .expand(["presence", "routingStatus"])
                .page_size(100)
                .send()
                .await?;
            for user in listing.entities.unwrap_or_default() {
                let Some(id) = user.id.clone() else { continue };
                let state = view.users.entry(id).or_default();
                state.presence = user.presence.as_ref().map(PresenceState::from);
                state.routing = user.routing_status.as_ref().map(RoutingState::from);
            }
        }
        for queue in &queues {
            let fetched =
                crate::resync::fetch(self.executor.clone(), String::new(), &Fetch::QueueMembers(queue.clone())).await;
            if let Ok(ResyncState::QueueMembers { members, .. }) = fetched.state {
                view.queues.insert(queue.clone(), joined(&members));
            } else if let Err(e) = fetched.state {
                return Err(Error::build(format!("the members of queue {queue}: {e}")));
            }
        }
        let view = Arc::new(RwLock::new(view));
        let (changes, _) = tokio::sync::broadcast::channel(4096);
        let task = tokio::spawn(keep(subscription, view.clone(), changes.clone()));
        Ok(Reflector { view, changes, task })
    }
}

/// A queue's members as the view keeps them: user id → joined.
fn joined(members: &[models::QueueMember]) -> BTreeMap<String, bool> {
    members.iter().filter_map(|m| Some((m.id.clone()?, m.joined.unwrap_or(true)))).collect()
}

fn topic_error(e: crate::TopicError) -> Error {
    Error::build(e.to_string())
}

/// Applies the stream's items to the view until the stream ends.
async fn keep(
    mut subscription: Subscription,
    view: Arc<RwLock<View>>,
    changes: tokio::sync::broadcast::Sender<Change>,
) {
    while let Some(item) = subscription.next().await {
        let change = view.write().unwrap_or_else(PoisonError::into_inner).apply(&item);
        if let Some(change) = change {
            // No reader is not an error: the view is still kept.
            let _ = changes.send(change);
        }
    }
}
