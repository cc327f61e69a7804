//! Exports that resume: a job's id and the cursor of its next page kept in a
//! [`CheckpointStore`] as its results are read, so a process started again with the same query
//! goes on from the cursor instead of submitting the job again; a lease per query, so two
//! processes never submit it both.

use crate::jobs::{Checkpoints, Jobs, PageHook};
use crate::{Error, ErrorKind, Result};
use futures_util::future::BoxFuture;
use genesys_cloud_core::pagination::Listing;
use genesys_cloud_core::{Checkpoint, CheckpointStore};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// How long a checkpoint is kept after its last page: longer than any job's results live.
const CHECKPOINT_TTL: Duration = Duration::from_secs(7 * 86_400);

impl<Q: serde::Serialize, T> Jobs<Q, T> {
    /// Keeps the checkpoints of [`export`](Self::export) in `store` (the fleet's Redis, or a
    /// [`MemoryCheckpointStore`](genesys_cloud_core::MemoryCheckpointStore)), under keys
    /// namespaced by `name`. An exporter's lease on its query lasts 30 s past its last page
    /// read (see [`lease`](Self::lease)).
    pub fn checkpointed(mut self, store: Arc<dyn CheckpointStore>, name: impl Into<String>) -> Self {
        self.checkpoints = Some(Checkpoints { store, name: name.into(), lease: Duration::from_secs(30) });
        self
    }

    /// How long an exporter's lease on its query lasts past its last page read (default
    /// 30 s): a process that dies frees the query for another after this long.
    pub fn lease(mut self, lease: Duration) -> Self {
        if let Some(c) = &mut self.checkpoints {
            c.lease = lease;
        }
        self
    }

    /// The results of `query`, resumed where an earlier export of the same query (the same
    /// family, the same JSON) stopped.
    ///
    /// - With no checkpoint, the job is submitted and its id saved.
    /// - With one, the job is attached to by id, and its results are read from the page after
    ///   the last one read to its end: items come **at least once**, the page being read when
    ///   the earlier process stopped is read again (the cursor is the boundary), and none is
    ///   lost.
    /// - One process at a time exports a query: another holding the lease is an
    ///   [`ErrorKind::Leased`] error, and the lease lapses when its holder stops reading.
    /// - Read to its end, the checkpoint is removed; a job that failed or expired removes it
    ///   too (the next export submits again), any other error keeps it for the next try.
    /// - The store failing never stops the export: it goes on without checkpoints, with a
    ///   warning.
    ///
    /// Without [`checkpointed`](Self::checkpointed), it is [`submit`](Self::submit) then
    /// [`Job::results`](crate::jobs::Job::results).
    pub async fn export(&self, query: &Q) -> Result<Listing<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        let Some(checkpoints) = self.checkpoints.clone() else {
            return Ok(self.submit(query).await?.results());
        };
        let key = export_key(&checkpoints.name, self.family.path(), query)?;
        let lease_key = format!("{key}:lease");
        let holder = holder();
        let store = checkpoints.store.clone();
        match store.lease(&lease_key, &holder, checkpoints.lease).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::new(
                    ErrorKind::Leased,
                    format!("another process is exporting this query (its lease on {lease_key} has not lapsed)"),
                ))
            }
            Err(e) => {
                tracing::warn!(error = %e, "the checkpoint store failed: exporting without checkpoints");
                return Ok(self.submit(query).await?.results());
            }
        }
        let resumed = store.load(&key).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the checkpoint store failed: submitting the export again");
            None
        });
        let (job, cursor, read) = match resumed {
            Some(c) => (self.attach(c.job_id.clone()), c.cursor, c.items),
            None => {
                let job = match self.submit(query).await {
                    Ok(job) => job,
                    Err(e) => {
                        let _ = store.release(&lease_key, &holder).await;
                        return Err(e);
                    }
                };
                if let Err(e) = store.save(&key, &Checkpoint::new(job.id(), None, 0), CHECKPOINT_TTL).await {
                    tracing::warn!(error = %e, "the checkpoint store failed: this export may not resume");
                }
                (job, None, 0)
            }
        };
        // A job an exporter submitted stays when the exporter stops: the next one resumes it.
        job.inner.keep();
        let hook = Arc::new(Hook {
            store,
            key,
            lease_key,
            holder,
            lease: checkpoints.lease,
            job_id: job.id().to_owned(),
            ended: Default::default(),
        });
        Ok(job.results_from(cursor, read, Some(hook)))
    }
}

/// The key of an export: the name, the family and a hash of the query's JSON.
fn export_key(name: &str, family: &str, query: &impl serde::Serialize) -> Result<String> {
    use sha2::Digest as _;
    let json = serde_json::to_vec(query).map_err(|e| Error::build(format!("the export's query: {e}")))?;
    let mut hasher = sha2::Sha256::new();
    hasher.update(family.as_bytes());
    hasher.update(b"\n");
    hasher.update(&json);
    let hex: String = hasher.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect();
    Ok(format!("genesys:{name}:export:{hex}"))
}

/// A name no other exporter has.
fn holder() -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::getrandom(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What an export's results stream saves as it goes.
struct Hook {
    store: Arc<dyn CheckpointStore>,
    key: String,
    lease_key: String,
    holder: String,
    lease: Duration,
    job_id: String,
    /// The stream told its end (and the lease was given up then).
    ended: std::sync::atomic::AtomicBool,
}

impl Drop for Hook {
    /// A stream dropped before its end gives up its lease (in the background, when a runtime
    /// is there), so the same process or another can resume at once; the checkpoint stays.
    fn drop(&mut self) {
        if self.ended.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let (store, lease_key, holder) = (self.store.clone(), self.lease_key.clone(), self.holder.clone());
        runtime.spawn(async move {
            let _ = store.release(&lease_key, &holder).await;
        });
    }
}

impl PageHook for Hook {
    fn boundary(&self, cursor: &str, items: u64) -> BoxFuture<'_, Result<()>> {
        let checkpoint = Checkpoint::new(self.job_id.clone(), Some(cursor.to_owned()), items);
        Box::pin(async move {
            match self.store.lease(&self.lease_key, &self.holder, self.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(Error::new(
                        ErrorKind::Leased,
                        "the export's lease lapsed and another process took it over; this one stops",
                    ))
                }
                Err(e) => tracing::warn!(error = %e, "the checkpoint store failed: the lease was not renewed"),
            }
            if let Err(e) = self.store.save(&self.key, &checkpoint, CHECKPOINT_TTL).await {
                tracing::warn!(error = %e, "the checkpoint store failed: this page's checkpoint was not saved");
            }
            Ok(())
        })
    }

    fn ended(&self, outcome: std::result::Result<(), &Error>) -> BoxFuture<'_, ()> {
        let gone = match outcome {
            Ok(()) => true,
            // A job that failed or expired cannot be resumed: the next export submits again.
            Err(e) => matches!(e.kind(), ErrorKind::JobFailed | ErrorKind::JobExpired),
        };
        self.ended.store(true, std::sync::atomic::Ordering::SeqCst);
        Box::pin(async move {
            if gone {
                let _ = self.store.remove(&self.key).await;
            }
            let _ = self.store.release(&self.lease_key, &self.holder).await;
        })
    }
}
