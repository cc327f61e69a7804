//! What a subscription stream yields.

use crate::event::{Event, Undecodable};
use crate::resync::Resync;
use chrono::{DateTime, Utc};

/// One item of a subscription stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Item {
    /// An event of a subscribed topic.
    Event(Event),
    /// An event whose body does not fit its type, kept raw with the error.
    Undecodable(Undecodable),
    /// A change of the connection's state. Never dropped, however slow the consumer.
    Connection(ConnectionEvent),
    /// After a [`ConnectionEvent::Gap`] or an [`Item::Lost`], the current state of a subscribed
    /// topic that has a REST counterpart (presence, routing status, queue members), fetched
    /// through the API. Never dropped.
    Resync(Resync),
    /// The consumer was slower than the events: this many events, received between `from`
    /// and `to`, were dropped (the buffer is bounded). It comes where they would have been;
    /// the state topics are fetched again after it ([`Item::Resync`]).
    Lost {
        /// How many events were dropped.
        count: u64,
        /// When the first of them was received.
        from: DateTime<Utc>,
        /// When the last of them was received.
        to: DateTime<Utc>,
    },
}

/// What happened to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The socket of `channel` is up and every topic subscribed.
    Connected {
        /// The channel id.
        channel: String,
    },
    /// The socket was lost; this is attempt `attempt` to get it back.
    Reconnecting {
        /// 1 for the first attempt after a loss.
        attempt: u32,
        /// Why the socket was lost.
        reason: String,
    },
    /// The stream moved to a new channel before the old one went (`socket_closing`, or the
    /// channel's 24-hour end), with no gap: the old socket was read until the new one had
    /// caught up with it, events in the overlap are delivered once, and within each topic in
    /// the order the service sent them.
    Renewed {
        /// The channel left.
        old_channel: String,
        /// The channel now used.
        new_channel: String,
    },
    /// Through a fleet's leases ([`Notifications::leases`](crate::Notifications::leases)): the
    /// stream took over `taken` (the process that held them stopped renewing their leases;
    /// a [`Gap`](Self::Gap) for them and their [`Item::Resync`] follow) and no longer carries
    /// `lost` (another process holds them now, after this one could not renew them in time).
    TopicsLeased {
        /// Topics this stream carries from now on.
        taken: Vec<String>,
        /// Topics this stream no longer carries.
        lost: Vec<String>,
    },
    /// Events of this time may have been missed: from the last sign of life of the socket
    /// that was lost (a second before its last frame arrived, for what was still on its way)
    /// to when the new one was subscribed and connected. Every event the stream missed was
    /// sent within a reported gap (or told as [`Item::Lost`]).
    Gap {
        /// A second before the last frame received before the loss.
        start: DateTime<Utc>,
        /// When the new socket was up.
        end: DateTime<Utc>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_rfc_3339() {
        let start = DateTime::parse_from_rfc3339("2026-12-07T10:15:30.250Z").unwrap().to_utc();
        let end = DateTime::parse_from_rfc3339("2026-12-07T10:16:01Z").unwrap().to_utc();
        let gap = format!("{:?}", ConnectionEvent::Gap { start, end });
        assert_eq!(gap, "Gap { start: 2026-12-07T10:15:30.250Z, end: 2026-12-07T10:16:01Z }");
        let lost = format!("{:?}", Item::Lost { count: 3, from: start, to: end });
        assert!(lost.contains("from: 2026-12-07T10:15:30.250Z"), "{lost}");
    }
}
