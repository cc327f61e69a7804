//! Channel leases: the notification channels and topics that processes of one integration
//! share through a store (the `genesys-cloud-fleet` crate's Redis, or [`MemoryChannelLeases`]
//! in one process), so they keep together under the service's 20 channels per user and app,
//! and a topic is delivered to one of them at a time.

use genesys_cloud_core::{BoxFuture, Error};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What a [`ChannelLeases::take_channels`] call found: the places were taken (or renewed), or
/// the budget is full and these are its holders.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChannelGrant {
    /// The places are the caller's until the lease's time to live runs out.
    Granted,
    /// Taking them would pass the budget: each holder and the places it holds.
    Full {
        /// Every other holder of the scope's places, with how many it holds.
        holders: Vec<(String, usize)>,
    },
}

/// Where processes of one integration lease notification channels and topics. Every lease has
/// a time to live, renewed while its holder lives: a holder that dies (or loses the store)
/// holds nothing once its leases lapse.
///
/// `scope` keeps OAuth clients (and fleets) apart: the service counts channels per user and
/// app. Implementations: [`MemoryChannelLeases`] (one process) and the `genesys-cloud-fleet`
/// crate's Redis store.
pub trait ChannelLeases: Send + Sync + 'static {
    /// Takes (or renews) `channels` places of `scope`'s budget of `limit` for `member` until
    /// `ttl` from now; [`ChannelGrant::Full`] names the holders when the places left are too
    /// few. A member asking again is counted once, with its new number.
    fn take_channels<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        channels: usize,
        limit: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<ChannelGrant, Error>>;

    /// Takes (or renews) the lease of each of `topics` for `holder` until `ttl` from now,
    /// where no other holder has it. The answer, topic for topic: `None` when `holder` has it
    /// now, else the holder that has it.
    fn claim_topics<'a>(
        &'a self,
        scope: &'a str,
        holder: &'a str,
        topics: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, Error>>;

    /// Gives up `member`'s places and those of `topics` that `holder` has.
    fn release<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        holder: &'a str,
        topics: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>>;
}

/// [`ChannelLeases`] in this process's memory: listeners of several clients of one OAuth
/// client in one process, and tests.
#[derive(Debug, Default)]
pub struct MemoryChannelLeases {
    /// Scope and member → places and until when.
    places: Mutex<HashMap<(String, String), (usize, Instant)>>,
    /// Scope and topic → holder and until when.
    topics: Mutex<HashMap<(String, String), (String, Instant)>>,
}

impl ChannelLeases for MemoryChannelLeases {
    fn take_channels<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        channels: usize,
        limit: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<ChannelGrant, Error>> {
        let now = Instant::now();
        let mut places = self.places.lock().unwrap_or_else(PoisonError::into_inner);
        places.retain(|_, (_, until)| now < *until);
        let holders: Vec<(String, usize)> = places
            .iter()
            .filter(|((s, m), _)| s == scope && m != member)
            .map(|((_, m), (n, _))| (m.clone(), *n))
            .collect();
        let used: usize = holders.iter().map(|(_, n)| n).sum();
        let grant = if used + channels > limit {
            ChannelGrant::Full { holders }
        } else {
            places.insert((scope.to_owned(), member.to_owned()), (channels, now + ttl));
            ChannelGrant::Granted
        };
        Box::pin(std::future::ready(Ok(grant)))
    }

    fn claim_topics<'a>(
        &'a self,
        scope: &'a str,
        holder: &'a str,
        topics: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, Error>> {
        let now = Instant::now();
        let mut leases = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        let answer = topics
            .iter()
            .map(|topic| {
                let key = (scope.to_owned(), topic.clone());
                match leases.get(&key) {
                    Some((other, until)) if other != holder && now < *until => Some(other.clone()),
                    _ => {
                        leases.insert(key, (holder.to_owned(), now + ttl));
                        None
                    }
                }
            })
            .collect();
        Box::pin(std::future::ready(Ok(answer)))
    }

    fn release<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        holder: &'a str,
        topics: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner).remove(&(scope.to_owned(), member.to_owned()));
        let mut leases = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        for topic in topics {
            let key = (scope.to_owned(), topic.clone());
            if leases.get(&key).is_some_and(|(h, _)| h == holder) {
                leases.remove(&key);
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

/// How a listener leases its channels and topics: the store, the scope, this process's name,
/// and whether its topics are its alone.
#[derive(Clone)]
pub(crate) struct Leasing {
    pub(crate) store: Arc<dyn ChannelLeases>,
    pub(crate) scope: String,
    /// This process's name in the holders an error lists (`host pid`, or the user's).
    pub(crate) process: String,
    /// Topics are leased, one process at a time (the default); `false`: asked to share them.
    pub(crate) exclusive: bool,
}

impl std::fmt::Debug for Leasing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leasing")
            .field("scope", &self.scope)
            .field("process", &self.process)
            .field("exclusive", &self.exclusive)
            .finish_non_exhaustive()
    }
}

/// This process's default name among a fleet's holders: its host (`HOSTNAME`, as containers
/// set it) and its process id.
pub(crate) fn process_name() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "host".to_owned());
    format!("{host} pid {}", std::process::id())
}

/// A name for one subscription of this process, unique across the fleet.
pub(crate) fn subscription_name(process: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut nonce = [0u8; 4];
    // Without randomness, a time stamp keeps two processes of one pid (two hosts) apart.
    if getrandom::getrandom(&mut nonce).is_err() {
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        nonce = nanos.to_le_bytes();
    }
    format!("{process} #{n} {:08x}", u32::from_le_bytes(nonce))
}

/// The error for a fleet whose channel places are all held.
pub(crate) fn full_error(needed: usize, limit: usize, holders: &[(String, usize)]) -> Error {
    let used: usize = holders.iter().map(|(_, n)| n).sum();
    let mut names: Vec<String> = holders.iter().map(|(h, n)| format!("{h} ({n})")).collect();
    names.sort();
    Error::build(format!(
        "the subscription needs {needed} notification channel(s) and the fleet's subscriptions hold {used} of \
         {limit} already (the service allows {} per user and app, and one is kept for renewals); held by: {}",
        crate::CHANNELS_PER_CLIENT,
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<T>(f: BoxFuture<'_, T>) -> T {
        futures_util::FutureExt::now_or_never(f).expect("memory leases answer at once")
    }

    #[test]
    fn places_are_counted_per_scope_and_a_full_budget_names_its_holders() {
        let leases = MemoryChannelLeases::default();
        let ttl = Duration::from_secs(30);
        assert_eq!(block(leases.take_channels("a", "p1", 12, 19, ttl)).unwrap(), ChannelGrant::Granted);
        assert_eq!(block(leases.take_channels("a", "p2", 7, 19, ttl)).unwrap(), ChannelGrant::Granted);
        // Another scope has a budget of its own; a renewal counts once.
        assert_eq!(block(leases.take_channels("b", "p3", 19, 19, ttl)).unwrap(), ChannelGrant::Granted);
        assert_eq!(block(leases.take_channels("a", "p2", 7, 19, ttl)).unwrap(), ChannelGrant::Granted);
        let ChannelGrant::Full { mut holders } = block(leases.take_channels("a", "p4", 1, 19, ttl)).unwrap() else {
            panic!("the budget is full")
        };
        holders.sort();
        assert_eq!(holders, vec![("p1".to_owned(), 12), ("p2".to_owned(), 7)]);
        let error = full_error(1, 19, &holders).to_string();
        assert!(error.contains("hold 19 of 19") && error.contains("p1 (12), p2 (7)"), "{error}");
        block(leases.release("a", "p1", "p1", &[])).unwrap();
        assert_eq!(block(leases.take_channels("a", "p4", 1, 19, ttl)).unwrap(), ChannelGrant::Granted);
    }

    #[test]
    fn a_topic_has_one_holder_until_its_lease_lapses_or_is_given_up() {
        let leases = MemoryChannelLeases::default();
        let topics = vec!["t1".to_owned(), "t2".to_owned()];
        assert_eq!(block(leases.claim_topics("s", "a", &topics[..1], Duration::from_secs(30))).unwrap(), vec![None]);
        let answer = block(leases.claim_topics("s", "b", &topics, Duration::from_millis(1))).unwrap();
        assert_eq!(answer, vec![Some("a".to_owned()), None]);
        // b's lease of t2 lapses; a takes it.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(block(leases.claim_topics("s", "a", &topics, Duration::from_secs(30))).unwrap(), vec![None, None]);
        block(leases.release("s", "m", "a", &topics[..1])).unwrap();
        let answer = block(leases.claim_topics("s", "b", &topics, Duration::from_secs(30))).unwrap();
        assert_eq!(answer, vec![None, Some("a".to_owned())]);
    }
}
