//! Asynchronous jobs: submit a query, watch it run, stream its results across cursors.
//!
//! Genesys Cloud runs big analytics queries as jobs: `POST {family}/jobs` answers a `jobId`;
//! `GET {family}/jobs/{jobId}` says its state (`QUEUED`, `PENDING`, then `FULFILLED`, or
//! `FAILED`, `CANCELLED`, `EXPIRED`); `GET {family}/jobs/{jobId}/results?cursor=` pages through
//! the results, with no `cursor` on the last page; `DELETE {family}/jobs/{jobId}` cancels. Every
//! family of that shape in the spec is a [`JobFamily`] constant in [`families`]; one helper
//! runs them all:
//!
//! ```no_run
//! # async fn run(client: genesys_cloud::Client) -> genesys_cloud::Result<()> {
//! use genesys_cloud::jobs::families;
//! use genesys_cloud::models::AsyncConversationQuery;
//!
//! let query = AsyncConversationQuery::default().interval("2026-11-01T00:00:00Z/2026-11-02T00:00:00Z");
//! let job = client.jobs(families::CONVERSATIONS_DETAILS).submit(&query).await?;
//! let progress = job.progress(); // a watch channel: state, pages, items, elapsed
//! let mut conversations = job.results(); // `AnalyticsConversation`s; waits for FULFILLED first
//! while let Some(conversation) = conversations.try_next().await? {
//!     println!("{:?}", conversation.conversation_id);
//! }
//! println!("{:?}", progress.borrow().items);
//! # Ok(()) }
//! ```
//!
//! A family's [`untyped`](JobFamily::untyped) form takes any JSON query and gives
//! `serde_json::Value` items; [`Job::results_as`] reads the items into a type of your own.
//!
//! - Polling backs off from [`JobOptions::poll_first`] to [`JobOptions::poll_max`], and waits
//!   what a status answer's `Retry-After` says instead when it has one; a 404 right after the
//!   submit (the job not visible yet) is polled again. The client's pacing and retries apply
//!   to every request.
//! - `FAILED` and `CANCELLED` end in an [`ErrorKind::JobFailed`] error with the server's
//!   `errorMessage`, `EXPIRED` in [`ErrorKind::JobExpired`]; a job still running after
//!   [`JobOptions::time_limit`] ends in a timeout error, and a job this handle submitted is
//!   cancelled then (the helper gave up on it).
//! - A job is cancelled on drop only by its owner, and only while nothing else may want it:
//!   a job [`submit`](Jobs::submit)ted through this handle, dropped (the [`Job`] and its
//!   results stream both gone) before any of its results were read and with no error seen,
//!   is cancelled with a `DELETE` in the background, for the families that can be cancelled.
//!   A job [`attach`](Jobs::attach)ed to by id is never cancelled on drop (another process
//!   may own it); nor is one whose results were started (it is done running, and can be
//!   read again by id until it expires), nor one that saw an error (a transient failure is
//!   no reason to throw away the work: attach to it again). [`Job::cancel`] cancels any job.
//! - [`Jobs::export`] with [`Jobs::checkpointed`]: results that resume after a crash, from the
//!   last page read whole, with a lease per query (guide: `fleet`).

use crate::{Client, Error, ErrorKind, Result};
use chrono::{DateTime, Utc};
use genesys_cloud_core::http::Method;
use genesys_cloud_core::pagination::Listing;
/// Where [`Jobs::export`] keeps how far it has read ([`Jobs::checkpointed`]).
pub use genesys_cloud_core::{Checkpoint, CheckpointStore, MemoryCheckpointStore};
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// A family of asynchronous jobs: where it lives, the query it takes (`Q`) and the items its
/// results hold (`T`). The constants of [`families`] carry the models of the spec, so
/// [`Jobs::submit`] checks the query's type and [`Job::results`] infers the items'; a
/// family's [`untyped`](Self::untyped) form takes and gives any JSON.
pub struct JobFamily<Q = serde_json::Value, T = serde_json::Value> {
    path: &'static str,
    items: &'static str,
    query_model: &'static str,
    item_model: &'static str,
    page_size: bool,
    cancellable: bool,
    types: PhantomData<fn(&Q) -> T>,
}

impl<Q, T> Clone for JobFamily<Q, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Q, T> Copy for JobFamily<Q, T> {}

impl<Q, T> PartialEq for JobFamily<Q, T> {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

impl<Q, T> Eq for JobFamily<Q, T> {}

impl<Q, T> fmt::Debug for JobFamily<Q, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobFamily")
            .field("path", &self.path)
            .field("query_model", &self.query_model)
            .field("item_model", &self.item_model)
            .finish_non_exhaustive()
    }
}

impl JobFamily {
    #[allow(clippy::too_many_arguments)]
    const fn new(
        path: &'static str,
        items: &'static str,
        query_model: &'static str,
        item_model: &'static str,
        page_size: bool,
        cancellable: bool,
    ) -> Self {
        Self { path, items, query_model, item_model, page_size, cancellable, types: PhantomData }
    }
}

impl<Q, T> JobFamily<Q, T> {
    /// The same family taking and giving any JSON (`serde_json::Value`), or what `Serialize`s
    /// and `Deserialize`s as it.
    pub const fn untyped(self) -> JobFamily {
        self.with_types()
    }

    /// The same family with the query and item types of your choice (a struct of your own
    /// with only the fields you read, say).
    pub const fn with_types<Q2, T2>(self) -> JobFamily<Q2, T2> {
        JobFamily {
            path: self.path,
            items: self.items,
            query_model: self.query_model,
            item_model: self.item_model,
            page_size: self.page_size,
            cancellable: self.cancellable,
            types: PhantomData,
        }
    }

    /// The path its endpoints hang from (`/api/v2/analytics/conversations/details`).
    pub fn path(&self) -> &'static str {
        self.path
    }

    /// The field of a results page that holds the items (`conversations`).
    pub fn items_field(&self) -> &'static str {
        self.items
    }

    /// The model of the query a submit takes ([`models`](crate::models) name).
    pub fn query_model(&self) -> &'static str {
        self.query_model
    }

    /// The model of one item of the results ([`models`](crate::models) name).
    pub fn item_model(&self) -> &'static str {
        self.item_model
    }

    /// Whether its results take a `pageSize`.
    pub fn takes_page_size(&self) -> bool {
        self.page_size
    }

    /// Whether a job can be cancelled (`DELETE {family}/jobs/{jobId}`).
    pub fn cancellable(&self) -> bool {
        self.cancellable
    }
}

/// Every jobs family of the spec shaped as the analytics details jobs, generated from the spec
/// (`cargo xtask codegen`). Each constant is there when its tag's Cargo feature is on
/// (`analytics`, `social-media`); [`ALL`](families::ALL) lists them all, untyped, always.
#[rustfmt::skip]
#[path = "generated/job_families.rs"]
pub mod families;

pub use crate::polling::{PolledFamily, PolledHandle, PolledJob, PolledOutcome, PolledShape};

/// Every job of the spec whose status says when it is done, by the path that submits it
/// (generated from the spec): submit, poll and read it with [`Client::polled_job`]. The
/// analytics families are here too (their results are read best with
/// [`Client::jobs`](crate::Client::jobs)). The guide's `job_shapes` page lists every job by
/// shape.
#[rustfmt::skip]
#[path = "generated/polled_families.rs"]
pub mod polled;

pub use crate::job_options::JobOptions;

/// A job's state, as the status says it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum JobState {
    /// Submitted; not polled yet.
    #[default]
    Submitted,
    /// `QUEUED`.
    Queued,
    /// `PENDING`: running.
    Pending,
    /// `FULFILLED`: the results can be read.
    Fulfilled,
    /// `FAILED`.
    Failed,
    /// `CANCELLED`.
    Cancelled,
    /// `EXPIRED`: the results are gone.
    Expired,
    /// A state this SDK does not know.
    Other(String),
}

impl JobState {
    fn parse(s: &str) -> Self {
        match s {
            "QUEUED" => JobState::Queued,
            "PENDING" => JobState::Pending,
            "FULFILLED" => JobState::Fulfilled,
            "FAILED" => JobState::Failed,
            "CANCELLED" => JobState::Cancelled,
            "EXPIRED" => JobState::Expired,
            other => JobState::Other(other.to_owned()),
        }
    }

    /// Whether the job will not change any more.
    pub fn is_final(&self) -> bool {
        matches!(self, JobState::Fulfilled | JobState::Failed | JobState::Cancelled | JobState::Expired)
    }
}

/// A job's status: `GET {family}/jobs/{jobId}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct JobStatus {
    /// The state.
    pub state: JobState,
    /// The server's message, when the job failed.
    pub error_message: Option<String>,
    /// When the results expire.
    pub expiration_date: Option<DateTime<Utc>>,
    /// When the job was submitted.
    pub submission_date: Option<DateTime<Utc>>,
    /// When it was completed.
    pub completion_date: Option<DateTime<Utc>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusBody {
    state: Option<String>,
    error_message: Option<String>,
    expiration_date: Option<DateTime<Utc>>,
    submission_date: Option<DateTime<Utc>>,
    completion_date: Option<DateTime<Utc>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Submitted {
    job_id: String,
}

/// How far a job has come: for a progress bar.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct JobProgress {
    /// The last state seen.
    pub state: JobState,
    /// Status polls so far.
    pub polls: u64,
    /// Results pages read so far.
    pub pages: u64,
    /// Result items read so far.
    pub items: u64,
    /// Since the submit.
    pub elapsed: Duration,
}

/// The jobs of one family through a client: [`Client::jobs`].
#[must_use = "submit a query or attach to a job"]
pub struct Jobs<Q = serde_json::Value, T = serde_json::Value> {
    pub(crate) client: Client,
    pub(crate) family: JobFamily,
    options: JobOptions,
    /// Where exports keep their checkpoints ([`Jobs::checkpointed`]).
    pub(crate) checkpoints: Option<Checkpoints>,
    types: PhantomData<fn(&Q) -> T>,
}

/// Where a [`Jobs`]' exports keep their checkpoints: the store, the name that namespaces
/// their keys, and how long an exporter's lease lasts without a page read.
#[derive(Clone)]
pub(crate) struct Checkpoints {
    pub(crate) store: Arc<dyn genesys_cloud_core::CheckpointStore>,
    pub(crate) name: String,
    pub(crate) lease: Duration,
}

/// What a results stream tells an export as it goes: a page boundary (every item before the
/// `cursor` read: a checkpoint) and the end.
pub(crate) trait PageHook: Send + Sync + 'static {
    /// All items before `cursor` are read (`items` of them).
    fn boundary(&self, cursor: &str, items: u64) -> futures_util::future::BoxFuture<'_, Result<()>>;
    /// The stream ended: read to the end (`Ok`), or with this error.
    fn ended(&self, outcome: std::result::Result<(), &Error>) -> futures_util::future::BoxFuture<'_, ()>;
}

impl Client {
    /// The asynchronous jobs of `family` (one of [`families`]): submit, wait, read the results.
    pub fn jobs<Q, T>(&self, family: JobFamily<Q, T>) -> Jobs<Q, T> {
        Jobs {
            client: self.clone(),
            family: family.untyped(),
            options: JobOptions::default(),
            checkpoints: None,
            types: PhantomData,
        }
    }
}

impl<Q, T> Clone for Jobs<Q, T> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            family: self.family,
            options: self.options.clone(),
            checkpoints: self.checkpoints.clone(),
            types: PhantomData,
        }
    }
}

impl<Q, T> fmt::Debug for Jobs<Q, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs").field("family", &self.family).field("options", &self.options).finish_non_exhaustive()
    }
}

impl<Q: serde::Serialize, T> Jobs<Q, T> {
    /// Polling, time limit and page size.
    pub fn options(mut self, options: JobOptions) -> Self {
        self.options = options;
        self
    }

    /// Submits `query` (the family's query model; any JSON for an
    /// [`untyped`](JobFamily::untyped) family) and returns the job, not waiting for it.
    pub async fn submit(&self, query: &Q) -> Result<Job<T>> {
        self.submit_with(query, &[]).await
    }

    /// [`submit`](Self::submit) with extra headers on the submit request.
    pub async fn submit_with(&self, query: &Q, headers: &[(&str, &str)]) -> Result<Job<T>> {
        let mut request = self.client.raw().request(Method::POST, format!("{}/jobs", self.family.path)).json(query);
        for (name, value) in headers {
            request = request.with_header(*name, *value);
        }
        let submitted: Submitted = request.send_json().await?;
        Ok(self.job(submitted.job_id, true))
    }

    /// A job submitted before (by id), to wait for or read. Dropping it never cancels it:
    /// only [`Job::cancel`] does.
    pub fn attach(&self, job_id: impl Into<String>) -> Job<T> {
        self.job(job_id.into(), false)
    }

    /// The handle of job `id`; `owned` when this handle submitted it.
    fn job(&self, id: String, owned: bool) -> Job<T> {
        let (progress, _) = watch::channel(JobProgress::default());
        Job {
            inner: Arc::new(JobInner {
                raw: self.client.raw(),
                family: self.family,
                options: self.options.clone(),
                id,
                started: Instant::now(),
                progress,
                cancel_on_drop: AtomicBool::new(owned && self.family.cancellable),
            }),
            item: PhantomData,
        }
    }
}

pub(crate) struct JobInner {
    /// Every request of the job goes through the client's raw calls.
    raw: crate::Raw,
    family: JobFamily,
    options: JobOptions,
    id: String,
    started: Instant,
    progress: watch::Sender<JobProgress>,
    /// Submitted through this handle, cancellable, and since then no results read, no error
    /// seen, no final state: a drop cancels it.
    cancel_on_drop: AtomicBool,
}

impl Drop for JobInner {
    fn drop(&mut self) {
        if !self.cancel_on_drop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let request = self.raw.request(Method::DELETE, self.path(""));
        // A failed cancel has no caller to tell: the job then expires on its own.
        runtime.spawn(async move {
            let _ = request.send().await;
        });
    }
}

/// A submitted job. Dropped before any result was read, a job this handle submitted is
/// cancelled (see [the module's docs](self) for when it is not).
pub struct Job<T = serde_json::Value> {
    pub(crate) inner: Arc<JobInner>,
    item: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").field("family", &self.inner.family.path).field("id", &self.inner.id).finish()
    }
}

impl<T> Job<T> {
    /// The job's id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// Its progress, updated as it is polled and read (`borrow()` for now, `changed()` to wait).
    pub fn progress(&self) -> watch::Receiver<JobProgress> {
        self.inner.progress.subscribe()
    }

    /// Its status now (one poll).
    pub async fn status(&self) -> Result<JobStatus> {
        self.inner.poll().await.map(|(status, _)| status)
    }

    /// Waits until the job is fulfilled; `FAILED`, `CANCELLED` and `EXPIRED` are errors.
    pub async fn wait(&self) -> Result<JobStatus> {
        self.inner.wait().await
    }

    /// Cancels the job now.
    pub async fn cancel(self) -> Result<()> {
        self.inner.keep();
        self.inner.raw.request(Method::DELETE, self.inner.path("")).send().await
    }

    /// The results' items, across every cursor, as the family's item model (`serde_json::Value`
    /// for an [`untyped`](JobFamily::untyped) family); waits for the job to be fulfilled
    /// first. One page is held at a time.
    pub fn results(self) -> Listing<T>
    where
        T: DeserializeOwned + Send + 'static,
    {
        self.results_as()
    }

    /// [`results`](Self::results) as another type: `serde_json::Value`, or a struct of your
    /// own with only the fields you read.
    pub fn results_as<U: DeserializeOwned + Send + 'static>(self) -> Listing<U> {
        self.results_from(None, 0, None)
    }

    /// The results from the page at `cursor` (the first without), `read` items read before
    /// it, telling `hook` of each page boundary and of the end.
    pub(crate) fn results_from<U: DeserializeOwned + Send + 'static>(
        self,
        cursor: Option<String>,
        read: u64,
        hook: Option<Arc<dyn PageHook>>,
    ) -> Listing<U> {
        let inner = self.inner.clone();
        let state = Pages::<U> {
            inner,
            cursor,
            fulfilled: false,
            done: false,
            started: false,
            read,
            hook,
            items: Vec::new().into_iter(),
        };
        Listing::from_stream(futures_util::stream::unfold(state, |mut state| async move {
            loop {
                if let Some(item) = state.items.next() {
                    state.read += 1;
                    return Some((Ok(item), state));
                }
                if state.done {
                    if let Some(hook) = state.hook.take() {
                        hook.ended(Ok(())).await;
                    }
                    return None;
                }
                if !state.fulfilled {
                    if let Err(e) = state.inner.wait().await {
                        return Some((Err(state.fail(e).await), state));
                    }
                    state.fulfilled = true;
                }
                // Every item before this page's cursor is read: a checkpoint.
                if let (true, Some(hook), Some(cursor)) = (state.started, &state.hook, &state.cursor) {
                    if let Err(e) = hook.boundary(cursor, state.read).await {
                        return Some((Err(state.fail(e).await), state));
                    }
                }
                state.started = true;
                match state.inner.page::<U>(state.cursor.as_deref()).await {
                    Ok((items, cursor)) => {
                        state.done = cursor.as_deref().is_none_or(str::is_empty) || cursor == state.cursor;
                        state.cursor = cursor;
                        state.items = items.into_iter();
                    }
                    Err(e) => return Some((Err(state.fail(e).await), state)),
                }
            }
        }))
    }
}

/// Where a results stream is.
struct Pages<T> {
    inner: Arc<JobInner>,
    cursor: Option<String>,
    fulfilled: bool,
    done: bool,
    /// A page was asked for (the next one's cursor then marks a boundary).
    started: bool,
    /// Items read, from the stream's start or before its first cursor.
    read: u64,
    hook: Option<Arc<dyn PageHook>>,
    items: std::vec::IntoIter<T>,
}

impl<T> Pages<T> {
    /// The stream ends with `e`; the hook hears of it.
    async fn fail(&mut self, e: Error) -> Error {
        self.done = true;
        self.items = Vec::new().into_iter();
        if let Some(hook) = self.hook.take() {
            hook.ended(Err(&e)).await;
        }
        e
    }
}

impl JobInner {
    /// From now on, a drop does not cancel the job.
    pub(crate) fn keep(&self) {
        self.cancel_on_drop.store(false, Ordering::SeqCst);
    }

    /// `result`, after which a drop no longer cancels the job if it is an error.
    fn keep_if_failed<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.keep();
        }
        result
    }

    fn update(&self, f: impl FnOnce(&mut JobProgress)) {
        let elapsed = self.started.elapsed();
        self.progress.send_modify(|p| {
            f(p);
            p.elapsed = elapsed;
        });
    }

    /// The path of the job, or of one of its sub-resources (`/results`).
    fn path(&self, below: &str) -> String {
        format!("{}/jobs/{}{below}", self.family.path, self.id)
    }

    /// One status poll: the status and the `Retry-After` of its answer.
    async fn poll(&self) -> Result<(JobStatus, Option<Duration>)> {
        let polled = self.poll_once().await;
        self.keep_if_failed(polled)
    }

    async fn poll_once(&self) -> Result<(JobStatus, Option<Duration>)> {
        // Right after the submit, the job can be invisible for a while.
        let (body, retry_after) =
            crate::job_options::poll_status::<StatusBody>(&self.raw, self.path(""), self.options.not_found_for).await?;
        let status = JobStatus {
            state: body.state.as_deref().map(JobState::parse).unwrap_or(JobState::Other(String::new())),
            error_message: body.error_message,
            expiration_date: body.expiration_date,
            submission_date: body.submission_date,
            completion_date: body.completion_date,
        };
        let state = status.state.clone();
        self.update(|p| {
            p.state = state;
            p.polls += 1;
        });
        Ok((status, retry_after))
    }

    async fn wait(&self) -> Result<JobStatus> {
        let mut waits = crate::job_options::Waits::since(self.started, &self.options);
        loop {
            let (status, retry_after) = self.poll().await?;
            let message = || status.error_message.clone().unwrap_or_else(|| "no message from the server".into());
            match &status.state {
                JobState::Fulfilled => return Ok(status),
                JobState::Failed => {
                    self.keep();
                    return Err(Error::new(ErrorKind::JobFailed, format!("job {} failed: {}", self.id, message())));
                }
                JobState::Cancelled => {
                    self.keep();
                    return Err(Error::new(ErrorKind::JobFailed, format!("job {} was cancelled", self.id)));
                }
                JobState::Expired => {
                    self.keep();
                    return Err(Error::new(
                        ErrorKind::JobExpired,
                        format!("job {} expired: its results are gone; submit it again", self.id),
                    ));
                }
                _ => {}
            }
            let Some(pause) = waits.next(retry_after) else {
                // The helper gives up on the job: one it submitted is cancelled now.
                if self.cancel_on_drop.swap(false, Ordering::SeqCst) {
                    let _ = self.raw.request(Method::DELETE, self.path("")).send().await;
                }
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("job {} was not fulfilled within {:?}", self.id, self.options.time_limit),
                ));
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// One results page: its items and the next cursor. Once results are read, a drop no
    /// longer cancels the job.
    async fn page<T: DeserializeOwned>(&self, cursor: Option<&str>) -> Result<(Vec<T>, Option<String>)> {
        self.keep();
        self.page_once(cursor).await
    }

    async fn page_once<T: DeserializeOwned>(&self, cursor: Option<&str>) -> Result<(Vec<T>, Option<String>)> {
        let mut request = self.raw.request(Method::GET, self.path("/results"));
        if let Some(c) = cursor {
            request = request.query("cursor", c);
        }
        if let (true, Some(size)) = (self.family.page_size, self.options.page_size) {
            request = request.query("pageSize", &size.to_string());
        }
        let (head, body) = self.raw.send_parts(request.build()?).await?.into_parts();
        let mut de = serde_json::Deserializer::from_slice(&body);
        let page = PageSeed::<T> { items: self.family.items, item: PhantomData }
            .deserialize(&mut de)
            .and_then(|page| de.end().map(|()| page))
            .map_err(|e| {
                Error::decode_with(head.status, head.headers.clone(), &body, e, |de| {
                    PageSeed::<T> { items: self.family.items, item: PhantomData }.deserialize(de).map(drop)
                })
            })?;
        let count = page.0.len() as u64;
        self.update(|p| {
            p.pages += 1;
            p.items += count;
        });
        Ok(page)
    }
}

/// Reads a results page as its items (the family's field) and its cursor, skipping the rest.
struct PageSeed<T> {
    items: &'static str,
    item: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for PageSeed<T> {
    type Value = (Vec<T>, Option<String>);

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> std::result::Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for PageSeed<T> {
    type Value = (Vec<T>, Option<String>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a results page with `{}` and `cursor`", self.items)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let (mut items, mut cursor) = (Vec::new(), None);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.items {
                items = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
            } else if key == "cursor" {
                cursor = map.next_value::<Option<String>>()?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok((items, cursor))
    }
}
