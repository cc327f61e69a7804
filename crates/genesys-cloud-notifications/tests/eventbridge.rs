//! The same notifications from Amazon EventBridge and from the WebSocket: sampled bodies of
//! several topic families published through the mock's socket, and the same bodies in
//! EventBridge events inside an SQS batch, decode into equal payloads.

use genesys_cloud_auth::Grant;
use genesys_cloud_core::SharedExecutor;
use genesys_cloud_mock::{topic_payload, MockServer};
use genesys_cloud_notifications::{decode_sqs_batch, Item, Notifications, Topic};
use genesys_cloud_transport::{Endpoint, Transport};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn an_sqs_batch_of_eventbridge_events_decodes_as_the_socket_delivers_them() {
    let mock = MockServer::start().await.unwrap();
    let transport = Transport::builder()
        .endpoint(Endpoint::custom(&mock.base_url()).unwrap())
        .grant(Grant::client_credentials("bridge", "bridge-secret"))
        .build()
        .unwrap();
    let executor: SharedExecutor = Arc::new(transport);
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let names = [
        format!("v2.users.{id}.presence"),
        format!("v2.routing.queues.{id}.conversations"),
        format!("v2.conversations.{id}.transcription"),
        format!("v2.users.{id}.routingStatus"),
    ];
    let topics: Vec<Topic> = names.iter().map(|n| Topic::raw(n.clone())).collect();
    let mut sub = Notifications::new(executor).subscribe(topics).await.unwrap();

    let spec = genesys_cloud_spec::Document::parse(genesys_cloud_mock::SPEC).unwrap();
    let sampler = genesys_cloud_spec::Sampler::new(&spec, genesys_cloud_spec::SampleOptions::default());
    let mut records = Vec::new();
    let mut from_socket = Vec::new();
    for (n, name) in names.iter().enumerate() {
        let body = sampler.definition(&topic_payload(name).unwrap()).unwrap();
        assert_eq!(mock.publish(name, &body), 1);
        let event = loop {
            match tokio::time::timeout(Duration::from_secs(20), sub.next()).await.unwrap().unwrap() {
                Item::Event(e) => break e,
                Item::Connection(_) => {}
                other => panic!("{other:?}"),
            }
        };
        from_socket.push(event);
        let pattern = name.replace(id, "{id}");
        let bridged = serde_json::json!({
            "version": "0", "id": format!("e-{n}"), "detail-type": pattern,
            "source": "aws.partner/genesys.com/cloud/org-1/feed", "account": "123456789012",
            "time": "2026-12-07T10:15:30Z", "region": "us-east-1", "resources": [],
            "detail": {"topicName": name, "version": "2", "eventBody": body},
        });
        records.push(serde_json::json!({"messageId": format!("m-{n}"), "body": bridged.to_string()}));
    }
    records.insert(2, serde_json::json!({"messageId": "m-bad", "body": "{\"detail-type\": 1"}));
    let batch = decode_sqs_batch(serde_json::json!({"Records": records}).to_string().as_bytes()).unwrap();
    let bridged: Vec<_> = batch.events().map(|b| (b.event.topic.clone(), b.event.payload.clone())).collect();
    let socket: Vec<_> = from_socket.iter().map(|e| (e.topic.clone(), e.payload.clone())).collect();
    assert_eq!(bridged, socket, "the same events, typed the same");
    assert!(bridged.iter().all(|(_, p)| !matches!(p, genesys_cloud_notifications::Payload::Raw(_))));
    let failures: Vec<_> = batch.failures().batch_item_failures.into_iter().map(|f| f.item_identifier).collect();
    assert_eq!(failures, ["m-bad"], "the batch went on past the bad record");
}
