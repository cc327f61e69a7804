//! EventBridge: the same typed events a backend gets from Amazon EventBridge, as a Lambda
//! function behind an SQS queue would see them. Reads an SQS event (`{"Records": [...]}`)
//! from the file named as the argument; without one, makes a batch of its own: sampled
//! events of three topic families and one truncated record. Prints a line per event (`event
//! <topicName> <PayloadType>`), one per record it could not use, and the partial batch
//! response that makes SQS deliver only the bad record again.
//!
//! `cargo run -p genesys-cloud-examples --example eventbridge [sqs-event.json]`

use genesys_cloud::notifications::{decode_sqs_batch, DecodeFailure};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let json = match std::env::args().nth(1) {
        Some(path) => std::fs::read(path)?,
        None => sample_batch()?.into_bytes(),
    };
    let batch = decode_sqs_batch(&json)?;
    for record in &batch.records {
        match &record.outcome {
            Ok(bridged) => {
                println!("event {} {}", bridged.event.topic, bridged.event.payload.type_name());
            }
            Err(DecodeFailure::Body(raw)) => {
                println!("undecodable {} in {}: {} (kept raw)", raw.topic, record.message_id, raw.error);
            }
            Err(DecodeFailure::Envelope(why)) => println!("not an event {}: {why}", record.message_id),
        }
    }
    println!("answer {}", serde_json::to_string(&batch.failures())?);
    Ok(())
}

/// An SQS event as EventBridge's Genesys Cloud partner source fills it, with sampled bodies.
fn sample_batch() -> Result<String, Box<dyn std::error::Error>> {
    let spec = genesys_cloud_spec::Document::parse(genesys_cloud_mock::SPEC)?;
    let sampler = genesys_cloud_spec::Sampler::new(&spec, genesys_cloud_spec::SampleOptions::default());
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let mut records = Vec::new();
    for pattern in
        ["v2.users.{id}.presence", "v2.routing.queues.{id}.conversations", "v2.conversations.{id}.transcription"]
    {
        let topic = pattern.replace("{id}", id);
        let payload = genesys_cloud_mock::topic_payload(&topic).ok_or("a topic of the table")?;
        let body = sampler.definition(&payload).ok_or("a sample")?;
        let event = serde_json::json!({
            "version": "0", "id": format!("e-{}", records.len()), "detail-type": pattern,
            "source": "aws.partner/genesys.com/cloud/org-1/backend-feed", "account": "123456789012",
            "time": "2026-12-07T10:15:30Z", "region": "us-east-1", "resources": [],
            "detail": {"topicName": topic, "version": "2", "eventBody": body},
        });
        records.push(serde_json::json!({"messageId": format!("m-{}", records.len()), "body": event.to_string()}));
    }
    records.push(serde_json::json!({"messageId": "m-truncated", "body": "{\"version\": \"0\", \"detail"}));
    Ok(serde_json::json!({"Records": records}).to_string())
}
