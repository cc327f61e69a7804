//! Notifications: subscribe to the signed-in user's presence and a queue's conversations,
//! change the presence through the API, and print each event (`event <topicName>
//! <PayloadType>`), then the connection events, and the state fetched after the gap
//! (`resync <topicName> <kind>`).
//!
//! `cargo run -p genesys-cloud-examples --example notifications` runs against `genesys-cloud-mock` (which also drops the
//! socket once, to show the stream healing); with `GENESYS_CLOUD_CLIENT_ID`,
//! `GENESYS_CLOUD_CLIENT_SECRET` and `GENESYS_CLOUD_REGION` set it uses the real cloud (a user
//! token is needed for presence changes of "me"; client credentials see the queue's events).

use genesys_cloud::models::{CreateCallRequest, PresenceDefinition, UserPresence};
use genesys_cloud::notifications::{topics, Item, ResyncState};
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, mock) = genesys_cloud_examples::connect().await?;
    let client = builder.build()?;
    let me = client.users().get_users_me().send().await?.id.ok_or("users/me has no id")?;
    let queue = client
        .routing()
        .get_routing_queues()
        .page_size(1)
        .send()
        .await?
        .entities
        .and_then(|q| q.into_iter().next())
        .and_then(|q| q.id)
        .ok_or("no routing queue to listen to")?;

    let presence_topic = topics::users_presence(&me)?;
    let queue_topic = topics::routing_queues_conversations(&queue)?;
    let mut stream = client.notification_service().subscribe([presence_topic.clone(), queue_topic.clone()]).await?;
    println!("subscribed to {presence_topic} and {queue_topic} on channel {}", stream.channel_id());

    // Change the presence: the service tells every subscriber, this stream included.
    let definitions = client.presence().get_presence_definitions().send().await?.entities.unwrap_or_default();
    let available = definitions
        .iter()
        .find(|d| d.system_presence.as_ref().is_some_and(|s| s.to_string().eq_ignore_ascii_case("available")))
        .or(definitions.first())
        .and_then(|d| d.id.clone())
        .ok_or("no presence definitions")?;
    let body = UserPresence::default()
        .with(|p| p.presence_definition = Some(PresenceDefinition::default().with(|d| d.id = Some(available.clone()))));
    client.presence().patch_user_presence(&me, "PURECLOUD", body).send().await?;
    if mock.is_some() {
        // Only against the mock: a call placed on behalf of the queue is a conversation
        // created, published to the queue's conversations.
        let call = CreateCallRequest::default().with(|c| {
            c.phone_number = Some("tel:+15550100".into());
            c.call_from_queue_id = Some(queue.clone());
        });
        client.conversations().post_conversations_calls(call).send().await?;
    }

    let mut connection = Vec::new();
    let mut events = 0;
    let wanted = if mock.is_some() { 2 } else { 1 };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while events < wanted {
        let Ok(Some(item)) = tokio::time::timeout_at(deadline, stream.next()).await else { break };
        match item {
            Item::Event(e) => {
                println!("event {} {}", e.topic, e.payload.type_name());
                events += 1;
            }
            Item::Connection(c) => connection.push(c),
            other => println!("{other:?}"),
        }
    }
    let mut resyncs = Vec::new();
    if let Some(mock) = &mock {
        // A dropped socket: the stream reconnects, subscribes again, reports the gap, and
        // fetches the presence it may have missed.
        mock.drop_notification_sockets();
        while resyncs.is_empty() {
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Item::Connection(c))) => connection.push(c),
                Ok(Some(Item::Resync(r))) => resyncs.push(r),
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    for c in &connection {
        println!("connection {c:?}");
    }
    for r in &resyncs {
        match &r.state {
            Ok(ResyncState::Presence { presence, .. }) => {
                let now = presence.presence_definition.as_ref().and_then(|d| d.id.as_deref()).unwrap_or("?");
                println!("resync {} Presence {now}", r.topic);
            }
            Ok(other) => println!("resync {} {other:?}", r.topic),
            Err(e) => println!("resync {} failed: {e}", r.topic),
        }
    }
    stream.close().await;
    println!("closed: subscriptions removed");
    Ok(())
}
