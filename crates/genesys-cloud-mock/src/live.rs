//! The live state behind the notification topics: presence, routing status, queue members
//! and conversations. Each change through the API is stored (so a later GET answers it) and
//! published to its topic, as the service does.

use crate::notify::{lock, Hub};
use crate::{error, full, MockBody};
use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The signed-in user of every mock token.
pub(crate) const ME: &str = "mock-user-me";

#[derive(Default)]
pub(crate) struct Live {
    presence: Mutex<HashMap<String, Value>>,
    routing: Mutex<HashMap<String, Value>>,
    /// Members by queue, by user id (ordered, so listings are stable).
    members: Mutex<HashMap<String, BTreeMap<String, Value>>>,
    conversations: AtomicU64,
    /// The conversations in a queue now (waiting or with an agent), by queue, by id, as the
    /// queue's conversations topic last told them. An ended conversation leaves the queue.
    in_queues: Mutex<HashMap<String, BTreeMap<String, Value>>>,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn user_id(id: String) -> String {
    if id == "me" {
        ME.to_owned()
    } else {
        id
    }
}

/// What one request asks of the live state.
pub(crate) struct Call<'a> {
    pub(crate) method: &'a str,
    pub(crate) template: &'a str,
    pub(crate) param: &'a dyn Fn(&str) -> Option<String>,
    pub(crate) query: &'a [(String, String)],
    pub(crate) body: &'a Bytes,
}

/// The org's presence definitions: the system presences, each with the id the mock gives it
/// (`mock-presence-available`, …). A presence set by id or by system presence is stored with
/// both, as the service stores it.
const SYSTEM_PRESENCES: &[&str] =
    &["Available", "Away", "Busy", "Offline", "Idle", "OnQueue", "Meal", "Training", "Meeting", "Break"];

fn presence_id(system: &str) -> String {
    format!("mock-presence-{}", system.to_ascii_lowercase().replace(' ', "-"))
}

/// The full definition `sent` names (by `id`, else by `systemPresence`); `None` for one the
/// org does not have.
fn presence_definition(sent: &Value) -> Option<Value> {
    let by_id = sent.get("id").and_then(Value::as_str);
    let by_system = sent.get("systemPresence").and_then(Value::as_str);
    let system = SYSTEM_PRESENCES.iter().find(|p| match by_id {
        Some(id) => presence_id(p) == id,
        None => by_system.is_some_and(|s| s.eq_ignore_ascii_case(p)),
    })?;
    Some(json!({"id": presence_id(system), "systemPresence": system}))
}

/// A presence definition as the org's lists give it (the fields both of their definitions
/// declare).
fn definition_entity(system: &str) -> Value {
    json!({
        "id": presence_id(system),
        "name": system,
        "systemPresence": system,
        "languageLabels": {"en_US": system},
        "deactivated": false,
    })
}

impl Live {
    /// The presence a user has until it is changed: Available, from the mock's start.
    fn presence_of(&self, user: &str, source: &str) -> Value {
        lock(&self.presence).get(user).cloned().unwrap_or_else(|| {
            json!({
                "source": source,
                "presenceDefinition": {"id": "mock-presence-available", "systemPresence": "Available"},
                "primary": true,
                "modifiedDate": "2026-01-01T00:00:00.000Z",
            })
        })
    }

    fn routing_of(&self, user: &str) -> Value {
        lock(&self.routing)
            .get(user)
            .cloned()
            .unwrap_or_else(|| json!({"userId": user, "status": "OFF_QUEUE", "startTime": "2026-01-01T00:00:00.000Z"}))
    }

    /// Adds what `expand` asks of a listed user: `presence` and `routingStatus`.
    pub(crate) fn expand_user(&self, user: &mut Value, expand: &[String]) {
        let Some(id) = user.get("id").and_then(Value::as_str).map(str::to_owned) else { return };
        if expand.iter().any(|e| e == "presence") {
            user["presence"] = self.presence_of(&id, "PURECLOUD");
        }
        if expand.iter().any(|e| e == "routingStatus") {
            user["routingStatus"] = self.routing_of(&id);
        }
    }

    /// A customer's call arrives in `queue` and waits there (an `acd` participant in the
    /// queue, not ended); published to the queue's conversations topic. Its id.
    pub(crate) fn enqueue_call(&self, hub: &Hub, queue: &str) -> String {
        let n = self.conversations.fetch_add(1, Ordering::SeqCst) + 1;
        let id = format!("mock-conversation-{n:06}");
        let at = now();
        let customer = json!({"id": format!("{id}-p1"), "purpose": "customer", "address": "tel:+13175550100", "connectedTime": at, "calls": [{"id": format!("{id}-c1"), "state": "connected", "direction": "inbound"}]});
        let acd = json!({"id": format!("{id}-p2"), "purpose": "acd", "queueId": queue, "connectedTime": at, "calls": [{"id": format!("{id}-c2"), "state": "connected", "direction": "inbound"}]});
        let conversation = json!({"id": id, "participants": [customer, acd], "recordingState": "none"});
        self.put_in_queue(hub, queue, conversation);
        id
    }

    /// `user` answers the waiting call `conversation`: the `acd` participant ends and an agent
    /// of the queue is connected; published. `false` when no queue holds it.
    pub(crate) fn answer_call(&self, hub: &Hub, conversation: &str, user: &str) -> bool {
        let Some((queue, mut held)) = self.held(conversation) else { return false };
        let at = now();
        let participants = held["participants"].as_array_mut().map(std::mem::take).unwrap_or_default();
        let mut participants: Vec<Value> = participants
            .into_iter()
            .map(|mut p| {
                if p["purpose"] == "acd" && p.get("endTime").is_none() {
                    p["endTime"] = json!(at);
                    p["calls"][0]["state"] = json!("disconnected");
                }
                p
            })
            .collect();
        let n = participants.len() + 1;
        participants.push(json!({"id": format!("{conversation}-p{n}"), "purpose": "agent", "queueId": queue, "userId": user, "connectedTime": at, "calls": [{"id": format!("{conversation}-c{n}"), "state": "connected", "direction": "inbound"}]}));
        held["participants"] = json!(participants);
        self.put_in_queue(hub, &queue, held);
        true
    }

    /// Every participant of `conversation` ends; published to its queue's topic, after which
    /// the queue no longer holds it. `false` when no queue holds it.
    pub(crate) fn disconnect(&self, hub: &Hub, conversation: &str) -> bool {
        let Some((queue, mut held)) = self.held(conversation) else { return false };
        let at = now();
        for p in held["participants"].as_array_mut().into_iter().flatten() {
            if p.get("endTime").is_none() {
                p["endTime"] = json!(at);
                p["calls"][0]["state"] = json!("disconnected");
            }
        }
        self.put_in_queue(hub, &queue, held);
        true
    }

    /// The queue holding `conversation`, and the conversation.
    fn held(&self, conversation: &str) -> Option<(String, Value)> {
        lock(&self.in_queues).iter().find_map(|(queue, held)| Some((queue.clone(), held.get(conversation)?.clone())))
    }

    /// Stores what `conversation` is now (or drops it from `queue` once every participant of
    /// the queue has ended), then publishes it, in that order, as the service does.
    fn put_in_queue(&self, hub: &Hub, queue: &str, conversation: Value) {
        let id = conversation["id"].as_str().unwrap_or_default().to_owned();
        let open = observation(queue, &conversation).is_some();
        {
            let mut in_queues = lock(&self.in_queues);
            let held = in_queues.entry(queue.to_owned()).or_default();
            if open {
                held.insert(id, conversation.clone());
            } else {
                held.remove(&id);
            }
        }
        hub.publish(&format!("v2.routing.queues.{queue}.conversations"), &conversation);
    }

    /// `POST /api/v2/analytics/queues/observations/query`: per queue of the filter's `queueId`
    /// predicates (top level or in its clauses), the counts of `oWaiting` and `oInteracting` among the asked metrics, with
    /// each conversation's observation for the ones also in `detailMetrics`.
    fn observations(&self, body: &Bytes) -> Result<Value, String> {
        let query: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not a query: {e}"))?;
        let queues: Vec<&str> = query["filter"]["predicates"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(
                query["filter"]["clauses"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|c| c["predicates"].as_array().into_iter().flatten()),
            )
            .filter(|p| p["dimension"] == "queueId")
            .filter_map(|p| p["value"].as_str())
            .collect();
        // A filter of no queue (media types only) observes no queue of the mock: no results.
        let listed = |field: &str| -> Vec<String> {
            query[field].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
        };
        let (metrics, details) = (listed("metrics"), listed("detailMetrics"));
        let in_queues = lock(&self.in_queues);
        let results: Vec<Value> = queues
            .iter()
            .map(|queue| {
                let held: Vec<Value> = in_queues
                    .get(*queue)
                    .into_iter()
                    .flat_map(|h| h.values())
                    .filter_map(|c| observation(queue, c))
                    .collect();
                let data: Vec<Value> = ["oWaiting", "oInteracting"]
                    .into_iter()
                    .filter(|m| metrics.iter().any(|x| x == m))
                    .map(|metric| {
                        let of: Vec<&Value> = held.iter().filter(|o| o["metric"] == metric).collect();
                        let mut data = json!({"metric": metric, "stats": {"count": of.len()}});
                        if details.iter().any(|x| x == metric) {
                            data["observations"] =
                                json!(of.iter().map(|o| o["observation"].clone()).collect::<Vec<_>>());
                            data["truncated"] = json!(false);
                        }
                        data
                    })
                    .collect();
                json!({"group": {"queueId": queue}, "data": data})
            })
            .collect();
        Ok(json!({"results": results}))
    }

    /// Answers the calls this state owns; `None` for every other.
    pub(crate) fn answer(&self, hub: &Hub, call: &Call<'_>) -> Option<Response<MockBody>> {
        let param = call.param;
        match (call.method, call.template) {
            ("GET", "/api/v2/users/{userId}/presences/{sourceId}" | "/api/v2/users/{userId}/presences/purecloud") => {
                let user = user_id(param("userId")?);
                let source = param("sourceId").unwrap_or_else(|| "PURECLOUD".into());
                Some(full(StatusCode::OK, self.presence_of(&user, &source).to_string()))
            }
            ("PATCH", "/api/v2/users/{userId}/presences/{sourceId}" | "/api/v2/users/{userId}/presences/purecloud") => {
                let user = user_id(param("userId")?);
                let Ok(sent) = serde_json::from_slice::<Value>(call.body) else {
                    return Some(error(StatusCode::BAD_REQUEST, "bad.request", "the body is not a presence"));
                };
                let source = param("sourceId").unwrap_or_else(|| "PURECLOUD".into());
                let mut presence = self.presence_of(&user, &source);
                for key in ["message", "primary"] {
                    if let Some(v) = sent.get(key) {
                        presence[key] = v.clone();
                    }
                }
                if let Some(sent) = sent.get("presenceDefinition") {
                    let Some(definition) = presence_definition(sent) else {
                        return Some(error(StatusCode::BAD_REQUEST, "bad.request", "no such presence definition"));
                    };
                    presence["presenceDefinition"] = definition;
                }
                presence["modifiedDate"] = json!(now());
                lock(&self.presence).insert(user.clone(), presence.clone());
                hub.publish(&format!("v2.users.{user}.presence"), &presence);
                Some(full(StatusCode::OK, presence.to_string()))
            }
            ("GET", template @ ("/api/v2/presence/definitions" | "/api/v2/presencedefinitions")) => {
                let entities: Vec<Value> = SYSTEM_PRESENCES.iter().map(|p| definition_entity(p)).collect();
                let total = entities.len();
                // The newer list is not paged; the older one is, in one page.
                let mut listing = json!({"entities": entities, "total": total});
                if template == "/api/v2/presencedefinitions" {
                    listing["pageNumber"] = json!(1);
                    listing["pageSize"] = json!(total);
                    listing["pageCount"] = json!(1);
                }
                Some(full(StatusCode::OK, listing.to_string()))
            }
            ("GET", "/api/v2/presence/definitions/{definitionId}" | "/api/v2/presencedefinitions/{presenceId}") => {
                let id = param("definitionId").or_else(|| param("presenceId"))?;
                Some(match SYSTEM_PRESENCES.iter().find(|p| presence_id(p) == id) {
                    Some(p) => full(StatusCode::OK, definition_entity(p).to_string()),
                    None => error(
                        StatusCode::NOT_FOUND,
                        "not.found",
                        &format!("The presence definition {id} could not be found"),
                    ),
                })
            }
            ("GET", "/api/v2/users/{userId}/routingstatus") => {
                let user = user_id(param("userId")?);
                Some(full(StatusCode::OK, self.routing_of(&user).to_string()))
            }
            ("PUT", "/api/v2/users/{userId}/routingstatus") => {
                let user = user_id(param("userId")?);
                let status = serde_json::from_slice::<Value>(call.body)
                    .ok()
                    .and_then(|v| v.get("status").and_then(Value::as_str).map(str::to_owned));
                const STATUSES: [&str; 5] = ["OFF_QUEUE", "IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"];
                let Some(status) = status.filter(|s| STATUSES.contains(&s.as_str())) else {
                    return Some(error(
                        StatusCode::BAD_REQUEST,
                        "bad.request",
                        "a routing status needs a status, one of OFF_QUEUE, IDLE, INTERACTING, NOT_RESPONDING, COMMUNICATING",
                    ));
                };
                let routing = json!({"userId": user, "status": status, "startTime": now()});
                lock(&self.routing).insert(user.clone(), routing.clone());
                let event = json!({"id": user, "routingStatus": {"status": routing["status"], "startTime": routing["startTime"]}});
                hub.publish(&format!("v2.users.{user}.routingStatus"), &event);
                Some(full(StatusCode::OK, routing.to_string()))
            }
            ("GET", "/api/v2/routing/queues/{queueId}/members") => {
                let queue = param("queueId")?;
                let page = crate::Page::of(call.query);
                let members = lock(&self.members);
                let all: Vec<&Value> = members.get(&queue).map(|m| m.values().collect()).unwrap_or_default();
                let entities: Vec<Value> = page.range(all.len()).map(|i| all[i].clone()).collect();
                let path = format!("/api/v2/routing/queues/{queue}/members");
                let mut listing = page.listing(entities, all.len(), &path);
                // `QueueMemberEntityListing` declares no count.
                if let Some(o) = listing.as_object_mut() {
                    o.remove("total");
                    o.remove("pageCount");
                }
                Some(full(StatusCode::OK, listing.to_string()))
            }
            ("POST", "/api/v2/routing/queues/{queueId}/members") => {
                // Adds the listed users (or removes them with `delete=true`); each user added
                // is published to the queue's users topic.
                let queue = param("queueId")?;
                let delete = call.query.iter().any(|(k, v)| k == "delete" && v == "true");
                let ids: Option<Vec<String>> = serde_json::from_slice::<Vec<Value>>(call.body).ok().map(|list| {
                    list.iter().filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_owned)).collect()
                });
                let Some(ids) = ids else {
                    return Some(error(StatusCode::BAD_REQUEST, "bad.request", "the body is a list of {id}"));
                };
                let mut members = lock(&self.members);
                let queue_members = members.entry(queue.clone()).or_default();
                let mut joined = Vec::new();
                for id in ids {
                    if delete {
                        queue_members.remove(&id);
                    } else if !queue_members.contains_key(&id) {
                        let member = json!({"id": id, "name": format!("Mock user {id}"), "joined": true, "memberBy": "user", "ringNumber": 1, "user": {"id": id, "version": 1}, "routingStatus": self.routing_of(&id)});
                        queue_members.insert(id.clone(), member);
                        joined.push(id);
                    }
                }
                drop(members);
                for id in joined {
                    let event = json!({"id": id, "queueId": queue, "joined": true, "user": {"id": id}});
                    hub.publish(&format!("v2.routing.queues.{queue}.users"), &event);
                }
                Some(full(StatusCode::OK, Bytes::new()))
            }
            ("PATCH", "/api/v2/routing/queues/{queueId}/members/{memberId}") => {
                // `joined` on or off for one member, published like a join.
                let (queue, id) = (param("queueId")?, param("memberId")?);
                let joined = serde_json::from_slice::<Value>(call.body).ok().and_then(|v| v.get("joined")?.as_bool());
                let mut members = lock(&self.members);
                let Some(member) = members.get_mut(&queue).and_then(|m| m.get_mut(&id)) else {
                    return Some(error(
                        StatusCode::NOT_FOUND,
                        "not.found",
                        &format!("{id} is not a member of {queue}"),
                    ));
                };
                if let Some(joined) = joined {
                    member["joined"] = json!(joined);
                }
                let joined = member["joined"].clone();
                drop(members);
                let event = json!({"id": id, "queueId": queue, "joined": joined, "user": {"id": id}});
                hub.publish(&format!("v2.routing.queues.{queue}.users"), &event);
                Some(full(StatusCode::OK, Bytes::new()))
            }
            ("DELETE", "/api/v2/routing/queues/{queueId}/members/{memberId}") => {
                let (queue, id) = (param("queueId")?, param("memberId")?);
                let removed = lock(&self.members).get_mut(&queue).and_then(|m| m.remove(&id));
                Some(match removed {
                    Some(_) => full(StatusCode::OK, Bytes::new()),
                    None => error(StatusCode::NOT_FOUND, "not.found", &format!("{id} is not a member of {queue}")),
                })
            }
            ("POST", "/api/v2/analytics/queues/observations/query") => Some(match self.observations(call.body) {
                Ok(answer) => full(StatusCode::OK, answer.to_string()),
                Err(m) => error(StatusCode::BAD_REQUEST, "bad.request", &m),
            }),
            ("POST", "/api/v2/conversations/{conversationId}/disconnect") => {
                let id = param("conversationId")?;
                Some(match self.disconnect(hub, &id) {
                    true => full(StatusCode::ACCEPTED, json!({}).to_string()),
                    false => error(StatusCode::NOT_FOUND, "not.found", &format!("no conversation {id} in a queue")),
                })
            }
            ("POST", "/api/v2/conversations/calls") => {
                // A call placed by the signed-in user: published to the user's conversations,
                // and to the queue's when it is placed on behalf of one.
                let Ok(sent) = serde_json::from_slice::<Value>(call.body) else {
                    return Some(error(StatusCode::BAD_REQUEST, "bad.request", "the body is not a call request"));
                };
                let n = self.conversations.fetch_add(1, Ordering::SeqCst) + 1;
                let id = format!("mock-conversation-{n:06}");
                let address = sent.get("phoneNumber").and_then(Value::as_str).unwrap_or("tel:+10000000000");
                let queue = sent.get("callFromQueueId").or_else(|| sent.get("callQueueId")).and_then(Value::as_str);
                let mut agent = json!({"id": format!("{id}-p1"), "purpose": "agent", "userId": ME, "address": address, "calls": [{"id": format!("{id}-c1"), "state": "dialing", "direction": "outbound"}]});
                if let Some(q) = queue {
                    agent["queueId"] = json!(q);
                }
                let customer = json!({"id": format!("{id}-p2"), "purpose": "customer", "address": address, "calls": [{"id": format!("{id}-c2"), "state": "alerting", "direction": "outbound"}]});
                let conversation =
                    json!({"id": id, "address": address, "participants": [agent, customer], "recordingState": "none"});
                hub.publish(&format!("v2.users.{ME}.conversations"), &conversation);
                if let Some(q) = queue {
                    self.put_in_queue(hub, q, conversation);
                }
                Some(full(
                    StatusCode::OK,
                    json!({"id": id, "selfUri": format!("/api/v2/conversations/calls/{id}")}).to_string(),
                ))
            }
            _ => None,
        }
    }
}

/// What a queue's observations say of `conversation` in `queue`: `oWaiting` while an `acd`
/// participant of the queue has not ended, `oInteracting` (with the agent) while an agent of
/// the queue has not; `None` once the queue has none left.
fn observation(queue: &str, conversation: &Value) -> Option<Value> {
    let id = conversation["id"].as_str()?;
    let open: Vec<&Value> = conversation["participants"]
        .as_array()?
        .iter()
        .filter(|p| p["queueId"] == queue && p.get("endTime").is_none())
        .collect();
    let agent = open.iter().find(|p| p["purpose"] == "agent");
    let waiting = open.iter().find(|p| p["purpose"] == "acd");
    let (metric, participant) = match (agent, waiting) {
        (Some(a), _) => ("oInteracting", a),
        (None, Some(w)) => ("oWaiting", w),
        (None, None) => return None,
    };
    let mut observation =
        json!({"conversationId": id, "sessionId": participant["id"], "observationDate": participant["connectedTime"]});
    if let Some(user) = participant.get("userId") {
        observation["userId"] = user.clone();
    }
    Some(json!({"metric": metric, "observation": observation}))
}
