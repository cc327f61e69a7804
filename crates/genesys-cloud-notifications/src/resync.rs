//! After a gap, the current state of every subscribed topic that has a REST counterpart,
//! fetched through the client, so a live view built from events is whole again.

use crate::topic::Topic;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use genesys_cloud_api::Tags as _;
use genesys_cloud_core::{Error, SharedExecutor};

/// The state of one subscribed topic, fetched through the API after a
/// [`Gap`](crate::ConnectionEvent::Gap): what the events of the gap would have told.
///
/// It comes after the gap's `Gap` item (one per event topic, in topic-name order) and before
/// any event received on the new socket is handed on, so applying items in order leaves a
/// live view right.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Resync {
    /// The subscribed topic this state belongs to (`v2.users.{id}.presence`; for the
    /// combined form, the part's own topic name).
    pub topic: String,
    /// The state, or why it could not be fetched (the client's retries already spent).
    pub state: Result<ResyncState, ResyncError>,
    /// When it was fetched.
    pub fetched: DateTime<Utc>,
}

/// The state of a topic with a REST counterpart.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ResyncState {
    /// `v2.users.{id}.presence`: `GET /api/v2/users/{id}/presences/purecloud`.
    Presence {
        /// The user id.
        user_id: String,
        /// The user's presence now.
        presence: Box<models::UserPresence>,
    },
    /// `v2.users.{id}.routingStatus`: `GET /api/v2/users/{id}/routingstatus`.
    RoutingStatus {
        /// The user id.
        user_id: String,
        /// The user's routing status now.
        status: models::RoutingStatus,
    },
    /// `v2.routing.queues.{id}.users`: every page of `GET /api/v2/routing/queues/{id}/members`.
    QueueMembers {
        /// The queue id.
        queue_id: String,
        /// Every member of the queue now.
        members: Vec<models::QueueMember>,
    },
    /// `v2.routing.queues.{id}.conversations`: the queue's conversations now, waiting
    /// (`oWaiting`) or with an agent (`oInteracting`), each with its observation:
    /// `POST /api/v2/analytics/queues/observations/query` with both as `detailMetrics`.
    QueueConversations {
        /// The queue id.
        queue_id: String,
        /// The query's answer (its `truncated` says when the service left observations out).
        observations: Box<models::QueueObservationQueryResponse>,
    },
}

/// Why a [`Resync`] has no state: the fetch failed (its message; the client's retry policy
/// was applied first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResyncError(pub String);

impl std::fmt::Display for ResyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the state could not be fetched: {}", self.0)
    }
}

impl std::error::Error for ResyncError {}

/// What to fetch for one event topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fetch {
    Presence(String),
    RoutingStatus(String),
    QueueMembers(String),
    QueueConversations(String),
}

impl std::fmt::Display for Fetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fetch::Presence(user) => write!(f, "the presence of user {user}"),
            Fetch::RoutingStatus(user) => write!(f, "the routing status of user {user}"),
            Fetch::QueueMembers(queue) => write!(f, "the members of queue {queue}"),
            Fetch::QueueConversations(queue) => write!(f, "the conversations of queue {queue}"),
        }
    }
}

impl Fetch {
    /// The fetch for an event topic name, when it has a REST counterpart.
    pub(crate) fn of(topic: &str) -> Option<Fetch> {
        let parts: Vec<&str> = topic.split('.').collect();
        match parts.as_slice() {
            ["v2", "users", id, "presence"] => Some(Fetch::Presence((*id).to_owned())),
            ["v2", "users", id, "routingStatus"] => Some(Fetch::RoutingStatus((*id).to_owned())),
            ["v2", "routing", "queues", id, "users"] => Some(Fetch::QueueMembers((*id).to_owned())),
            ["v2", "routing", "queues", id, "conversations"] => Some(Fetch::QueueConversations((*id).to_owned())),
            _ => None,
        }
    }
}

/// The fetches for `topics`, one per event topic with a REST counterpart, with the topic name.
pub(crate) fn plan(topics: &[Topic]) -> Vec<(String, Fetch)> {
    topics.iter().flat_map(Topic::event_topics).filter_map(|t| Fetch::of(&t).map(|f| (t, f))).collect()
}

/// Fetches one state through `executor`.
pub(crate) async fn fetch(executor: SharedExecutor, topic: String, what: &Fetch) -> Resync {
    let api = crate::api::Api(executor);
    let state = async {
        Ok::<_, Error>(match what {
            Fetch::Presence(user_id) => {
                let presence = Box::new(api.presence().get_user_presences_purecloud(user_id.clone()).send().await?);
                ResyncState::Presence { user_id: user_id.clone(), presence }
            }
            Fetch::RoutingStatus(user_id) => {
                let status = api.users().get_user_routingstatus(user_id.clone()).send().await?;
                ResyncState::RoutingStatus { user_id: user_id.clone(), status }
            }
            Fetch::QueueMembers(queue_id) => {
                let members = api
                    .routing()
                    .get_routing_queue_members(queue_id.clone())
                    .page_size(100)
                    .into_paginator()
                    .items()
                    .try_collect()
                    .await?;
                ResyncState::QueueMembers { queue_id: queue_id.clone(), members }
            }
            Fetch::QueueConversations(queue_id) => {
                let observed = || vec!["oWaiting".to_owned(), "oInteracting".to_owned()];
                let predicate = models::QueueObservationQueryPredicate::default()
                    .dimension(models::QueueObservationQueryPredicateDimension::QueueId)
                    .value(queue_id.clone());
                let filter = models::QueueObservationQueryFilter::default()
                    .r#type(models::QueueObservationQueryFilterType::And)
                    .predicates(vec![predicate]);
                let query = models::QueueObservationQuery::default()
                    .filter(filter)
                    .metrics(observed())
                    .detail_metrics(observed());
                let observations =
                    Box::new(api.analytics().post_analytics_queues_observations_query(query).send().await?);
                ResyncState::QueueConversations { queue_id: queue_id.clone(), observations }
            }
        })
    }
    .await
    .map_err(|e| ResyncError(e.to_string()));
    Resync { topic, state, fetched: Utc::now() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_topics_with_a_rest_counterpart_are_found_in_every_form() {
        let topics = [
            crate::topics::users_presence("u1").unwrap(),
            crate::topics::users_routing_status("u2").unwrap(),
            crate::topics::routing_queues_users("q1").unwrap(),
            crate::topics::routing_queues_conversations("q1").unwrap(),
            Topic::user_combined("u3", &[crate::UserPart::Presence, crate::UserPart::RoutingStatus]).unwrap(),
            Topic::raw("v2.users.u4.presence.extra"),
        ];
        let planned = plan(&topics);
        assert_eq!(
            planned,
            vec![
                ("v2.users.u1.presence".to_owned(), Fetch::Presence("u1".into())),
                ("v2.users.u2.routingStatus".to_owned(), Fetch::RoutingStatus("u2".into())),
                ("v2.routing.queues.q1.users".to_owned(), Fetch::QueueMembers("q1".into())),
                ("v2.routing.queues.q1.conversations".to_owned(), Fetch::QueueConversations("q1".into())),
                ("v2.users.u3.presence".to_owned(), Fetch::Presence("u3".into())),
                ("v2.users.u3.routingStatus".to_owned(), Fetch::RoutingStatus("u3".into())),
            ]
        );
    }
}
