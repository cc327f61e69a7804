//! Topic names: built from the generated constructors (ids checked), the combined user form,
//! or any other name.

use std::fmt;

/// A topic to subscribe to, such as `v2.users.{id}.presence` for one user.
///
/// Build it with a constructor of [`topics`](crate::topics) (one per topic pattern, ids
/// checked), [`Topic::user_combined`] for `v2.users.{id}?presence&routingStatus`, or
/// [`Topic::raw`] for a topic this SDK does not know (its events come as
/// [`Payload::Raw`](crate::Payload::Raw)).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Topic(String);

/// A topic that cannot be built: an id that is empty or would change the topic's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicError {
    pattern: &'static str,
    message: String,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "topic {}: {}", self.pattern, self.message)
    }
}

impl std::error::Error for TopicError {}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", self.0)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parts a combined user topic can hold (`v2.users.{id}?presence&routingStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserPart {
    /// `presence`.
    Presence,
    /// `routingStatus`.
    RoutingStatus,
    /// `conversationsummary`.
    ConversationSummary,
    /// `outofoffice`.
    OutOfOffice,
    /// `geolocation`.
    Geolocation,
}

impl UserPart {
    fn wire(self) -> &'static str {
        match self {
            UserPart::Presence => "presence",
            UserPart::RoutingStatus => "routingStatus",
            UserPart::ConversationSummary => "conversationsummary",
            UserPart::OutOfOffice => "outofoffice",
            UserPart::Geolocation => "geolocation",
        }
    }
}

fn check_id(pattern: &'static str, id: &str) -> Result<(), TopicError> {
    let bad = |message: &str| Err(TopicError { pattern, message: message.to_owned() });
    if id.is_empty() {
        return bad("an id is empty");
    }
    if id.contains(['.', '?', '&', ' ']) || id.chars().any(char::is_control) {
        return bad(&format!("the id {id:?} holds a character that would change the topic (. ? & space)"));
    }
    Ok(())
}

impl Topic {
    /// Fills the `{id}` segments of `pattern` in order (what the generated constructors do).
    pub fn from_pattern(pattern: &'static str, ids: &[&str]) -> Result<Topic, TopicError> {
        let mut ids = ids.iter();
        let mut out = Vec::new();
        for segment in pattern.split('.') {
            if segment.starts_with('{') {
                let id = ids.next().ok_or(TopicError { pattern, message: "too few ids".into() })?;
                check_id(pattern, id)?;
                out.push(*id);
            } else {
                out.push(segment);
            }
        }
        if ids.next().is_some() {
            return Err(TopicError { pattern, message: "too many ids".into() });
        }
        Ok(Topic(out.join(".")))
    }

    /// One subscription for several topics of one user:
    /// `v2.users.{id}?presence&routingStatus`. Its events arrive under each part's own topic
    /// (`v2.users.{id}.presence`, …) and decode to that topic's type.
    pub fn user_combined(user_id: &str, parts: &[UserPart]) -> Result<Topic, TopicError> {
        const PATTERN: &str = "v2.users.{id}?…";
        check_id(PATTERN, user_id)?;
        if parts.is_empty() {
            return Err(TopicError { pattern: PATTERN, message: "no parts".into() });
        }
        let parts: Vec<&str> = parts.iter().map(|p| p.wire()).collect();
        Ok(Topic(format!("v2.users.{user_id}?{}", parts.join("&"))))
    }

    /// Any topic name, as given (events of unknown patterns come as raw JSON).
    pub fn raw(name: impl Into<String>) -> Topic {
        Topic(name.into())
    }

    /// The topic name as subscribed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// How many of a channel's topics it takes: one, or one per part of a combined topic (the
    /// service counts each).
    pub fn weight(&self) -> usize {
        self.0.split_once('?').map_or(1, |(_, parts)| parts.split('&').count())
    }

    /// The topic names whose events this subscription brings: itself, or one per part of a
    /// combined user topic.
    pub fn event_topics(&self) -> Vec<String> {
        match self.0.split_once('?') {
            Some((base, parts)) => parts.split('&').map(|p| format!("{base}.{p}")).collect(),
            None => vec![self.0.clone()],
        }
    }
}

/// Topic patterns grouped by their number of segments, each group in the table's order (most
/// specific first), so a topic is compared only with patterns of its length.
pub(crate) struct PatternIndex {
    by_segments: Vec<Vec<(usize, Vec<&'static str>)>>,
}

impl PatternIndex {
    pub(crate) fn new(patterns: &[(&'static str, &'static str)]) -> Self {
        let mut by_segments: Vec<Vec<(usize, Vec<&'static str>)>> = Vec::new();
        for (i, (pattern, _)) in patterns.iter().enumerate() {
            let segments: Vec<&'static str> = pattern.split('.').collect();
            if by_segments.len() <= segments.len() {
                by_segments.resize_with(segments.len() + 1, Vec::new);
            }
            by_segments[segments.len()].push((i, segments));
        }
        Self { by_segments }
    }

    /// The index of the first pattern (`{id}` matching one segment) that `topic` fits.
    pub(crate) fn find(&self, topic: &str) -> Option<usize> {
        let count = topic.bytes().filter(|b| *b == b'.').count() + 1;
        self.by_segments.get(count)?.iter().find_map(|(i, segments)| {
            segments.iter().zip(topic.split('.')).all(|(p, t)| p.starts_with('{') || *p == t).then_some(*i)
        })
    }
}

/// The index in [`PATTERNS`](crate::PATTERNS) of the pattern `topic` fits.
pub(crate) fn pattern_of(topic: &str) -> Option<usize> {
    static INDEX: std::sync::OnceLock<PatternIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(|| PatternIndex::new(crate::PATTERNS)).find(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_filled_in_order() {
        let t = Topic::from_pattern("v2.users.{id}.conversations.{id}.recordings", &["u1", "c2"]).unwrap();
        assert_eq!(t.as_str(), "v2.users.u1.conversations.c2.recordings");
        for bad in ["", "a.b", "a?b", "a&b"] {
            assert!(Topic::from_pattern("v2.users.{id}.presence", &[bad]).is_err(), "{bad:?}");
        }
        assert!(Topic::from_pattern("v2.users.{id}.presence", &[]).is_err());
        assert!(Topic::from_pattern("v2.users.{id}.presence", &["a", "b"]).is_err());
    }

    #[test]
    fn the_combined_form_lists_its_event_topics() {
        let t = Topic::user_combined("u1", &[UserPart::Presence, UserPart::RoutingStatus]).unwrap();
        assert_eq!(t.as_str(), "v2.users.u1?presence&routingStatus");
        assert_eq!(t.event_topics(), ["v2.users.u1.presence", "v2.users.u1.routingStatus"]);
        assert!(Topic::user_combined("u1", &[]).is_err());
    }

    #[test]
    fn patterns_match_by_segment() {
        let p = [("v2.system.socket_closing", "A"), ("v2.users.{id}.presence", "B"), ("v2.system.{id}.{id}", "C")];
        let index = PatternIndex::new(&p);
        assert_eq!(index.find("v2.users.u1.presence"), Some(1));
        assert_eq!(index.find("v2.system.socket_closing"), Some(0), "the first that fits wins");
        assert_eq!(index.find("v2.system.a.b"), Some(2));
        assert_eq!(index.find("v2.users.u1.presence.x"), None);
        assert_eq!(index.find("v2.users.u1.routingStatus"), None);
        assert_eq!(index.find("v2.users..presence"), Some(1), "the id is checked when topics are built, not here");
        assert_eq!(index.find("a.b.c.d.e.f.g.h.i.j.k"), None, "longer than every pattern");
        assert_eq!(pattern_of("v2.users.u1.presence").map(|i| crate::PATTERNS[i].1), Some("PresenceEventUserPresence"));
    }
}
