//! One message of the notification socket, decoded.

use crate::Payload;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::value::RawValue;

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
    pub received: DateTime<Utc>,
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
    pub received: DateTime<Utc>,
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

/// A message decoded in one pass: the body typed by the topic as the envelope is read.
pub(crate) struct Decoded {
    pub(crate) topic: String,
    pub(crate) version: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) payload: Payload,
}

impl Decoded {
    pub(crate) fn into_event(self) -> Event {
        Event {
            topic: self.topic,
            payload: self.payload,
            correlation_id: self.correlation_id,
            version: self.version,
            received: Utc::now(),
        }
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum Key {
    #[serde(rename = "topicName")]
    Topic,
    #[serde(rename = "version")]
    Version,
    #[serde(rename = "eventBody")]
    Body,
    #[serde(rename = "metadata")]
    Metadata,
    #[serde(other)]
    Other,
}

struct Body(Option<usize>);

impl<'de> serde::de::DeserializeSeed<'de> for Body {
    type Value = Payload;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Payload, D::Error> {
        crate::generated::decode_from(self.0, d)
    }
}

struct OnePass;

impl<'de> serde::de::Visitor<'de> for OnePass {
    type Value = Decoded;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a notification message with topicName before eventBody")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Decoded, A::Error> {
        use serde::de::Error as _;
        let (mut topic, mut version, mut metadata, mut payload) = (None::<String>, None, None::<Metadata>, None);
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Topic => topic = Some(map.next_value()?),
                Key::Version => version = map.next_value()?,
                Key::Metadata => metadata = map.next_value()?,
                Key::Body => {
                    // Typed as it is read when the topic came first (the service sends it
                    // first); else the caller takes the two-pass way.
                    let Some(t) = &topic else { return Err(A::Error::custom("eventBody before topicName")) };
                    payload = Some(map.next_value_seed(Body(crate::topic::pattern_of(t)))?);
                }
                Key::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        match (topic, payload) {
            (Some(topic), Some(payload)) => {
                Ok(Decoded { topic, version, correlation_id: metadata.and_then(|m| m.correlation_id), payload })
            }
            _ => Err(A::Error::custom("no topicName or no eventBody")),
        }
    }
}

/// The one-pass decode; `None` sends the caller the two-pass way ([`envelope`], then the
/// body), which also says why a message does not decode and keeps the body raw.
pub(crate) fn decode_one_pass(text: &[u8]) -> Option<Decoded> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let decoded = serde::Deserializer::deserialize_map(&mut de, OnePass).ok()?;
    de.end().ok()?;
    Some(decoded)
}

/// Decodes one message of the socket into an [`Event`] typed by its topic; a body that does
/// not fit is an [`Undecodable`] (the `Err` side), never lost.
///
/// One pass when `topicName` comes before `eventBody` (as the service sends them): the body is
/// decoded into its type as the envelope is read. Otherwise, or when the body does not fit, the
/// envelope is read first and the body after it.
pub fn decode_event(text: &[u8]) -> Result<Event, DecodeFailure> {
    if let Some(decoded) = decode_one_pass(text) {
        return Ok(decoded.into_event());
    }
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
    match crate::generated::decode(&m.topic, m.body) {
        Ok(payload) => {
            Ok(Decoded { topic: m.topic, version: m.version, correlation_id: m.correlation_id, payload }.into_event())
        }
        Err(e) => Err(DecodeFailure::Body(Undecodable {
            topic: m.topic,
            raw: m.body.to_owned(),
            error: e.to_string(),
            received: Utc::now(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"source":"PURECLOUD","presenceDefinition":{"id":"p-1","systemPresence":"Available"}}"#;

    fn message(topic_first: bool, body: &str) -> String {
        let topic = r#""topicName":"v2.users.u1.presence""#;
        let body = format!(r#""eventBody":{body}"#);
        let rest = r#""version":"2","metadata":{"CorrelationId":"c-1"},"extra":[1,{"a":null}]"#;
        if topic_first {
            format!("{{{topic},{rest},{body}}}")
        } else {
            format!("{{{body},{rest},{topic}}}")
        }
    }

    #[test]
    fn either_field_order_gives_the_same_typed_event() {
        let one_pass = decode_event(message(true, BODY).as_bytes()).unwrap();
        assert!(decode_one_pass(message(true, BODY).as_bytes()).is_some(), "topic first: one pass");
        assert!(decode_one_pass(message(false, BODY).as_bytes()).is_none(), "body first: two passes");
        let two_pass = decode_event(message(false, BODY).as_bytes()).unwrap();
        for e in [&one_pass, &two_pass] {
            assert_eq!(e.topic, "v2.users.u1.presence");
            assert_eq!(e.correlation_id.as_deref(), Some("c-1"));
            assert_eq!(e.version.as_deref(), Some("2"));
            let Payload::UsersPresence(p) = &e.payload else { panic!("typed: {e:?}") };
            assert_eq!(p.presence_definition.as_ref().and_then(|d| d.id.as_deref()), Some("p-1"));
        }
        assert_eq!(one_pass.payload, two_pass.payload);
    }

    #[test]
    fn a_body_that_does_not_fit_is_kept_raw_with_the_error() {
        let bad = r#"{"presenceDefinition":42}"#;
        for topic_first in [true, false] {
            let Err(DecodeFailure::Body(u)) = decode_event(message(topic_first, bad).as_bytes()) else {
                panic!("undecodable")
            };
            assert_eq!(u.topic, "v2.users.u1.presence");
            assert_eq!(u.raw, bad, "the body exactly as received");
            assert!(!u.error.is_empty());
        }
    }

    #[test]
    fn unknown_topics_are_raw_json_and_non_messages_are_envelope_errors() {
        let raw = decode_event(br#"{"topicName":"v2.something.new","eventBody":{"x":[1,2]}}"#).unwrap();
        assert_eq!(raw.payload, Payload::Raw(serde_json::json!({"x": [1, 2]})));
        for text in [&b"not json"[..], br#"{"eventBody":{}}"#, br#"[1,2]"#] {
            assert!(matches!(decode_event(text), Err(DecodeFailure::Envelope(_))), "{}", String::from_utf8_lossy(text));
        }
    }
}
