//! The notification service's figures:
//!
//! - decoding 100,000 queue conversation events (whole socket messages: envelope and body)
//!   with `decode_event` into the typed models, against plain serde structs of the same shape
//!   (the floor of `floor.rs`, `floor/models.rs`) in an envelope struct of the same fields;
//! - the time from a dropped socket to the stream connected and subscribed again, against
//!   `genesys-cloud-mock` on loopback.
//!
//! `cargo bench -p genesys-cloud --features notification-service --bench notifications`
//! (`-- --quick` for fewer rounds).

use genesys_cloud::notifications::{decode_event, topics, ConnectionEvent, Item, Options, Payload};
use genesys_cloud_mock::{MockOptions, MockServer};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use serde::Deserialize;
use std::time::{Duration, Instant};

#[path = "floor/models.rs"]
mod shape;

/// The floor's socket message: the envelope's fields, the body typed.
#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorMessage {
    #[serde(rename = "topicName")]
    topic: String,
    version: Option<String>,
    #[serde(rename = "eventBody")]
    body: shape::QueueConversationEventTopicConversation,
    metadata: Option<FloorMetadata>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorMetadata {
    #[serde(rename = "CorrelationId")]
    correlation_id: Option<String>,
}

const EVENTS: usize = 100_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// 100,000 socket messages of `v2.routing.queues.{id}.conversations`: 64 distinct sampled
/// bodies (deterministic seeds) over 16 queues, each with its own correlation id.
fn messages() -> Vec<Vec<u8>> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../spec/platform-api-v2.json"))
        .expect("the spec");
    let doc = Document::parse(&spec).expect("the spec parses");
    let bodies: Vec<serde_json::Value> = (0..64)
        .map(|seed| {
            Sampler::new(&doc, SampleOptions { seed, max_depth: 2, ..Default::default() })
                .definition("QueueConversationEventTopicConversation")
                .expect("the payload definition")
        })
        .collect();
    (0..EVENTS)
        .map(|n| {
            // In the order the service writes them: topicName, version, eventBody, metadata.
            format!(
                r#"{{"topicName":"v2.routing.queues.queue-{:02}.conversations","version":"2","eventBody":{},"metadata":{{"CorrelationId":"event-{n:08}"}}}}"#,
                n % 16,
                bodies[n % bodies.len()]
            )
            .into_bytes()
        })
        .collect()
}

fn decode_floor(messages: &[Vec<u8>]) -> usize {
    let mut participants = 0;
    for m in messages {
        let msg: FloorMessage = serde_json::from_slice(m).unwrap();
        participants += std::hint::black_box(&msg).body.participants.as_ref().map_or(0, Vec::len);
    }
    participants
}

fn decode_sdk(messages: &[Vec<u8>]) -> usize {
    let mut participants = 0;
    for m in messages {
        let event = decode_event(m).unwrap();
        let Payload::RoutingQueuesConversations(c) = &std::hint::black_box(&event).payload else {
            panic!("typed by its topic")
        };
        participants += c.participants.as_ref().map_or(0, Vec::len);
    }
    participants
}

async fn drop_to_resubscribed(rounds: usize) -> Vec<f64> {
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let client = genesys_cloud::Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("bench", "bench-secret")
        .build()
        .unwrap();
    // No resync: the figure is the socket's, not the presence fetch after it.
    let options = Options::default().resync(false).backoff(Duration::from_millis(250), Duration::from_secs(30));
    let mut stream = client
        .notification_service_with(options)
        .subscribe([topics::users_presence("bench-user").unwrap()])
        .await
        .unwrap();
    let mut times = Vec::new();
    for _ in 0..rounds {
        // Drain what the last round left (its gap).
        while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(20), stream.next()).await {}
        let t = Instant::now();
        mock.drop_notification_sockets();
        loop {
            match stream.next().await.expect("the stream goes on") {
                Item::Connection(ConnectionEvent::Connected { .. }) => break,
                _ => continue,
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    stream.close().await;
    times
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let rounds = if quick { 3 } else { 7 };
    let messages = messages();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    println!("{EVENTS} events, {:.1} MB, {} bytes per message on average", bytes as f64 / 1e6, bytes / EVENTS);
    assert_eq!(decode_floor(&messages[..1000]), decode_sdk(&messages[..1000]), "both decode the same data");
    let (mut fs, mut ss, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (mut f, mut s) = (0.0, 0.0);
        for side in 0..2 {
            let t = Instant::now();
            if (round + side) % 2 == 0 {
                std::hint::black_box(decode_floor(&messages));
                f = t.elapsed().as_secs_f64() * 1e3;
            } else {
                std::hint::black_box(decode_sdk(&messages));
                s = t.elapsed().as_secs_f64() * 1e3;
            }
        }
        fs.push(f);
        ss.push(s);
        rs.push(s / f);
    }
    let ratio = median(rs);
    println!(
        "decode {EVENTS} queue conversation events: floor {:.1} ms, genesys-cloud {:.1} ms, ratio {ratio:.2} (target <= 1.10) {}",
        median(fs),
        median(ss),
        if ratio <= 1.10 { "ok" } else { "OVER" }
    );

    let drops = if quick { 11 } else { 41 };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut times = rt.block_on(drop_to_resubscribed(drops));
    times.sort_by(f64::total_cmp);
    println!(
        "dropped socket to connected and subscribed again, {drops} drops on loopback: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
}
