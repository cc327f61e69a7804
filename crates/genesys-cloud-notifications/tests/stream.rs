//! Subscription streams over real sockets against `genesys-cloud-mock`: typed events, and the
//! listener healing after a drop, `socket_closing`, lost heartbeats, an expired channel and a
//! revoked token, with nothing lost after the reconnect and nothing duplicated; a slow
//! consumer's loss count; shutdown removing the subscriptions.

use genesys_cloud_api::Tags as _;
use genesys_cloud_auth::Grant;
use genesys_cloud_core::SharedExecutor;
use genesys_cloud_mock::{MockOptions, MockServer};
use genesys_cloud_notifications::{
    topics, ConnectionEvent, Event, Item, Notifications, Options, Payload, ResyncState, Subscription, Topic, UserPart,
};
use genesys_cloud_transport::{Endpoint, Transport};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ME: &str = "mock-user-me";
const QUEUE: &str = "queue-1";

async fn setup() -> (MockServer, Notifications) {
    let (mock, notifications, _) = setup_with_api().await;
    (mock, notifications)
}

/// The generated operations over the listener's own client.
struct Api(SharedExecutor);

impl genesys_cloud_api::Tags for Api {
    fn executor(&self) -> SharedExecutor {
        self.0.clone()
    }
}

async fn setup_with_api() -> (MockServer, Notifications, Api) {
    let mock =
        MockServer::start_with(MockOptions::default().heartbeat_interval(Duration::from_millis(200))).await.unwrap();
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("listener", "listener-secret"))
        .build()
        .unwrap();
    let options = Options::default()
        .heartbeat(Duration::from_millis(800), Duration::from_millis(400))
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    let executor: SharedExecutor = Arc::new(transport);
    (mock, Notifications::with_options(executor.clone(), options), Api(executor))
}

/// The next item, with a hang guard (not a speed bound).
async fn next(sub: &mut Subscription) -> Item {
    tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("the stream went quiet")
        .expect("the stream ended")
}

async fn next_event(sub: &mut Subscription) -> Event {
    loop {
        match next(sub).await {
            Item::Event(e) => return e,
            // Connection changes, and the state after a gap (its own tests check it).
            Item::Connection(_) | Item::Resync(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Waits for a connection event that `want` accepts, returning the items seen on the way.
async fn until_connection(sub: &mut Subscription, want: impl Fn(&ConnectionEvent) -> bool) -> Vec<Item> {
    let mut seen = Vec::new();
    loop {
        let item = next(sub).await;
        let done = matches!(&item, Item::Connection(c) if want(c));
        seen.push(item);
        if done {
            return seen;
        }
    }
}

fn presence(n: usize) -> serde_json::Value {
    json!({"source": "PURECLOUD", "presenceDefinition": {"id": format!("p-{n}"), "systemPresence": "Available"}})
}

/// Publishes `count` presence events numbered from `from` and checks each arrives once, in
/// order; then a last one, to show nothing else (no duplicate) came in between.
async fn exactly_once(mock: &MockServer, sub: &mut Subscription, from: usize, count: usize) {
    let topic = format!("v2.users.{ME}.presence");
    for n in from..from + count + 1 {
        assert!(mock.publish(&topic, &presence(n)) >= 1, "a socket is subscribed");
    }
    for n in from..from + count + 1 {
        let e = next_event(sub).await;
        let Payload::UsersPresence(p) = &e.payload else { panic!("typed: {e:?}") };
        let id = p.presence_definition.as_ref().and_then(|d| d.id.clone());
        assert_eq!(id.as_deref(), Some(format!("p-{n}").as_str()), "in order, none lost, none twice");
    }
}

#[tokio::test]
async fn events_arrive_typed_and_a_dropped_socket_heals_with_nothing_lost_or_duplicated() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications
        .subscribe([topics::users_presence(ME).unwrap(), topics::routing_queues_conversations(QUEUE).unwrap()])
        .await
        .unwrap();
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Connected { .. })));
    let channel = sub.channel_id();
    let mut subscribed = mock.channel_topics(&channel).unwrap();
    subscribed.sort();
    assert_eq!(subscribed, [format!("v2.routing.queues.{QUEUE}.conversations"), format!("v2.users.{ME}.presence")]);

    assert_eq!(mock.publish_sample(&format!("v2.routing.queues.{QUEUE}.conversations")), Some(1));
    let e = next_event(&mut sub).await;
    assert_eq!(e.payload.type_name(), "QueueConversationEventTopicConversation");
    assert!(e.correlation_id.is_some());
    exactly_once(&mock, &mut sub, 0, 3).await;

    mock.drop_notification_sockets();
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Connected { .. })).await;
    assert!(
        seen.iter().any(|i| matches!(i, Item::Connection(ConnectionEvent::Reconnecting { attempt: 1, .. }))),
        "{seen:?}"
    );
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Gap { .. })), "the gap is reported");
    // Both topics have a REST counterpart: their states follow the gap, in topic-name order.
    let Item::Resync(queue) = next(&mut sub).await else { panic!("a resync follows the gap") };
    assert_eq!(queue.topic, format!("v2.routing.queues.{QUEUE}.conversations"));
    assert!(matches!(queue.state, Ok(ResyncState::QueueConversations { ref queue_id, .. }) if queue_id == QUEUE));
    let Item::Resync(resync) = next(&mut sub).await else { panic!("a resync follows the gap") };
    assert_eq!(resync.topic, format!("v2.users.{ME}.presence"));
    assert!(matches!(resync.state, Ok(ResyncState::Presence { ref user_id, .. }) if user_id == ME), "{resync:?}");
    assert_eq!(sub.channel_id(), channel, "the channel is still valid: the same one, subscribed again");
    exactly_once(&mock, &mut sub, 10, 5).await;
}

#[tokio::test]
async fn socket_closing_moves_to_a_new_channel_with_no_gap_and_no_duplicates() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let old = sub.channel_id();
    exactly_once(&mock, &mut sub, 0, 2).await;
    mock.send_socket_closing(Duration::from_millis(500));
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Renewed { .. })).await;
    let Some(Item::Connection(ConnectionEvent::Renewed { old_channel, new_channel })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(old_channel, &old);
    assert_ne!(new_channel, &old);
    // Each event is delivered once, from the new channel (the old socket was read until the
    // new one had caught up, then left).
    assert!(mock.publish(&format!("v2.users.{ME}.presence"), &presence(100)) >= 1, "the new socket is up");
    let e = next_event(&mut sub).await;
    assert!(
        matches!(&e.payload, Payload::UsersPresence(p) if p.presence_definition.as_ref().unwrap().id.as_deref() == Some("p-100"))
    );
    exactly_once(&mock, &mut sub, 101, 3).await;
    assert!(!sub_has_gap(&seen), "no gap: the new socket was up before the old one closed: {seen:?}");
}

fn sub_has_gap(seen: &[Item]) -> bool {
    seen.iter().any(|i| matches!(i, Item::Connection(ConnectionEvent::Gap { .. })))
}

#[tokio::test]
async fn lost_heartbeats_replace_the_socket() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    exactly_once(&mock, &mut sub, 0, 1).await;
    mock.set_heartbeats(false);
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Reconnecting { .. })).await;
    let Some(Item::Connection(ConnectionEvent::Reconnecting { reason, .. })) = seen.last() else { unreachable!() };
    assert!(reason.contains("no heartbeat or pong"), "{reason}");
    mock.set_heartbeats(true);
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Connected { .. })).await;
    exactly_once(&mock, &mut sub, 10, 3).await;
}

#[tokio::test]
async fn an_expired_channel_is_replaced_by_a_new_one() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let old = sub.channel_id();
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Connected { .. })));
    mock.expire_channels();
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Connected { .. })).await;
    assert_ne!(sub.channel_id(), old, "HEAD said the channel is gone: a new one was made");
    assert_eq!(mock.channel_topics(&sub.channel_id()).unwrap(), [format!("v2.users.{ME}.presence")]);
    exactly_once(&mock, &mut sub, 0, 3).await;
}

#[tokio::test]
async fn a_revoked_token_gets_a_fresh_token_and_a_new_channel() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let old = sub.channel_id();
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Connected { .. })));
    let tokens = mock.token_requests();
    mock.revoke_token();
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Renewed { .. } | ConnectionEvent::Connected { .. }))
        .await;
    assert_ne!(sub.channel_id(), old);
    assert!(mock.token_requests() > tokens, "the rejected token was replaced");
    exactly_once(&mock, &mut sub, 0, 3).await;
}

#[tokio::test]
async fn a_slow_consumer_is_told_how_many_events_it_lost_and_the_buffer_stays_bounded() {
    let (mock, _) = setup().await;
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("slow", "slow-secret"))
        .build()
        .unwrap();
    let notifications = Notifications::with_options(Arc::new(transport), Options::default().buffer(8));
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let topic = format!("v2.users.{ME}.presence");
    for n in 0..200 {
        mock.publish(&topic, &presence(n));
    }
    // The listener reads all 201 while nobody reads the stream (its count says when).
    let marker = 999;
    mock.publish(&topic, &presence(marker));
    while sub.stats().received < 201 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (mut events, mut lost) = (0u64, 0u64);
    loop {
        match next(&mut sub).await {
            Item::Event(_) => events += 1,
            Item::Lost { count, .. } => lost += count,
            Item::Connection(_) => {}
            other => panic!("{other:?}"),
        }
        if events + lost == 201 {
            break;
        }
    }
    assert!(events <= 8 + 1, "at most the buffer (and what came after it drained): {events}");
    assert!(lost >= 190, "the loss is counted: {lost}");
}

#[tokio::test]
async fn closing_the_stream_removes_the_subscriptions_and_the_socket() {
    let (mock, notifications) = setup().await;
    let sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let channel = sub.channel_id();
    assert_eq!(mock.channel_counts().1, 1);
    sub.close().await;
    assert_eq!(mock.channel_topics(&channel).unwrap(), Vec::<String>::new());
    for _ in 0..100 {
        if mock.channel_counts().1 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(mock.channel_counts().1, 0, "the socket is closed");
}

#[tokio::test]
async fn a_refused_subscription_is_an_error_at_subscribe() {
    let (mock, notifications) = setup().await;
    mock.refuse_subscriptions(true);
    let err = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    // Past 20 channels of 1,000 topics the service would replace the oldest channel.
    let too_many = (0..20_001).map(|i| genesys_cloud_notifications::Topic::raw(format!("v2.users.u{i}.presence")));
    let err = notifications.subscribe(too_many).await.unwrap_err();
    assert!(err.is_build() && err.message().contains("at most 19"), "{err}");
}

#[tokio::test]
async fn fifteen_hundred_topics_are_spread_over_two_channels_in_one_stream() {
    let (mock, notifications) = setup().await;
    let topics = (0..1500).map(|i| topics::users_presence(&format!("user-{i:04}")).unwrap());
    let mut sub = notifications.subscribe(topics).await.unwrap();
    let channels = sub.channel_ids();
    assert_eq!(channels.len(), 2);
    let sizes: Vec<usize> = channels.iter().map(|c| mock.channel_topics(c).unwrap().len()).collect();
    assert_eq!(sizes, [1000, 500], "each channel within the 1,000-topic limit");
    for user in ["user-0000", "user-1499"] {
        assert_eq!(mock.publish(&format!("v2.users.{user}.presence"), &presence(1)), 1);
        let e = next_event(&mut sub).await;
        assert_eq!(e.topic, format!("v2.users.{user}.presence"), "both channels feed the one stream");
    }
    // One channel dropping heals on its own; the other goes on.
    mock.drop_notification_sockets();
    let mut connected = 0;
    while connected < 2 {
        if let Item::Connection(ConnectionEvent::Connected { .. }) = next(&mut sub).await {
            connected += 1;
        }
    }
    assert_eq!(mock.publish("v2.users.user-1499.presence", &presence(2)), 1);
    assert_eq!(next_event(&mut sub).await.topic, "v2.users.user-1499.presence");
    sub.close().await;
    assert!(channels.iter().all(|c| mock.channel_topics(c).unwrap().is_empty()), "every channel unsubscribed");
}

fn presence_body(id: &str) -> models::UserPresence {
    use models::{PresenceDefinition, UserPresence};
    UserPresence::default()
        .with(|p| p.presence_definition = Some(PresenceDefinition::default().with(|d| d.id = Some(id.to_owned()))))
}

fn routing_body(status: &str) -> models::RoutingStatus {
    models::RoutingStatus::default().with(|r| r.status = Some(status.into()))
}

fn members(ids: &[&str]) -> Vec<models::WritableEntity> {
    ids.iter().map(|id| models::WritableEntity::default().with(|e| e.id = Some((*id).to_owned()))).collect()
}

#[tokio::test]
async fn after_a_gap_the_state_changed_meanwhile_is_fetched_and_comes_before_new_events() {
    let (mock, notifications, api) = setup_with_api().await;
    api.routing().post_routing_queue_members(QUEUE, members(&["agent-1"])).send().await.unwrap();
    let mut sub = notifications
        .subscribe([
            Topic::user_combined(ME, &[UserPart::Presence, UserPart::RoutingStatus]).unwrap(),
            topics::routing_queues_users(QUEUE).unwrap(),
        ])
        .await
        .unwrap();
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Connected { .. })));

    // The socket goes, and cannot come back while subscriptions are refused: the second
    // attempt is proof the first failed.
    mock.refuse_subscriptions(true);
    mock.drop_notification_sockets();
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Reconnecting { attempt: 2, .. })).await;
    // Meanwhile the state changes; no socket hears it.
    api.presence().patch_user_presence(ME, "PURECLOUD", presence_body("mock-presence-busy")).send().await.unwrap();
    api.users().put_user_routingstatus(ME, routing_body("IDLE")).send().await.unwrap();
    api.routing().post_routing_queue_members(QUEUE, members(&["agent-2", "agent-3"])).send().await.unwrap();
    mock.refuse_subscriptions(false);

    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Connected { .. })).await;
    assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Gap { .. })));
    // One resync per event topic with a REST counterpart, in topic-name order, each
    // holding what the missed events would have said.
    let mut states = Vec::new();
    for _ in 0..3 {
        match next(&mut sub).await {
            Item::Resync(r) => states.push((r.topic, r.state.expect("fetched"))),
            other => panic!("a resync, not {other:?}"),
        }
    }
    let [(t1, queue), (t2, presence), (t3, routing)] = &states[..] else { unreachable!() };
    assert_eq!(t1, &format!("v2.routing.queues.{QUEUE}.users"));
    let ResyncState::QueueMembers { queue_id, members } = queue else { panic!("{queue:?}") };
    assert_eq!(queue_id, QUEUE);
    assert_eq!(t2, &format!("v2.users.{ME}.presence"));
    let ResyncState::Presence { presence, .. } = presence else { panic!("{presence:?}") };
    assert_eq!(presence.presence_definition.as_ref().and_then(|d| d.id.as_deref()), Some("mock-presence-busy"));
    let system = presence.presence_definition.as_ref().and_then(|d| d.system_presence.as_ref());
    assert_eq!(system.map(ToString::to_string).as_deref(), Some("Busy"), "set by id, stored with its system presence");
    assert_eq!(t3, &format!("v2.users.{ME}.routingStatus"));
    let ResyncState::RoutingStatus { status, .. } = routing else { panic!("{routing:?}") };
    assert_eq!(status.status.as_ref().map(ToString::to_string).as_deref(), Some("IDLE"));
    let ids: Vec<_> = members.iter().filter_map(|m| m.id.as_deref()).collect();
    assert_eq!(ids, ["agent-1", "agent-2", "agent-3"], "every member, the ones joined in the gap too");

    // Events of the new socket come after the state.
    exactly_once(&mock, &mut sub, 0, 2).await;
}

#[tokio::test]
async fn changes_through_the_api_are_published_to_their_topics() {
    let (_mock, notifications, api) = setup_with_api().await;
    let mut sub = notifications
        .subscribe([
            topics::users_presence(ME).unwrap(),
            topics::users_routing_status(ME).unwrap(),
            topics::routing_queues_users(QUEUE).unwrap(),
            topics::users_conversations(ME).unwrap(),
            topics::routing_queues_conversations(QUEUE).unwrap(),
        ])
        .await
        .unwrap();

    api.presence().patch_user_presence(ME, "PURECLOUD", presence_body("mock-presence-break")).send().await.unwrap();
    let e = next_event(&mut sub).await;
    let Payload::UsersPresence(p) = &e.payload else { panic!("{e:?}") };
    assert_eq!(p.presence_definition.as_ref().and_then(|d| d.id.as_deref()), Some("mock-presence-break"));
    let system = p.presence_definition.as_ref().and_then(|d| d.system_presence.as_ref()).map(ToString::to_string);
    assert_eq!(system.as_deref(), Some("Break"), "the event carries the definition's system presence");
    let unknown = api.presence().patch_user_presence(ME, "PURECLOUD", presence_body("no-such-definition")).send().await;
    assert!(unknown.unwrap_err().is_bad_request(), "a definition the org does not have is refused");

    api.users().put_user_routingstatus(ME, routing_body("IDLE")).send().await.unwrap();
    let e = next_event(&mut sub).await;
    assert_eq!(e.topic, format!("v2.users.{ME}.routingStatus"));
    let Payload::UsersRoutingStatus(r) = &e.payload else { panic!("{e:?}") };
    let status = r.routing_status.as_ref().and_then(|s| s.status.as_ref()).map(ToString::to_string);
    assert_eq!(status.as_deref(), Some("IDLE"));
    let refused = api.users().put_user_routingstatus(ME, routing_body("ASLEEP")).send().await.unwrap_err();
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(400), "not a routing status: {refused}");

    api.routing().post_routing_queue_members(QUEUE, members(&["agent-9"])).send().await.unwrap();
    let e = next_event(&mut sub).await;
    let Payload::RoutingQueuesUsers(m) = &e.payload else { panic!("{e:?}") };
    assert_eq!((m.id.as_deref(), m.joined), (Some("agent-9"), Some(true)));

    let call = models::CreateCallRequest::default().with(|c| {
        c.phone_number = Some("tel:+15551234567".into());
        c.call_from_queue_id = Some(QUEUE.into());
    });
    let made = api.conversations().post_conversations_calls(call).send().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..2 {
        let e = next_event(&mut sub).await;
        seen.push((e.topic.clone(), e.payload.type_name()));
        let id = match &e.payload {
            Payload::UsersConversations(c) => c.id.clone(),
            Payload::RoutingQueuesConversations(c) => c.id.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(id, made.id, "the conversation created");
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            (format!("v2.routing.queues.{QUEUE}.conversations"), "QueueConversationEventTopicConversation"),
            (format!("v2.users.{ME}.conversations"), "ConversationEventTopicConversation"),
        ]
    );
}

/// A CONNECT proxy on loopback that records the target of each tunnel it opens.
async fn connect_proxy() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let log = targets.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut client = tokio::io::BufReader::new(client);
                let mut request_line = String::new();
                if client.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if client.read_line(&mut header).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if header == "\r\n" {
                        break;
                    }
                }
                let mut words = request_line.split_whitespace();
                let (Some("CONNECT"), Some(target)) = (words.next(), words.next()) else { return };
                log.lock().unwrap().push(target.to_owned());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else { return };
                let mut client = client.into_inner();
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), targets)
}

#[tokio::test]
async fn the_socket_goes_through_the_proxy_and_comes_back_through_it_after_a_drop() {
    let (mock, _) = setup().await;
    let (proxy, targets) = connect_proxy().await;
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("proxied", "proxied-secret"))
        .build()
        .unwrap();
    let options = Options::default()
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .proxy(Some(genesys_cloud_transport::Proxy::url(proxy)));
    let notifications = Notifications::with_options(Arc::new(transport), options);
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let mock_host = mock.addr().to_string();
    assert_eq!(
        *targets.lock().unwrap(),
        std::slice::from_ref(&mock_host),
        "the socket was tunnelled to the connectUri's host"
    );
    exactly_once(&mock, &mut sub, 0, 2).await;

    mock.drop_notification_sockets();
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Connected { .. })).await;
    exactly_once(&mock, &mut sub, 10, 2).await;
    assert_eq!(*targets.lock().unwrap(), [mock_host.clone(), mock_host], "the new socket was tunnelled too");
    sub.close().await;
}

#[tokio::test]
async fn a_body_that_does_not_fit_its_type_is_an_item_with_the_raw_json_and_the_stream_goes_on() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let bad = json!({"presenceDefinition": 42});
    assert_eq!(mock.publish(&format!("v2.users.{ME}.presence"), &bad), 1);
    let u = loop {
        match next(&mut sub).await {
            Item::Undecodable(u) => break u,
            Item::Connection(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(u.topic, format!("v2.users.{ME}.presence"));
    assert_eq!(serde_json::from_str::<serde_json::Value>(&u.raw).unwrap(), bad, "the body as received");
    exactly_once(&mock, &mut sub, 0, 2).await;
}

#[tokio::test]
async fn a_channel_near_its_end_is_renewed_ahead_with_no_gap_and_no_duplicates() {
    let options = MockOptions::default().heartbeat_interval(Duration::from_millis(200));
    let mock = MockServer::start_with(options.channel_lifetime(Duration::from_secs(6))).await.unwrap();
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("renewing", "renewing-secret"))
        .build()
        .unwrap();
    // Renew 5 s before a 6 s channel ends: about a second after it is made.
    let notifications =
        Notifications::with_options(Arc::new(transport), Options::default().renew_before(Duration::from_secs(5)));
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let old = sub.channel_id();
    exactly_once(&mock, &mut sub, 0, 1).await;
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Renewed { .. })).await;
    let Some(Item::Connection(ConnectionEvent::Renewed { old_channel, new_channel })) = seen.last() else {
        unreachable!()
    };
    assert_eq!(old_channel, &old);
    assert_ne!(new_channel, &old);
    assert!(!sub_has_gap(&seen), "renewed before the end: no gap: {seen:?}");
    assert!(!seen.iter().any(|i| matches!(i, Item::Connection(ConnectionEvent::Reconnecting { .. }))), "{seen:?}");
    // Each event is delivered once, from the new channel.
    assert!(mock.publish(&format!("v2.users.{ME}.presence"), &presence(50)) >= 1, "the new socket is up");
    let e = next_event(&mut sub).await;
    assert!(
        matches!(&e.payload, Payload::UsersPresence(p) if p.presence_definition.as_ref().unwrap().id.as_deref() == Some("p-50"))
    );
    exactly_once(&mock, &mut sub, 51, 3).await;
}

#[tokio::test]
async fn dropping_the_stream_removes_the_subscriptions_and_the_socket() {
    let (mock, notifications) = setup().await;
    let sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let channel = sub.channel_id();
    assert_eq!(mock.channel_counts().1, 1);
    drop(sub);
    // The listener's task cleans up after the drop; the count is a hang guard, not a bound.
    for _ in 0..1000 {
        if mock.channel_topics(&channel).unwrap().is_empty() && mock.channel_counts().1 == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(mock.channel_topics(&channel).unwrap(), Vec::<String>::new(), "unsubscribed");
    assert_eq!(mock.channel_counts().1, 0, "the socket is closed");
}

// ---------------------------------------------------------------------------------------------
// The service's adversarial behaviour, as its documentation allows: sockets cut without a close
// frame, sockets that go silent, traffic across a handover, revocations, limits per client,
// shared correlation ids, stalls. Each test counts loss, duplicates and order per topic.

/// The presence definition id of an event ("p-N"), as its number.
fn number(e: &Event) -> Option<usize> {
    let Payload::UsersPresence(p) = &e.payload else { return None };
    p.presence_definition.as_ref()?.id.as_deref()?.strip_prefix("p-")?.parse().ok()
}

/// The gaps among `items`.
fn gaps(items: &[Item]) -> Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
    items
        .iter()
        .filter_map(|i| match i {
            Item::Connection(ConnectionEvent::Gap { start, end }) => Some((*start, *end)),
            _ => None,
        })
        .collect()
}

/// A socket that goes silent (no heartbeat, pong or event; what is published meanwhile is
/// lost to it) is replaced, and the gap it reports starts at its last frame, before the
/// silence: every event it lost was published inside the gap.
#[tokio::test]
async fn a_silent_socket_is_replaced_and_every_event_it_lost_is_inside_the_gap() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    exactly_once(&mock, &mut sub, 0, 1).await;
    mock.silence_notification_sockets(true);
    let topic = format!("v2.users.{ME}.presence");
    let mut lost_at = Vec::new();
    for n in 100..105 {
        assert_eq!(mock.publish(&topic, &presence(n)), 0, "the socket is silent: the event is lost to it");
        lost_at.push(chrono::Utc::now());
    }
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Gap { .. })).await;
    mock.silence_notification_sockets(false);
    let [(start, end)] = gaps(&seen)[..] else { panic!("one gap: {seen:?}") };
    for at in lost_at {
        assert!(start <= at && at <= end, "a lost event at {at:?} is inside the gap {start:?}..{end:?}");
    }
    exactly_once(&mock, &mut sub, 200, 2).await;
}

/// A socket cut with no close frame is reconnected, with a gap, and the stream goes on.
#[tokio::test]
async fn a_socket_cut_without_a_close_frame_heals() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    exactly_once(&mock, &mut sub, 0, 1).await;
    mock.abort_notification_sockets();
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Gap { .. })).await;
    assert!(seen.iter().any(|i| matches!(i, Item::Connection(ConnectionEvent::Reconnecting { .. }))), "{seen:?}");
    exactly_once(&mock, &mut sub, 10, 3).await;
}

/// Under traffic (about 1,000 events a second over two topics), across two `socket_closing`
/// handovers and a channel renewal: every event comes once, within each topic in the order
/// it was published, and none is missing (no gap was reported).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stay_in_order_once_each_across_handovers_under_traffic() {
    let options = MockOptions::default().heartbeat_interval(Duration::from_millis(200));
    let mock = Arc::new(MockServer::start_with(options.channel_lifetime(Duration::from_secs(8))).await.unwrap());
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("traffic", "traffic-secret"))
        .build()
        .unwrap();
    // A renewal about 2 s in (8 s channels, renewed 6 s before their end).
    let options = Options::default().buffer(100_000).renew_before(Duration::from_secs(6));
    let notifications = Notifications::with_options(Arc::new(transport), options);
    let users = ["order-a", "order-b"];
    let mut sub = notifications.subscribe(users.map(|u| topics::users_presence(u).unwrap())).await.unwrap();
    const PER_TOPIC: usize = 2_500;
    let publisher = {
        let mock = mock.clone();
        tokio::spawn(async move {
            for n in 0..PER_TOPIC {
                for user in users {
                    mock.publish(&format!("v2.users.{user}.presence"), &presence(n));
                }
                if n % 5 == 4 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if n == 600 || n == 1_600 {
                    mock.send_socket_closing(Duration::from_millis(300));
                }
            }
        })
    };
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut count = 0usize;
    let mut seen = Vec::new();
    while count < PER_TOPIC * users.len() {
        let item = tokio::time::timeout(Duration::from_secs(30), sub.next()).await.expect("quiet").expect("ended");
        if let Item::Event(e) = &item {
            let n = number(e).expect("a numbered presence event");
            if let Some(before) = last.insert(e.topic.clone(), n) {
                assert_eq!(n, before + 1, "{}: in order, none missing, none twice", e.topic);
            } else {
                assert_eq!(n, 0, "{}: the first event", e.topic);
            }
            count += 1;
        } else {
            seen.push(item);
        }
    }
    publisher.await.unwrap();
    let renewed = seen.iter().filter(|i| matches!(i, Item::Connection(ConnectionEvent::Renewed { .. }))).count();
    assert!(renewed >= 3, "two socket_closing handovers and a renewal: {seen:?}");
    assert!(gaps(&seen).is_empty(), "no gap: {seen:?}");
    assert!(sub.stats().duplicates > 0, "the overlaps carried copies, which were dropped: {:?}", sub.stats());
}

/// A consumer that reads nothing while its buffer overflows and the socket is lost still
/// gets, in order: the events that fit, how many were lost and over which time, then every
/// connection change, the gap and the state fetched again.
#[tokio::test]
async fn a_slow_consumer_gets_every_connection_item_and_the_loss_with_its_time() {
    let (mock, _) = setup().await;
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("slow", "slow-secret"))
        .build()
        .unwrap();
    let options = Options::default().buffer(8).backoff(Duration::from_millis(20), Duration::from_millis(200));
    let notifications = Notifications::with_options(Arc::new(transport), options);
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let topic = format!("v2.users.{ME}.presence");
    for n in 0..100 {
        mock.publish(&topic, &presence(n));
    }
    while sub.stats().received < 100 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    mock.drop_notification_sockets();
    // Back once the channel has a socket again (the drop took it away at once).
    while mock.channel_counts().1 == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut items = Vec::new();
    loop {
        let item = next(&mut sub).await;
        let done = matches!(item, Item::Resync(_));
        items.push(item);
        if done {
            break;
        }
    }
    let kinds: Vec<&str> = items
        .iter()
        .map(|i| match i {
            Item::Event(_) => "event",
            Item::Lost { .. } => "lost",
            Item::Connection(ConnectionEvent::Connected { .. }) => "connected",
            Item::Connection(ConnectionEvent::Reconnecting { .. }) => "reconnecting",
            Item::Connection(ConnectionEvent::Gap { .. }) => "gap",
            Item::Resync(_) => "resync",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "connected",
            "event",
            "event",
            "event",
            "event",
            "event",
            "event",
            "event",
            "event",
            "lost",
            "reconnecting",
            "connected",
            "gap",
            "resync"
        ],
        "the buffer holds 8 events; the rest is never dropped"
    );
    let Some(Item::Lost { count, from, to }) = items.iter().find(|i| matches!(i, Item::Lost { .. })) else {
        unreachable!()
    };
    assert_eq!(*count, 100 - 8, "the buffer held 8 events");
    assert!(from <= to);
}

/// A revoked token may stop the channel at once (the mock's falls silent): the stream moves
/// to a new channel, reports a gap that holds every event published meanwhile, and fetches
/// the state again.
#[tokio::test]
async fn a_revoked_token_is_a_gap_with_the_state_fetched_again() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    exactly_once(&mock, &mut sub, 0, 1).await;
    let old = sub.channel_id();
    mock.revoke_token();
    let published_at = chrono::Utc::now();
    mock.publish(&format!("v2.users.{ME}.presence"), &presence(50));
    let seen = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Gap { .. })).await;
    let [(start, end)] = gaps(&seen)[..] else { panic!("one gap: {seen:?}") };
    assert!(start <= published_at && published_at <= end, "the event published after the revocation is in the gap");
    assert!(matches!(next(&mut sub).await, Item::Resync(_)), "the state comes again");
    assert_ne!(sub.channel_id(), old, "a new channel");
    exactly_once(&mock, &mut sub, 100, 2).await;
}

/// The service does not promise unique correlation ids: two different events that share one
/// are both delivered.
#[tokio::test]
async fn two_events_sharing_a_correlation_id_are_both_delivered() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let topic = format!("v2.users.{ME}.presence");
    mock.publish_with_correlation(&topic, &presence(1), "shared-id");
    mock.publish_with_correlation(&topic, &presence(2), "shared-id");
    let (a, b) = (next_event(&mut sub).await, next_event(&mut sub).await);
    assert_eq!((number(&a), number(&b)), (Some(1), Some(2)));
    assert_eq!(a.correlation_id, b.correlation_id);
}

/// The service allows 20 channels per user and app, and replaces the oldest past that. A
/// client's subscriptions share 19 (one kept for renewals): a subscription that would pass
/// them is refused, naming what is held; and when all 19 are renewed at once, one at a time,
/// the service evicts none in use: every subscription still delivers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_budgeted_per_client_with_one_kept_for_renewals() {
    let (mock, notifications) = setup().await;
    let many = |prefix: &str, channels: usize| {
        let n = (channels - 1) * 1_000 + 1;
        (0..n).map(move |i| topics::routing_queues_conversations(&format!("{prefix}{i}")).unwrap()).collect::<Vec<_>>()
    };
    let mut a = notifications.subscribe(many("qa", 10)).await.unwrap();
    let err = notifications.clone().subscribe(many("qb", 10)).await.unwrap_err();
    assert!(err.is_build() && err.message().contains("hold 10") && err.message().contains("at most 19"), "{err}");
    let mut b = notifications.subscribe(many("qb", 9)).await.unwrap();
    assert_eq!(notifications.channel_budget().in_use(), 19);
    // (The mock attaches a socket just after the handshake the client waits for.)
    connected_by_listener(&mock, 19).await;
    assert_eq!(mock.channel_counts_of("listener").0, 19);
    for sub in [&mut a, &mut b] {
        for _ in 0..sub.channel_ids().len() {
            assert!(matches!(next(sub).await, Item::Connection(ConnectionEvent::Connected { .. })));
        }
    }
    // All 19 told to close, with a grace of a few seconds: the renewals go one at a time.
    mock.send_socket_closing(Duration::from_secs(10));
    for sub in [&mut a, &mut b] {
        let mut renewed = 0;
        let channels = sub.channel_ids().len();
        while renewed < channels {
            match next(sub).await {
                Item::Connection(ConnectionEvent::Renewed { .. }) => renewed += 1,
                Item::Connection(other) => panic!("a channel in use was lost: {other:?}"),
                _ => {}
            }
        }
    }
    connected_by_listener(&mock, 19).await;
    for (sub, queue) in [(&mut a, "qa0"), (&mut b, "qb0")] {
        mock.publish_sample(&format!("v2.routing.queues.{queue}.conversations")).unwrap();
        loop {
            if let Item::Event(e) = next(sub).await {
                assert_eq!(e.topic, format!("v2.routing.queues.{queue}.conversations"));
                break;
            }
        }
    }
}

/// Waits until OAuth client `listener` has `n` channels with a socket (a hang guard bounds
/// the wait; it is not a speed bound).
async fn connected_by_listener(mock: &MockServer, n: usize) {
    for _ in 0..2_000 {
        if mock.channel_counts_of("listener").1 == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{:?} channels of the client, connected", mock.channel_counts_of("listener"));
}

/// Every wait ends: a socket whose tunnel never answers fails `subscribe` at the connect
/// timeout, and `close()` returns while the service does not answer the removal of the
/// subscriptions.
#[tokio::test]
async fn subscribe_and_close_end_when_the_service_stalls() {
    let (mock, _) = setup().await;
    // A proxy that accepts and never answers: the tunnel, TLS and handshake never finish.
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", stalled.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = stalled.accept().await {
            held.push(s);
        }
    });
    let transport = |id: &str| {
        Transport::builder()
            .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
            .grant(Grant::client_credentials(id, "secret"))
            .build()
            .unwrap()
    };
    let options = Options::default()
        .proxy(Some(genesys_cloud_transport::Proxy::url(&proxy_url)))
        .connect_timeout(Duration::from_millis(300));
    let notifications = Notifications::with_options(Arc::new(transport("stalled")), options);
    let err =
        tokio::time::timeout(Duration::from_secs(20), notifications.subscribe([topics::users_presence(ME).unwrap()]))
            .await
            .expect("subscribe ended")
            .unwrap_err();
    assert!(err.is_timeout(), "{err}");

    let notifications = Notifications::new(Arc::new(transport("closing")));
    let sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let fault = genesys_cloud_mock::Fault::new(genesys_cloud_mock::FaultKind::Latency(Duration::from_secs(120)));
    mock.inject(fault.on_path("/api/v2/notifications/channels/").on_method("DELETE").times(10));
    tokio::time::timeout(Duration::from_secs(20), sub.close()).await.expect("close() returned");
    assert_eq!(notifications.channel_budget().in_use(), 0, "the channels were given back");
}

/// After a renewal the old channel keeps no subscriptions.
#[tokio::test]
async fn after_a_renewal_the_old_channel_has_no_subscriptions() {
    let (mock, notifications) = setup().await;
    let mut sub = notifications.subscribe([topics::users_presence(ME).unwrap()]).await.unwrap();
    let old = sub.channel_id();
    mock.send_socket_closing(Duration::from_millis(300));
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Renewed { .. })).await;
    exactly_once(&mock, &mut sub, 0, 1).await;
    for _ in 0..400 {
        if mock.channel_topics(&old).is_none_or(|t| t.is_empty()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the old channel still has {:?}", mock.channel_topics(&old));
}

/// While the state is fetched after a gap, the socket is read: an event of a topic that is
/// not being fetched comes before the slow fetch's state.
#[tokio::test]
async fn the_socket_is_read_while_the_state_is_fetched() {
    let (mock, notifications) = setup().await;
    // The user's conversations have no REST counterpart: nothing is fetched for them.
    let conversations = format!("v2.users.{ME}.conversations");
    let mut sub = notifications
        .subscribe([topics::users_presence(ME).unwrap(), topics::users_conversations(ME).unwrap()])
        .await
        .unwrap();
    let slow = genesys_cloud_mock::Fault::new(genesys_cloud_mock::FaultKind::Latency(Duration::from_secs(2)));
    mock.inject(slow.on_path(format!("/api/v2/users/{ME}/presences")).times(5));
    mock.drop_notification_sockets();
    until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Gap { .. })).await;
    mock.publish_sample(&conversations).unwrap();
    let first = next(&mut sub).await;
    assert!(matches!(&first, Item::Event(e) if e.topic == conversations), "the event before the state: {first:?}");
    assert!(matches!(next(&mut sub).await, Item::Resync(_)));
}

/// One socket of a stream going silent is that channel's loss alone: the other channel's
/// events keep coming while it is replaced, and the gap is reported once.
#[tokio::test]
async fn one_silent_channel_of_two_heals_while_the_other_goes_on() {
    let (mock, notifications) = setup().await;
    let topics = (0..1001).map(|i| topics::routing_queues_conversations(&format!("q-{i:04}")).unwrap());
    let mut sub = notifications.subscribe(topics).await.unwrap();
    let channels = sub.channel_ids();
    assert_eq!(channels.len(), 2);
    assert!(mock.silence_notification_channel(&channels[0], true));
    // The other channel (q-1000) still delivers while the first is silent.
    mock.publish_sample("v2.routing.queues.q-1000.conversations").unwrap();
    let mut seen = Vec::new();
    let event = loop {
        match next(&mut sub).await {
            Item::Event(e) => break e,
            other => seen.push(other),
        }
    };
    assert_eq!(event.topic, "v2.routing.queues.q-1000.conversations");
    let more = until_connection(&mut sub, |c| matches!(c, ConnectionEvent::Gap { .. })).await;
    seen.extend(more);
    assert_eq!(gaps(&seen).len(), 1, "one gap, for the silent channel: {seen:?}");
    mock.silence_notification_channel(&channels[0], false);
    mock.publish_sample("v2.routing.queues.q-0000.conversations").unwrap();
    assert_eq!(next_event(&mut sub).await.topic, "v2.routing.queues.q-0000.conversations");
}

/// A socket that falls silent during a handover (a half-open connection, right after its
/// `socket_closing`) loses what the service sent before the new socket was up. That loss is a
/// gap, told before the new socket's events, and the stream does not wait for the old
/// socket's close to move on.
#[tokio::test]
async fn a_socket_silent_during_a_handover_is_a_gap_told_before_the_new_sockets_events() {
    let options = MockOptions::default().heartbeat_interval(Duration::from_millis(200));
    let mock = Arc::new(MockServer::start_with(options).await.unwrap());
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("half-open", "half-open-secret"))
        .build()
        .unwrap();
    let options = Options::default().buffer(100_000).heartbeat(Duration::from_millis(600), Duration::from_millis(300));
    let notifications = Notifications::with_options(Arc::new(transport), options);
    let mut sub = notifications.subscribe([topics::users_presence("half-open").unwrap()]).await.unwrap();
    let old = sub.channel_ids()[0].clone();
    const EVENTS: usize = 1_500;
    let published: Arc<std::sync::Mutex<Vec<chrono::DateTime<chrono::Utc>>>> = Arc::default();
    let publisher = {
        let (mock, published) = (mock.clone(), published.clone());
        tokio::spawn(async move {
            for n in 0..EVENTS {
                published.lock().unwrap().push(chrono::Utc::now());
                mock.publish("v2.users.half-open.presence", &presence(n));
                if n == 300 {
                    // The old socket's close is far off: the stream must not wait for it.
                    mock.send_socket_closing(Duration::from_secs(60));
                    assert!(mock.silence_notification_channel(&old, true));
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let mut gaps_told: Vec<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> = Vec::new();
    let (mut next_expected, mut skipped, mut renewed) = (0usize, 0usize, 0usize);
    while next_expected < EVENTS {
        let item = tokio::time::timeout(Duration::from_secs(20), sub.next()).await.expect("quiet").expect("ended");
        match item {
            Item::Event(e) => {
                let n = number(&e).expect("a numbered presence event");
                assert!(n >= next_expected, "{n} after {}: out of order or twice", next_expected - 1);
                let times = published.lock().unwrap().clone();
                for (m, &at) in times.iter().enumerate().take(n).skip(next_expected) {
                    assert!(
                        gaps_told.iter().any(|(start, end)| *start <= at && at <= *end),
                        "{m} (sent {at}) is missing, and no gap told before {n} covers it: {gaps_told:?}"
                    );
                    skipped += 1;
                }
                next_expected = n + 1;
            }
            Item::Connection(ConnectionEvent::Gap { start, end }) => gaps_told.push((start, end)),
            Item::Connection(ConnectionEvent::Renewed { .. }) => renewed += 1,
            _ => {}
        }
    }
    publisher.await.unwrap();
    assert!(renewed >= 1, "the socket_closing moved the stream");
    assert!(!gaps_told.is_empty(), "the silent old socket is a gap (events lost: {skipped})");
}

/// What the API says now of `users` and `queues`, in the reflector's terms.
async fn truth(
    api: &Api,
    users: &[String],
    queues: &[&str],
) -> (Vec<(String, genesys_cloud_notifications::UserState)>, Vec<std::collections::BTreeMap<String, bool>>) {
    use genesys_cloud_notifications::{PresenceState, RoutingState, UserState};
    let mut states = Vec::new();
    for user in users {
        let presence = api.presence().get_user_presences_purecloud(user.clone()).send().await.unwrap();
        let routing = api.users().get_user_routingstatus(user.clone()).send().await.unwrap();
        let mut state = UserState::default();
        state.presence = Some(PresenceState::from(&presence));
        state.routing = Some(RoutingState::from(&routing));
        states.push((user.clone(), state));
    }
    states.sort_by(|a, b| a.0.cmp(&b.0));
    let mut members = Vec::new();
    for queue in queues {
        let listed = api.routing().get_routing_queue_members(*queue).page_size(100).send().await.unwrap();
        members.push(
            listed
                .entities
                .unwrap_or_default()
                .iter()
                .filter_map(|m| Some((m.id.clone()?, m.joined.unwrap_or(true))))
                .collect(),
        );
    }
    (states, members)
}

/// What the queue observations query says now of `queue`'s conversations, in the reflector's
/// terms.
async fn conversations_truth(
    api: &Api,
    queue: &str,
) -> std::collections::BTreeMap<String, genesys_cloud_notifications::QueueConversation> {
    use genesys_cloud_notifications::QueueConversation;
    let metrics = || vec!["oWaiting".to_owned(), "oInteracting".to_owned()];
    let predicate = models::QueueObservationQueryPredicate::default()
        .dimension(models::QueueObservationQueryPredicateDimension::QueueId)
        .value(queue);
    let query = models::QueueObservationQuery::default()
        .filter(models::QueueObservationQueryFilter::default().predicates(vec![predicate]))
        .metrics(metrics())
        .detail_metrics(metrics());
    let answer = api.analytics().post_analytics_queues_observations_query(query).send().await.unwrap();
    let mut now = std::collections::BTreeMap::new();
    for data in answer.results.unwrap_or_default().into_iter().flat_map(|r| r.data.unwrap_or_default()) {
        for o in data.observations.unwrap_or_default() {
            let state = match data.metric.as_deref() {
                Some("oInteracting") => QueueConversation::Interacting { user_id: o.user_id.clone() },
                _ => QueueConversation::Waiting,
            };
            now.insert(o.conversation_id.unwrap(), state);
        }
    }
    now
}

/// A reflector of 12 users and 2 queues (their members and their conversations), while the API
/// changes them and calls arrive, are answered and end, the sockets are dropped,
/// `socket_closing` moves the stream, and a buffer of 2 events drops what a burst brings (the
/// slow-consumer case): at the end its view equals what the API answers, entity for entity.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reflector_equals_the_api_after_drops_handovers_losses_and_changes_meanwhile() {
    let (mock, _, api) = setup_with_api().await;
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("reflector", "reflector-secret"))
        .build()
        .unwrap();
    let options = Options::default()
        .buffer(2)
        .heartbeat(Duration::from_millis(800), Duration::from_millis(400))
        .backoff(Duration::from_millis(20), Duration::from_millis(200));
    let listener = Notifications::with_options(Arc::new(transport), options);
    let mut users = Vec::new();
    for n in 0..12 {
        let body = models::CreateUser::default().with(|u| {
            u.name = Some(format!("Agent {n}"));
            u.email = Some(format!("agent-{n}@example.com"));
            u.division_id = Some("mock-division-home".into());
        });
        users.push(api.users().post_users(body).send().await.unwrap().id.unwrap());
    }
    let queues = ["queue-1", "queue-2"];
    api.routing().post_routing_queue_members("queue-1", members(&[users[0].as_str()])).send().await.unwrap();
    // Calls in the queues before the start: one waiting, one with an agent.
    let mut calls = vec![mock.enqueue_call("queue-1"), mock.enqueue_call("queue-2")];
    assert!(mock.answer_call(&calls[1], &users[3]));
    let reflector = listener
        .reflector()
        .users(users.clone())
        .queue_members(queues)
        .queue_conversations(queues)
        .start()
        .await
        .unwrap();
    assert_eq!(reflector.users().len(), 12, "filled by the listing");
    assert_eq!(reflector.get(&users[0]).unwrap().presence.unwrap().system_presence.as_deref(), Some("Available"));
    assert_eq!(reflector.queue("queue-1").unwrap().len(), 1);
    use genesys_cloud_notifications::QueueConversation;
    assert_eq!(reflector.conversations("queue-1").unwrap().get(&calls[0]), Some(&QueueConversation::Waiting));
    let answered = QueueConversation::Interacting { user_id: Some(users[3].clone()) };
    assert_eq!(reflector.conversations("queue-2").unwrap().get(&calls[1]), Some(&answered));
    let mut changes = reflector.changes();

    let presences = ["mock-presence-busy", "mock-presence-away", "mock-presence-available"];
    let statuses = ["IDLE", "OFF_QUEUE"];
    for round in 0..6 {
        for (n, user) in users.iter().enumerate() {
            let presence = presences[(n + round) % presences.len()];
            api.presence()
                .patch_user_presence(user.clone(), "PURECLOUD", presence_body(presence))
                .send()
                .await
                .unwrap();
            api.users()
                .put_user_routingstatus(user.clone(), routing_body(statuses[(n + round) % 2]))
                .send()
                .await
                .unwrap();
        }
        let joining = users[round + 1].as_str();
        api.routing().post_routing_queue_members(queues[round % 2], members(&[joining])).send().await.unwrap();
        // Calls arrive, are answered, and end (through the API), in both queues.
        calls.push(mock.enqueue_call(queues[round % 2]));
        calls.push(mock.enqueue_call(queues[(round + 1) % 2]));
        assert!(mock.answer_call(&calls[2 * round + 2], &users[round]));
        if round % 2 == 1 {
            let ended = calls[2 * round - 1].clone();
            api.conversations().post_conversation_disconnect(ended).send().await.unwrap();
        }
        match round {
            1 => mock.drop_notification_sockets(),
            3 => mock.send_socket_closing(Duration::from_millis(300)),
            4 => mock.abort_notification_sockets(),
            _ => {}
        }
    }
    // Changes made while the last fault heals.
    api.presence()
        .patch_user_presence(users[0].clone(), "PURECLOUD", presence_body("mock-presence-busy"))
        .send()
        .await
        .unwrap();

    // The view converges on the API: compared every 100 ms (a hang guard of a minute).
    let mut last = None;
    for _ in 0..600 {
        let (states, members) = truth(&api, &users, &queues).await;
        let held: Vec<_> = reflector.users();
        let held_members: Vec<_> = queues.iter().map(|q| reflector.queue(q).unwrap_or_default()).collect();
        let mut conversations = Vec::new();
        for queue in queues {
            conversations.push(conversations_truth(&api, queue).await);
        }
        let held_conversations: Vec<_> =
            queues.iter().map(|q| reflector.conversations(q).unwrap_or_default()).collect();
        if held == states && held_members == members && held_conversations == conversations {
            last = None;
            break;
        }
        last = Some(format!(
            "users {held:?} / {states:?}; members {held_members:?} / {members:?}; conversations {held_conversations:?} / {conversations:?}"
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(last.is_none(), "the view did not converge on the API: {last:?}");
    // The change stream told of the changes (and of a gap, after the drops).
    let mut seen = Vec::new();
    while let Ok(Some(change)) = tokio::time::timeout(Duration::from_millis(200), changes.next()).await {
        seen.push(change);
    }
    assert!(seen.iter().any(|c| matches!(c, genesys_cloud_notifications::Change::User { .. })));
    assert!(seen.iter().any(|c| matches!(c, genesys_cloud_notifications::Change::Conversation { now: None, .. })));
    // Some calls are still in the queues at the end, and some have left them.
    let held: usize = queues.iter().map(|q| reflector.conversations(q).unwrap().len()).sum();
    assert!(held > 0 && held < calls.len(), "{held} of {} calls held", calls.len());
    assert!(seen.iter().any(|c| matches!(c, genesys_cloud_notifications::Change::Gap { .. })), "{seen:?}");
}
