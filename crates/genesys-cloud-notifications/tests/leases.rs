//! Subscriptions through channel leases (in memory here; the fleet crate's tests run them over
//! a real Redis and real processes), against the mock over real sockets: one subscription of
//! the fleet carries a topic at a time, another takes it over when the first leaves, with a
//! gap and the state; the fleet's channel budget names its holders; a store that fails or
//! never answers leaves the listener subscribing alone.

use genesys_cloud_auth::Grant;
use genesys_cloud_core::{BoxFuture, Error, ErrorKind, SharedExecutor};
use genesys_cloud_mock::{MockOptions, MockServer};
use genesys_cloud_notifications::{
    topics, ChannelGrant, ChannelLeases, ConnectionEvent, Item, MemoryChannelLeases, Notifications, Options,
    Subscription, Topic,
};
use genesys_cloud_transport::{Endpoint, Transport};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const ME: &str = "mock-user-me";
const QUEUE: &str = "queue-1";
const SCOPE: &str = "genesys:test:mock:listener";

/// A listener of its own (its own transport, as another process would have) through `store`.
fn listener(mock: &MockServer, store: Arc<dyn ChannelLeases>) -> Notifications {
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("listener", "listener-secret"))
        .build()
        .unwrap();
    let options = Options::default()
        .heartbeat(Duration::from_millis(800), Duration::from_millis(400))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .lease_ttl(Duration::from_millis(600));
    let executor: SharedExecutor = Arc::new(transport);
    Notifications::with_options(executor, options).leases(store, SCOPE)
}

async fn mock() -> MockServer {
    MockServer::start_with(MockOptions::default().heartbeat_interval(Duration::from_millis(200))).await.unwrap()
}

/// The topics asked for, in the order a subscription lists them (by name).
fn wanted() -> Vec<Topic> {
    vec![topics::routing_queues_users(QUEUE).unwrap(), topics::users_presence(ME).unwrap()]
}

/// The next item, with a hang guard (not a speed bound).
async fn next(sub: &mut Subscription) -> Item {
    tokio::time::timeout(Duration::from_secs(20), sub.next())
        .await
        .expect("the stream went quiet")
        .expect("the stream ended")
}

fn presence(n: usize) -> serde_json::Value {
    json!({"source": "PURECLOUD", "presenceDefinition": {"id": format!("p-{n}"), "systemPresence": "Available"}})
}

fn presence_id(item: &Item) -> Option<String> {
    let Item::Event(e) = item else { return None };
    let genesys_cloud_notifications::Payload::UsersPresence(p) = &e.payload else { return None };
    p.presence_definition.as_ref().and_then(|d| d.id.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_is_carried_by_one_subscription_of_the_fleet_and_taken_over_with_a_gap_and_its_state() {
    let mock = mock().await;
    let store: Arc<dyn ChannelLeases> = Arc::new(MemoryChannelLeases::default());
    let mut first = listener(&mock, store.clone()).subscribe(wanted()).await.unwrap();
    let mut second = listener(&mock, store.clone()).subscribe(wanted()).await.unwrap();
    assert!(matches!(next(&mut first).await, Item::Connection(ConnectionEvent::Connected { .. })));
    assert!(matches!(next(&mut second).await, Item::Connection(ConnectionEvent::Connected { .. })));
    assert_eq!(first.topics(), wanted(), "the first takes every topic");
    assert!(second.topics().is_empty(), "the second waits: {:?}", second.topics());

    // One socket of the two carries each event.
    let topic = format!("v2.users.{ME}.presence");
    assert_eq!(mock.publish(&topic, &presence(1)), 1, "the topic is subscribed once in the fleet");
    assert_eq!(presence_id(&next(&mut first).await).as_deref(), Some("p-1"));

    // The first leaves; the second takes its topics, tells of the gap and fetches the state.
    first.close().await;
    let mut seen = Vec::new();
    loop {
        let item = next(&mut second).await;
        let done = matches!(&item, Item::Resync(r) if r.topic.ends_with(".presence"));
        seen.push(item);
        if done {
            break;
        }
    }
    let Item::Connection(ConnectionEvent::TopicsLeased { taken, lost }) = &seen[0] else { panic!("{seen:?}") };
    assert_eq!(taken.len(), 2, "{taken:?}");
    assert!(lost.is_empty());
    assert!(matches!(seen[1], Item::Connection(ConnectionEvent::Gap { .. })), "{seen:?}");
    let states: Vec<&str> = seen[2..]
        .iter()
        .filter_map(|i| match i {
            Item::Resync(r) => Some(r.topic.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(states, [format!("v2.routing.queues.{QUEUE}.users"), topic.clone()]);
    assert_eq!(second.topics(), wanted());
    assert_eq!(mock.publish(&topic, &presence(2)), 1);
    assert_eq!(presence_id(&next(&mut second).await).as_deref(), Some("p-2"));
}

#[tokio::test]
async fn topics_shared_when_asked_are_carried_by_every_subscription() {
    let mock = mock().await;
    let store: Arc<dyn ChannelLeases> = Arc::new(MemoryChannelLeases::default());
    let first = listener(&mock, store.clone()).share_topics().subscribe(wanted()).await.unwrap();
    let second = listener(&mock, store.clone()).share_topics().subscribe(wanted()).await.unwrap();
    assert_eq!((first.topics(), second.topics()), (wanted(), wanted()));
    // Both sockets are subscribed once connected; the mock counts the sockets it sent to.
    let topic = format!("v2.users.{ME}.presence");
    let mut sent = 0;
    for _ in 0..200 {
        sent = mock.publish(&topic, &presence(0));
        if sent == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(sent, 2);
}

#[tokio::test]
async fn past_the_fleets_channels_the_error_names_the_holders() {
    let mock = mock().await;
    let store = Arc::new(MemoryChannelLeases::default());
    let ttl = Duration::from_secs(60);
    assert_eq!(store.take_channels(SCOPE, "worker-a #1", 12, 19, ttl).await.unwrap(), ChannelGrant::Granted);
    assert_eq!(store.take_channels(SCOPE, "worker-b #1", 7, 19, ttl).await.unwrap(), ChannelGrant::Granted);
    let error = listener(&mock, store.clone()).subscribe(wanted()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.contains("hold 19 of 19") && text.contains("worker-a #1 (12), worker-b #1 (7)"), "{text}");
    assert_eq!(mock.channel_counts().0, 0, "no channel was made");
    // Another OAuth client's scope has a budget of its own.
    let other: Arc<dyn ChannelLeases> = store.clone();
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("listener", "listener-secret"))
        .build()
        .unwrap();
    let elsewhere = Notifications::new(Arc::new(transport)).leases(other, "genesys:test:mock:another-client");
    elsewhere.subscribe(wanted()).await.unwrap();
}

/// A store that fails every call, or never answers.
struct Broken {
    answers: bool,
}

impl Broken {
    fn fail<'a, T: Send + 'a>(&'a self) -> BoxFuture<'a, Result<T, Error>> {
        if self.answers {
            Box::pin(std::future::ready(Err(Error::new(ErrorKind::Connect, "redis: connection refused"))))
        } else {
            Box::pin(std::future::pending())
        }
    }
}

impl ChannelLeases for Broken {
    fn take_channels<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: usize,
        _: usize,
        _: Duration,
    ) -> BoxFuture<'a, Result<ChannelGrant, Error>> {
        self.fail()
    }
    fn claim_topics<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a [String],
        _: Duration,
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, Error>> {
        self.fail()
    }
    fn release<'a>(&'a self, _: &'a str, _: &'a str, _: &'a str, _: &'a [String]) -> BoxFuture<'a, Result<(), Error>> {
        self.fail()
    }
}

#[tokio::test]
async fn a_store_that_fails_or_never_answers_leaves_the_listener_subscribing_alone() {
    for answers in [true, false] {
        let mock = mock().await;
        let mut sub = listener(&mock, Arc::new(Broken { answers })).subscribe(wanted()).await.unwrap();
        assert_eq!(sub.topics(), wanted(), "fail open: every topic asked for");
        assert!(matches!(next(&mut sub).await, Item::Connection(ConnectionEvent::Connected { .. })));
        // The keeper's renewals fail too (several rounds of 200 ms); the stream goes on.
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(mock.publish(&format!("v2.users.{ME}.presence"), &presence(3)), 1);
        assert_eq!(presence_id(&next(&mut sub).await).as_deref(), Some("p-3"));
        assert_eq!(sub.topics(), wanted());
        sub.close().await;
    }
}
