//! A live local view, in the manner of kube-runtime's reflector: the presence and routing
//! status of the users you pick, the members of the queues you pick, and the conversations
//! in the queues you pick, filled by a listing, kept current by the notification stream, and
//! made whole again by the stream's state after every gap or loss. Reads answer from memory.

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

/// A conversation in a queue, as the view keeps it: waiting in the queue, or connected to an
/// agent through it (the queue observations' `oWaiting` and `oInteracting`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueConversation {
    /// Waiting in the queue: it has an `acd` participant of the queue that has not ended.
    Waiting,
    /// With an agent of the queue: it has an `agent` participant of the queue that has not
    /// ended.
    Interacting {
        /// The agent's user id, when known.
        user_id: Option<String>,
    },
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
    /// A conversation of a queue whose conversations the view follows, as it is now: `None`
    /// once it has left the queue (it ended, or was transferred out).
    Conversation {
        /// The queue id.
        queue: String,
        /// The conversation id.
        id: String,
        /// Its place in the queue now.
        now: Option<QueueConversation>,
    },
    /// The service truncated a queue's observations (more conversations than it details):
    /// the view holds those it listed, and follows the rest as events tell of them.
    Truncated {
        /// The queue id.
        queue: String,
    },
    /// The stream had a gap (or dropped events): the view is made whole again by the state
    /// fetched after it, which comes as `User`, `Queue` and `Conversation` changes.
    Gap {
        /// From when events may have been missed.
        start: DateTime<Utc>,
        /// Until when.
        end: DateTime<Utc>,
    },
    /// This receiver was slower than the changes and missed this many: read the view again
    /// ([`Reflector::users`], [`Reflector::queue`], [`Reflector::conversations`]).
    Lagged(u64),
}

#[derive(Default)]
struct View {
    users: HashMap<String, UserState>,
    queues: HashMap<String, BTreeMap<String, bool>>,
    conversations: HashMap<String, BTreeMap<String, QueueConversation>>,
}

/// A live local view of users' presence and routing status, queues' members and queues'
/// conversations. [`get`](Self::get), [`users`](Self::users), [`queue`](Self::queue) and
/// [`conversations`](Self::conversations) answer from memory; [`changes`](Self::changes)
/// streams what changed. Dropping it closes its subscription.
///
/// Built by [`Notifications::reflector`]: it subscribes first (so nothing between the listing
/// and the subscription is missed), lists the picked users (`GET /api/v2/users` with `id` and
/// `expand=presence,routingStatus`, 100 a page), the queues' members, and the queues'
/// conversations (the queue observations query, `oWaiting` and `oInteracting` in detail), then
/// applies every event in order. After a gap or a loss the stream fetches the state of each
/// affected topic again ([`Item::Resync`]), which replaces what the view held. A presence or
/// routing status older than the one held (by its time) is not applied, so a late event
/// cannot undo a newer listing.
///
/// Each user takes two of a channel's 1,000 topics (presence and routing status), each queue
/// one per part followed; a client's subscriptions hold 19 channels, so one reflector follows
/// at most 9,500 users (spread the rest over another OAuth client, or over a fleet's
/// processes).
pub struct Reflector {
    view: Arc<RwLock<View>>,
    changes: tokio::sync::broadcast::Sender<Change>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Reflector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("Reflector")
            .field("users", &view.users.len())
            .field("queues", &view.queues.len())
            .field("conversation_queues", &view.conversations.len())
            .finish()
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

    /// A queue's conversations (conversation id → waiting or with an agent), from memory;
    /// `None` for a queue whose conversations the view does not follow.
    pub fn conversations(&self, queue_id: &str) -> Option<BTreeMap<String, QueueConversation>> {
        self.view.read().unwrap_or_else(PoisonError::into_inner).conversations.get(queue_id).cloned()
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

    /// Sets one conversation of `queue` (`None`: it left); the change, when there is one.
    fn conversation(&mut self, queue: &str, id: &str, now: Option<QueueConversation>) -> Option<Change> {
        let held = self.conversations.entry(queue.to_owned()).or_default();
        let before = match &now {
            Some(state) => held.insert(id.to_owned(), state.clone()),
            None => held.remove(id),
        };
        (before != now).then(|| Change::Conversation { queue: queue.to_owned(), id: id.to_owned(), now })
    }

    /// Replaces `queue`'s conversations with `now`: a change for each that differs.
    fn conversations_now(&mut self, queue: &str, now: BTreeMap<String, QueueConversation>) -> Vec<Change> {
        let held = self.conversations.insert(queue.to_owned(), now.clone()).unwrap_or_default();
        let left = held.keys().filter(|id| !now.contains_key(*id)).map(|id| (id.clone(), None));
        let changed =
            now.iter().filter(|(id, state)| held.get(*id) != Some(state)).map(|(id, s)| (id.clone(), Some(s.clone())));
        left.chain(changed).map(|(id, now)| Change::Conversation { queue: queue.to_owned(), id, now }).collect()
    }

    /// Applies one item of the stream (or a state fetched at the start); what changed.
    fn apply(&mut self, item: &Item) -> Vec<Change> {
        let one = |change: Option<Change>| change.into_iter().collect();
        match item {
            Item::Event(e) => {
                let parts: Vec<&str> = e.topic.split('.').collect();
                match (&e.payload, parts.as_slice()) {
                    (Payload::UsersPresence(p), ["v2", "users", id, "presence"]) => {
                        one(self.presence(id, PresenceState::from(&**p), false))
                    }
                    (Payload::UsersRoutingStatus(r), ["v2", "users", id, "routingStatus"]) => {
                        let status = r.routing_status.as_ref();
                        let routing = RoutingState {
                            status: status.and_then(|s| s.status.as_ref()).map(|s| s.as_str().to_owned()),
                            since: status.and_then(|s| s.start_time),
                        };
                        one(self.routing(id, routing, false))
                    }
                    (Payload::RoutingQueuesUsers(m), ["v2", "routing", "queues", queue, "users"]) => {
                        let user = m.user.as_ref().and_then(|u| u.id.clone()).or_else(|| m.id.clone());
                        one(user.map(|user| self.member(queue, &user, m.joined.unwrap_or(true))))
                    }
                    (Payload::RoutingQueuesConversations(c), ["v2", "routing", "queues", queue, "conversations"]) => {
                        one(c.id.as_deref().and_then(|id| self.conversation(queue, id, in_queue(queue, c))))
                    }
                    _ => Vec::new(),
                }
            }
            Item::Resync(r) => match &r.state {
                Ok(ResyncState::Presence { user_id, presence }) => {
                    one(self.presence(user_id, PresenceState::from(&**presence), true))
                }
                Ok(ResyncState::RoutingStatus { user_id, status }) => {
                    one(self.routing(user_id, RoutingState::from(status), true))
                }
                Ok(ResyncState::QueueMembers { queue_id, members }) => {
                    let now = joined(members);
                    self.queues.insert(queue_id.clone(), now.clone());
                    vec![Change::Queue { id: queue_id.clone(), members: now }]
                }
                Ok(ResyncState::QueueConversations { queue_id, observations }) => {
                    let (now, truncated) = observed(queue_id, observations);
                    let mut changes = self.conversations_now(queue_id, now);
                    if truncated {
                        changes.push(Change::Truncated { queue: queue_id.clone() });
                    }
                    changes
                }
                _ => Vec::new(),
            },
            Item::Connection(ConnectionEvent::Gap { start, end }) => vec![Change::Gap { start: *start, end: *end }],
            Item::Lost { from, to, .. } => vec![Change::Gap { start: *from, end: *to }],
            _ => Vec::new(),
        }
    }
}

impl Notifications {
    /// A [`Reflector`] to build: pick what it follows, then [`start`](ReflectorBuilder::start)
    /// it. It runs through this listener's client, its pacing and, when set, its fleet's
    /// leases.
    pub fn reflector(&self) -> ReflectorBuilder<'_> {
        ReflectorBuilder { notifications: self, users: Vec::new(), members: Vec::new(), conversations: Vec::new() }
    }
}

/// What a [`Reflector`] follows, picked before it starts
/// (`listener.reflector().users(ids).queue_members(queues).start().await?`).
#[derive(Debug)]
#[must_use = "a reflector does nothing until it is started"]
pub struct ReflectorBuilder<'a> {
    notifications: &'a Notifications,
    users: Vec<String>,
    members: Vec<String>,
    conversations: Vec<String>,
}

impl ReflectorBuilder<'_> {
    /// Follows these users' presence and routing status.
    pub fn users<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.users.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Follows these queues' members (`v2.routing.queues.{id}.users`).
    pub fn queue_members<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.members.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Follows the conversations in these queues, waiting or with an agent
    /// (`v2.routing.queues.{id}.conversations`, listed by the queue observations query).
    pub fn queue_conversations<I>(mut self, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.conversations.extend(ids.into_iter().map(Into::into));
        self
    }

    /// Subscribes, lists what was picked, and keeps the view current from then on.
    pub async fn start(self) -> Result<Reflector, Error> {
        let Self { notifications, users, members: queues, conversations } = self;
        let mut topics = Vec::new();
        for user in &users {
            topics
                .push(Topic::user_combined(user, &[UserPart::Presence, UserPart::RoutingStatus]).map_err(topic_error)?);
        }
        for queue in &queues {
            topics.push(crate::topics::routing_queues_users(queue).map_err(topic_error)?);
        }
        for queue in &conversations {
            topics.push(crate::topics::routing_queues_conversations(queue).map_err(topic_error)?);
        }
        // Subscribed first: events from here on wait in the stream while the listing runs.
        let subscription = notifications.subscribe(topics).await?;
        let mut view = View::default();
        let executor = notifications.executor.clone();
        let api = crate::api::Api(executor.clone());
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
        // Each queue's state, taken into the view the way a resync is.
        let fetches = queues.iter().map(|q| Fetch::QueueMembers(q.clone()));
        for fetch in fetches.chain(conversations.iter().map(|q| Fetch::QueueConversations(q.clone()))) {
            let fetched = crate::resync::fetch(executor.clone(), String::new(), &fetch).await;
            if let Err(e) = &fetched.state {
                return Err(Error::build(format!("{fetch}: {e}")));
            }
            for change in view.apply(&Item::Resync(fetched)) {
                if let Change::Truncated { queue } = change {
                    tracing::warn!(%queue, "the queue's observations are truncated: the view starts with those listed");
                }
            }
        }
        let view = Arc::new(RwLock::new(view));
        let (changes, _) = tokio::sync::broadcast::channel(4096);
        let task = tokio::spawn(keep(subscription, view.clone(), changes.clone()));
        Ok(Reflector { view, changes, task })
    }
}

/// Where `conversation` stands in `queue`, by its participants of the queue that have not
/// ended: an agent's (interacting) first, then an `acd` one (waiting); `None` when it has none
/// (it left the queue).
fn in_queue(queue: &str, conversation: &models::QueueConversationEventTopicConversation) -> Option<QueueConversation> {
    let open: Vec<_> = conversation
        .participants
        .iter()
        .flatten()
        .filter(|p| p.queue_id.as_deref() == Some(queue) && p.end_time.is_none())
        .collect();
    if let Some(agent) = open.iter().find(|p| p.purpose.as_deref() == Some("agent")) {
        return Some(QueueConversation::Interacting { user_id: agent.user_id.clone() });
    }
    open.iter().any(|p| p.purpose.as_deref() == Some("acd")).then_some(QueueConversation::Waiting)
}

/// A queue's conversations as its observations list them, and whether the service truncated
/// them.
fn observed(
    queue: &str,
    answer: &models::QueueObservationQueryResponse,
) -> (BTreeMap<String, QueueConversation>, bool) {
    let mut now = BTreeMap::new();
    let mut truncated = false;
    let of_queue = answer
        .results
        .iter()
        .flatten()
        .filter(|r| r.group.as_ref().and_then(|g| g.get("queueId")).is_none_or(|q| q == queue));
    for data in of_queue.flat_map(|r| r.data.iter().flatten()) {
        truncated |= data.truncated == Some(true);
        for o in data.observations.iter().flatten() {
            let Some(id) = o.conversation_id.clone() else { continue };
            match data.metric.as_deref() {
                Some("oInteracting") => {
                    now.insert(id, QueueConversation::Interacting { user_id: o.user_id.clone() });
                }
                // An interacting observation wins over a waiting one of the same conversation.
                Some("oWaiting") => {
                    now.entry(id).or_insert(QueueConversation::Waiting);
                }
                _ => {}
            }
        }
    }
    (now, truncated)
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
        let changed = view.write().unwrap_or_else(PoisonError::into_inner).apply(&item);
        for change in changed {
            // No reader is not an error: the view is still kept.
            let _ = changes.send(change);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observations(truncated: bool) -> Item {
        let answer: models::QueueObservationQueryResponse = serde_json::from_value(serde_json::json!({
            "results": [{"group": {"queueId": "q1"}, "data": [
                {"metric": "oWaiting", "truncated": truncated, "observations": [{"conversationId": "c1"}, {"conversationId": "c2"}]},
                {"metric": "oInteracting", "observations": [{"conversationId": "c2", "userId": "u1"}]},
            ]}]
        }))
        .unwrap();
        let state = ResyncState::QueueConversations { queue_id: "q1".into(), observations: Box::new(answer) };
        Item::Resync(crate::Resync {
            topic: "v2.routing.queues.q1.conversations".into(),
            state: Ok(state),
            fetched: Utc::now(),
        })
    }

    #[test]
    fn observations_replace_a_queues_conversations_and_a_truncation_is_told() {
        let mut view = View::default();
        view.conversation("q1", "gone", Some(QueueConversation::Waiting));
        let changes = view.apply(&observations(false));
        let interacting = QueueConversation::Interacting { user_id: Some("u1".into()) };
        let expected = [("gone", None), ("c1", Some(QueueConversation::Waiting)), ("c2", Some(interacting.clone()))];
        let expected: Vec<Change> = expected
            .into_iter()
            .map(|(id, now)| Change::Conversation { queue: "q1".into(), id: id.into(), now })
            .collect();
        assert_eq!(changes, expected);
        assert!(view.apply(&observations(false)).is_empty(), "the same state again changes nothing");
        assert_eq!(view.apply(&observations(true)), [Change::Truncated { queue: "q1".into() }]);
    }
}
