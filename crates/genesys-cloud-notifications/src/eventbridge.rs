//! The same events from Amazon EventBridge: Genesys Cloud's partner event source puts each
//! notification in an EventBridge event (`detail-type` the topic's pattern, `detail` the
//! notification as the WebSocket sends it), which reaches a Lambda function as it is, or an
//! SQS queue as a record's body. Decoded here into the [`Event`] and [`Payload`](crate::Payload)
//! the WebSocket stream yields, by the same topic table; no AWS crate is needed.

use crate::event::{decode_event, DecodeFailure, EnvelopeError, Event, Undecodable};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// An EventBridge event of the Genesys Cloud partner source, decoded: the AWS envelope's
/// fields and the notification inside it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BridgedEvent {
    /// The EventBridge event's id.
    pub id: String,
    /// `detail-type`: the topic's pattern (`v2.users.{id}.presence`).
    pub detail_type: String,
    /// `source`: `aws.partner/genesys.com/cloud/{organization id}/{integration name}`.
    pub source: String,
    /// The AWS account the event was put in.
    pub account: Option<String>,
    /// The AWS region.
    pub region: Option<String>,
    /// When EventBridge received it.
    pub time: Option<DateTime<Utc>>,
    /// The notification, as the WebSocket stream would have yielded it.
    pub event: Event,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    id: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    source: Option<String>,
    account: Option<String>,
    region: Option<String>,
    time: Option<DateTime<Utc>>,
    #[serde(borrow)]
    detail: Option<&'a RawValue>,
}

/// Decodes an EventBridge event of the Genesys Cloud partner source (the JSON a Lambda function
/// is given, or an SQS record's body) into the notification inside it, typed by its topic as
/// the WebSocket stream types it: an unknown topic's body is [`Payload::Raw`](crate::Payload::Raw), a body that does not
/// fit its type [`DecodeFailure::Body`] with the raw JSON, and anything that is not such an
/// event [`DecodeFailure::Envelope`] with why.
///
/// The topic is `detail.topicName` (the ids filled in); an event without one takes its
/// `detail-type`.
pub fn decode_eventbridge(json: &[u8]) -> Result<BridgedEvent, DecodeFailure> {
    let envelope: Envelope<'_> = serde_json::from_slice(json)
        .map_err(|e| DecodeFailure::Envelope(EnvelopeError(format!("the EventBridge event does not parse: {e}"))))?;
    let missing =
        |field: &str| DecodeFailure::Envelope(EnvelopeError(format!("an EventBridge event without `{field}`")));
    let detail = envelope.detail.ok_or_else(|| missing("detail"))?;
    let detail_type = envelope.detail_type.ok_or_else(|| missing("detail-type"))?;
    let event = match decode_event(detail.get().as_bytes()) {
        Ok(event) => event,
        Err(failure) => explain(detail, &detail_type, failure)?,
    };
    Ok(BridgedEvent {
        id: envelope.id.unwrap_or_default(),
        detail_type,
        source: envelope.source.unwrap_or_default(),
        account: envelope.account,
        region: envelope.region,
        time: envelope.time,
        event,
    })
}

/// A `detail` that did not decode: why, in terms of the EventBridge event; and with no
/// `topicName`, the notification decoded with the topic from `detail-type`.
fn explain(detail: &RawValue, detail_type: &str, failure: DecodeFailure) -> Result<Event, DecodeFailure> {
    let envelope = |why: &str| DecodeFailure::Envelope(EnvelopeError(why.to_owned()));
    let mut value: serde_json::Value =
        serde_json::from_str(detail.get()).map_err(|e| envelope(&format!("`detail` is not JSON: {e}")))?;
    let Some(fields) = value.as_object_mut() else { return Err(envelope("`detail` is not an object")) };
    if !fields.contains_key("eventBody") {
        return Err(envelope("`detail` has no `eventBody`"));
    }
    if fields.contains_key("topicName") {
        return Err(failure);
    }
    fields.insert("topicName".into(), serde_json::Value::String(detail_type.to_owned()));
    decode_event(value.to_string().as_bytes())
}

/// An SQS event as a Lambda function receives it: a batch of records, each body an
/// EventBridge event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SqsBatch {
    /// Every record, in order, decoded or with why not.
    pub records: Vec<SqsRecord>,
}

/// One record of an [`SqsBatch`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SqsRecord {
    /// The SQS message id (what a partial batch response names).
    pub message_id: String,
    /// The event in its body, or why it is not one.
    pub outcome: Result<BridgedEvent, DecodeFailure>,
}

#[derive(Deserialize)]
struct SqsEvent {
    #[serde(rename = "Records")]
    records: Vec<serde_json::Value>,
}

/// Decodes an SQS event (`{"Records": [...]}`) whose records' bodies are EventBridge events. A
/// record that is not one, or whose body does not fit its type, is kept with why, and the
/// batch goes on; only a whole event that is not an SQS event is an error.
pub fn decode_sqs_batch(json: &[u8]) -> Result<SqsBatch, EnvelopeError> {
    let event: SqsEvent =
        serde_json::from_slice(json).map_err(|e| EnvelopeError(format!("the SQS event does not parse: {e}")))?;
    let records = event
        .records
        .into_iter()
        .enumerate()
        .map(|(n, record)| {
            let message_id = record.get("messageId").and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let outcome = match record.get("body").and_then(|v| v.as_str()) {
                Some(body) => decode_eventbridge(body.as_bytes()),
                None => Err(DecodeFailure::Envelope(EnvelopeError(format!("record {n} has no `body` text")))),
            };
            SqsRecord { message_id, outcome }
        })
        .collect();
    Ok(SqsBatch { records })
}

impl SqsBatch {
    /// The events decoded, in order (a body that did not fit its type, too, as it would be on
    /// the stream: see [`undecodable`](Self::undecodable)).
    pub fn events(&self) -> impl Iterator<Item = &BridgedEvent> {
        self.records.iter().filter_map(|r| r.outcome.as_ref().ok())
    }

    /// The records whose event's body did not fit its type, kept raw.
    pub fn undecodable(&self) -> impl Iterator<Item = (&str, &Undecodable)> {
        self.records.iter().filter_map(|r| match &r.outcome {
            Err(DecodeFailure::Body(u)) => Some((r.message_id.as_str(), u)),
            _ => None,
        })
    }

    /// Lambda's partial batch response naming the records that are not EventBridge events at
    /// all (SQS delivers those again, then to the dead-letter queue), so the rest of the batch
    /// is not retried. Serialize it as the function's answer (with `ReportBatchItemFailures`
    /// on in the event source mapping).
    pub fn failures(&self) -> BatchResponse {
        let batch_item_failures = self
            .records
            .iter()
            .filter(|r| matches!(r.outcome, Err(DecodeFailure::Envelope(_))))
            .map(|r| BatchItemFailure { item_identifier: r.message_id.clone() })
            .collect();
        BatchResponse { batch_item_failures }
    }
}

/// Lambda's partial batch response for SQS (`{"batchItemFailures": [{"itemIdentifier": …}]}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct BatchResponse {
    /// The records to deliver again.
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One record of a [`BatchResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchItemFailure {
    /// The record's SQS message id.
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Payload;

    fn bridged(detail: serde_json::Value) -> String {
        serde_json::json!({
            "version": "0",
            "id": "6f0c3a1e-0000-4000-8000-000000000001",
            "detail-type": "v2.users.{id}.presence",
            "source": "aws.partner/genesys.com/cloud/org-1/presence-feed",
            "account": "123456789012",
            "time": "2026-12-07T10:15:30Z",
            "region": "eu-west-1",
            "resources": [],
            "detail": detail,
        })
        .to_string()
    }

    fn presence() -> serde_json::Value {
        serde_json::json!({"source": "PURECLOUD", "presenceDefinition": {"id": "p-1", "systemPresence": "Available"}})
    }

    #[test]
    fn the_notification_inside_is_the_streams_event() {
        let detail = serde_json::json!({
            "topicName": "v2.users.u-1.presence", "version": "2", "eventBody": presence(),
            "metadata": {"CorrelationId": "c-1"}, "timestamp": "2026-12-07T10:15:29.912Z",
        });
        let b = decode_eventbridge(bridged(detail.clone()).as_bytes()).unwrap();
        assert_eq!(b.detail_type, "v2.users.{id}.presence");
        assert_eq!(b.source, "aws.partner/genesys.com/cloud/org-1/presence-feed");
        assert_eq!(b.region.as_deref(), Some("eu-west-1"));
        assert_eq!(b.time.map(|t| t.to_rfc3339()).as_deref(), Some("2026-12-07T10:15:30+00:00"));
        let from_socket = decode_event(detail.to_string().as_bytes()).unwrap();
        assert_eq!((b.event.topic.as_str(), &b.event.payload), (from_socket.topic.as_str(), &from_socket.payload));
        assert_eq!(b.event.correlation_id.as_deref(), Some("c-1"));
        assert!(matches!(b.event.payload, Payload::UsersPresence(_)));
    }

    #[test]
    fn without_a_topic_name_the_detail_type_is_the_topic() {
        let b = decode_eventbridge(bridged(serde_json::json!({"eventBody": presence()})).as_bytes()).unwrap();
        assert_eq!(b.event.topic, "v2.users.{id}.presence");
        assert!(matches!(b.event.payload, Payload::UsersPresence(_)), "{:?}", b.event.payload);
    }

    #[test]
    fn malformed_events_say_why_and_a_body_that_does_not_fit_is_kept_raw() {
        let cases = [
            ("not json".to_owned(), "does not parse"),
            ("[1,2]".to_owned(), "does not parse"),
            (r#"{"detail-type":"v2.users.{id}.presence"}"#.to_owned(), "without `detail`"),
            (r#"{"detail":{"eventBody":{}}}"#.to_owned(), "without `detail-type`"),
            (bridged(serde_json::json!("text")), "`detail` is not an object"),
            (bridged(serde_json::json!({"topicName": "v2.users.u-1.presence"})), "no `eventBody`"),
            (bridged(serde_json::json!({})), "no `eventBody`"),
        ];
        for (json, why) in cases {
            match decode_eventbridge(json.as_bytes()) {
                Err(DecodeFailure::Envelope(e)) => assert!(e.to_string().contains(why), "{json}: {e}"),
                other => panic!("{json}: {other:?}"),
            }
        }
        let bad = serde_json::json!({"topicName": "v2.users.u-1.presence", "eventBody": {"presenceDefinition": 42}});
        let Err(DecodeFailure::Body(u)) = decode_eventbridge(bridged(bad).as_bytes()) else { panic!("raw") };
        assert_eq!(u.raw, r#"{"presenceDefinition":42}"#);
    }

    #[test]
    fn an_sqs_batch_goes_on_past_bad_records_and_names_them_for_a_retry() {
        let good = bridged(serde_json::json!({"topicName": "v2.users.u-1.presence", "eventBody": presence()}));
        let unfit = bridged(serde_json::json!({"topicName": "v2.users.u-1.presence", "eventBody": {"source": 7}}));
        let batch = serde_json::json!({"Records": [
            {"messageId": "m-1", "body": good, "eventSource": "aws:sqs"},
            {"messageId": "m-2", "body": "{truncated"},
            {"messageId": "m-3", "body": unfit},
            {"messageId": "m-4"},
            {"messageId": "m-5", "body": good},
        ]});
        let batch = decode_sqs_batch(batch.to_string().as_bytes()).unwrap();
        assert_eq!(batch.records.len(), 5);
        assert_eq!(batch.events().count(), 2, "m-1 and m-5");
        assert_eq!(batch.undecodable().map(|(id, _)| id).collect::<Vec<_>>(), ["m-3"]);
        let answer = serde_json::to_value(batch.failures()).unwrap();
        assert_eq!(
            answer,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "m-2"}, {"itemIdentifier": "m-4"}]})
        );
        assert!(decode_sqs_batch(b"{\"records\":[]}").is_err(), "not an SQS event");
    }
}
