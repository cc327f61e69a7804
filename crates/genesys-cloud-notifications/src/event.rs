//! One message of the notification socket, decoded.

use crate::Payload;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::SystemTime;

/// An event of a subscribed topic.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The topic name (`v2.users.{id}.presence` with the id filled).
    pub topic: String,
    /// The body, typed by the topic's pattern.
    pub payload: Payload,
    /// `metadata.CorrelationId`, when the server sent one.
    pub correlation_id: Option<String>,
    /// The message's `version`.
    pub version: Option<String>,
    /// When the SDK received it.
    pub received: SystemTime,
}

/// An event whose body does not fit its topic's type: kept raw, with the error, so nothing is
/// lost and the stream goes on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Undecodable {
    /// The topic name.
    pub topic: String,
    /// The event body as received.
    pub raw: String,
    /// Why it did not decode.
    pub error: String,
    /// When the SDK received it.
    pub received: SystemTime,
}

/// A message that is not JSON of the notification envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeError(pub String);

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a notification message: {}", self.0)
    }
}

impl std::error::Error for EnvelopeError {}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "topicName")]
    topic: Option<String>,
    version: Option<String>,
    #[serde(rename = "eventBody", borrow)]
    body: Option<&'a RawValue>,
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "CorrelationId")]
    correlation_id: Option<String>,
}

/// A message as it arrives: its topic, and the body still as text.
pub(crate) struct Message<'a> {
    pub(crate) topic: String,
    pub(crate) body: &'a str,
    pub(crate) version: Option<String>,
    pub(crate) correlation_id: Option<String>,
}

pub(crate) fn envelope(text: &[u8]) -> Result<Message<'_>, EnvelopeError> {
    let e: Envelope<'_> = serde_json::from_slice(text).map_err(|e| EnvelopeError(e.to_string()))?;
    let topic = e.topic.ok_or_else(|| EnvelopeError("no topicName".into()))?;
    Ok(Message {
        topic,
        body: e.body.map_or("null", RawValue::get),
        version: e.version,
        correlation_id: e.metadata.and_then(|m| m.correlation_id),
    })
}

/// Decodes one message of the socket into an [`Event`] typed by its topic; a body that does
/// not fit is an [`Undecodable`] (the `Err` side), never lost.
pub fn decode_event(text: &[u8]) -> Result<Event, DecodeFailure> {
    let m = envelope(text).map_err(DecodeFailure::Envelope)?;
    decode_message(m)
}

/// Why [`decode_event`] could not give an [`Event`].
#[derive(Debug, Clone, PartialEq)]
pub enum DecodeFailure {
    /// Not the notification envelope at all.
    Envelope(EnvelopeError),
    /// The body does not fit the topic's type.
    Body(Undecodable),
}

impl std::fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeFailure::Envelope(e) => e.fmt(f),
            DecodeFailure::Body(u) => write!(f, "the body of {} does not decode: {}", u.topic, u.error),
        }
    }
}

impl std::error::Error for DecodeFailure {}

pub(crate) fn decode_message(m: Message<'_>) -> Result<Event, DecodeFailure> {
    let received = SystemTime::now();
    match crate::generated::decode(&m.topic, m.body) {
        Ok(payload) => {
            Ok(Event { topic: m.topic, payload, correlation_id: m.correlation_id, version: m.version, received })
        }
        Err(e) => Err(DecodeFailure::Body(Undecodable {
            topic: m.topic,
            raw: m.body.to_owned(),
            error: e.to_string(),
            received,
        })),
    }
}
