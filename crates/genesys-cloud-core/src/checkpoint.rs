//! Where a long export keeps how far it has read, so a process started again with the same
//! query goes on from there rather than submitting the job again.

use crate::executor::BoxFuture;
use crate::Error;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How far an export has read: its job, and the cursor of the next page of results (none:
/// from the first page).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The job's id.
    pub job_id: String,
    /// The cursor of the next page to read.
    pub cursor: Option<String>,
    /// The items read before that page.
    pub items: u64,
}

impl Checkpoint {
    /// A checkpoint of job `job_id` at `cursor`, after `items` items.
    pub fn new(job_id: impl Into<String>, cursor: Option<String>, items: u64) -> Self {
        Self { job_id: job_id.into(), cursor, items }
    }
}

/// Where exports keep their [`Checkpoint`]s, and the lease that lets one process at a time
/// export a query. The `genesys-cloud-fleet` crate implements it over Redis;
/// [`MemoryCheckpointStore`] in memory. Everything kept has an expiry.
pub trait CheckpointStore: Send + Sync + 'static {
    /// The checkpoint at `key`, if any.
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, Error>>;

    /// Stores `checkpoint` at `key` for `ttl`.
    fn save<'a>(&'a self, key: &'a str, checkpoint: &'a Checkpoint, ttl: Duration) -> BoxFuture<'a, Result<(), Error>>;

    /// Removes the checkpoint at `key` (the export is over).
    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>>;

    /// Takes the lease of `key` for `ttl` as `holder`, or renews it when `holder` has it:
    /// `false` when another holder has it.
    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>>;

    /// Gives up `holder`'s lease of `key`.
    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>>;
}

/// A [`CheckpointStore`] in this process's memory: an export that failed resumes within the
/// process (and tests).
#[derive(Debug, Default)]
pub struct MemoryCheckpointStore {
    checkpoints: Mutex<HashMap<String, (Checkpoint, Instant)>>,
    leases: Mutex<HashMap<String, (String, Instant)>>,
}

impl CheckpointStore for MemoryCheckpointStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, Error>> {
        let map = self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner);
        let found = map.get(key).filter(|(_, until)| Instant::now() < *until).map(|(c, _)| c.clone());
        Box::pin(std::future::ready(Ok(found)))
    }

    fn save<'a>(&'a self, key: &'a str, checkpoint: &'a Checkpoint, ttl: Duration) -> BoxFuture<'a, Result<(), Error>> {
        let mut map = self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(key.to_owned(), (checkpoint.clone(), Instant::now() + ttl));
        Box::pin(std::future::ready(Ok(())))
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        let now = Instant::now();
        let mut map = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        let taken = match map.get(key) {
            Some((other, until)) if other != holder && now < *until => false,
            _ => {
                map.insert(key.to_owned(), (holder.to_owned(), now + ttl));
                true
            }
        };
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        let mut map = self.leases.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(key).is_some_and(|(h, _)| h == holder) {
            map.remove(key);
        }
        Box::pin(std::future::ready(Ok(())))
    }
}
