//! Stateful asynchronous jobs, for every family of the spec shaped as the analytics details
//! jobs: `POST {family}/jobs` → `{jobId}`; `GET {family}/jobs/{jobId}` → its state (`QUEUED`,
//! then `PENDING`, then `FULFILLED` after [`MockOptions::job_delay`](crate::MockOptions::job_delay);
//! `FAILED` or `EXPIRED` when the submit asked with `x-mock-job: failed` or `expired`);
//! `GET {family}/jobs/{jobId}/results?cursor=&pageSize=` → pages of a deterministic data set of
//! [`MockOptions::job_items`](crate::MockOptions::job_items) items, with a `cursor` on every page
//! but the last; `DELETE {family}/jobs/{jobId}` cancels.

use crate::router::{Route, Router};
use crate::{error, full, MockBody};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The conversations details family, whose data set is the mock's own (crate::report).
const CONVERSATIONS: &str = "/api/v2/analytics/conversations/details";

/// One jobs family: where its results' items are, and a sample item.
struct Family {
    items: String,
    template: Value,
    /// Whether the results say when the data is complete up to (the details jobs do).
    availability: bool,
}

/// How a submit asked the job to end.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Fulfilled,
    Failed,
    Expired,
}

struct Job {
    family: String,
    /// The query's interval, when it has one: the conversations fall in it.
    interval: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    submitted: Instant,
    submitted_at: chrono::DateTime<chrono::Utc>,
    ending: Ending,
    cancelled: bool,
}

pub(crate) struct Jobs {
    families: HashMap<String, Family>,
    jobs: Mutex<HashMap<String, Job>>,
    next: AtomicU64,
    delay: Duration,
    items: usize,
    submitted: AtomicUsize,
    cancelled: AtomicUsize,
}

/// The family part of a template (`/api/v2/analytics/conversations/details`), and what follows
/// it (`/jobs`, `/jobs/{jobId}`, `/jobs/{jobId}/results`).
fn split(template: &str) -> Option<(&str, &str)> {
    let at = template.rfind("/jobs")?;
    let (family, rest) = template.split_at(at);
    matches!(rest, "/jobs" | "/jobs/{jobId}" | "/jobs/{jobId}/results").then_some((family, rest))
}

impl Jobs {
    /// Finds the families in the routes: a submit answered with `AsyncQueryResponse`, a status,
    /// and results whose body has a `cursor` and an array of items.
    pub(crate) fn new(doc: &Document, router: &Router, seed: u64, delay: Duration, items: usize) -> Self {
        let sampler = Sampler::new(doc, SampleOptions { max_depth: 3, seed, ..Default::default() });
        let resolve = |pointer: &str| -> Option<Value> {
            let mut schema = doc.resolve(pointer)?.clone();
            while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
                schema = doc.resolve(r)?.clone();
            }
            Some(schema)
        };
        let mut families = HashMap::new();
        for route in router.routes() {
            let Some((family, "/jobs/{jobId}/results")) = split(&route.template) else { continue };
            let (Some(pointer), "GET") = (&route.response, route.method.as_str()) else { continue };
            let submit = router.routes().iter().find(|r| r.method == "POST" && r.template == format!("{family}/jobs"));
            let submits_query = submit
                .and_then(|r| r.response.as_deref())
                .and_then(|p| doc.resolve(p))
                .and_then(|s| s.get("$ref"))
                .and_then(Value::as_str)
                .is_some_and(|r| r.ends_with("/AsyncQueryResponse"));
            let Some(schema) = resolve(pointer) else { continue };
            let props = schema.get("properties").and_then(Value::as_object);
            let has_cursor = props.is_some_and(|p| p.contains_key("cursor"));
            let items = props.and_then(|p| p.iter().find(|(_, v)| v["type"] == "array").map(|(k, _)| k.clone()));
            let (true, true, Some(items)) = (submits_query, has_cursor, items) else { continue };
            let item_pointer = format!("{pointer}/properties/{items}/items");
            let template = schema["properties"][&items]["items"]
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| sampler.at_pointer(r))
                .or_else(|| sampler.at_pointer(&item_pointer))
                .unwrap_or_else(|| json!({}));
            let availability = props.is_some_and(|p| p.contains_key("dataAvailabilityDate"));
            families.insert(family.to_owned(), Family { items, template, availability });
        }
        Self {
            families,
            jobs: Mutex::default(),
            next: AtomicU64::new(0),
            delay,
            items,
            submitted: AtomicUsize::new(0),
            cancelled: AtomicUsize::new(0),
        }
    }

    /// How many families there are.
    pub(crate) fn family_count(&self) -> usize {
        self.families.len()
    }

    /// Jobs submitted, and jobs cancelled.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.submitted.load(Ordering::SeqCst), self.cancelled.load(Ordering::SeqCst))
    }

    /// The answer when `route` is one of a family's.
    pub(crate) fn answer(
        &self,
        route: &Route,
        params: &[(String, String)],
        query: &[(String, String)],
        headers: &HeaderMap,
        body: &[u8],
        queues: &dyn Fn() -> Vec<String>,
    ) -> Option<Response<MockBody>> {
        let (family, rest) = split(&route.template)?;
        self.families.get(family)?;
        let job_id = params.iter().find(|(k, _)| k == "jobId").map(|(_, v)| v.as_str());
        Some(match (route.method.as_str(), rest, job_id) {
            ("POST", "/jobs", _) => self.submit(family, headers, body),
            ("GET", "/jobs/{jobId}", Some(id)) => self.status(id),
            ("DELETE", "/jobs/{jobId}", Some(id)) => self.cancel(id),
            ("GET", "/jobs/{jobId}/results", Some(id)) => self.results(id, query, queues),
            _ => return None,
        })
    }

    fn submit(&self, family: &str, headers: &HeaderMap, body: &[u8]) -> Response<MockBody> {
        let interval = serde_json::from_slice::<Value>(body).ok().and_then(|q| {
            let (a, b) = q["interval"].as_str()?.split_once('/')?;
            Some((a.parse().ok()?, b.parse().ok()?)).filter(|(a, b)| a < b)
        });
        let ending = match headers.get("x-mock-job").and_then(|v| v.to_str().ok()) {
            Some("failed") => Ending::Failed,
            Some("expired") => Ending::Expired,
            _ => Ending::Fulfilled,
        };
        let id = format!("mock-job-{:06}", self.next.fetch_add(1, Ordering::SeqCst) + 1);
        let job = Job {
            family: family.to_owned(),
            interval,
            submitted: Instant::now(),
            submitted_at: chrono::Utc::now(),
            ending,
            cancelled: false,
        };
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), job);
        self.submitted.fetch_add(1, Ordering::SeqCst);
        full(StatusCode::ACCEPTED, json!({ "jobId": id }).to_string())
    }

    /// A job's state now.
    fn state(&self, job: &Job) -> &'static str {
        let age = job.submitted.elapsed();
        match (job.cancelled, age >= self.delay, job.ending) {
            (true, _, _) => "CANCELLED",
            (false, false, _) if age < self.delay / 2 => "QUEUED",
            (false, false, _) => "PENDING",
            (false, true, Ending::Fulfilled) => "FULFILLED",
            (false, true, Ending::Failed) => "FAILED",
            (false, true, Ending::Expired) => "EXPIRED",
        }
    }

    fn status(&self, id: &str) -> Response<MockBody> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(job) = jobs.get(id) else {
            return error(StatusCode::NOT_FOUND, "not.found", &format!("job {id} does not exist"));
        };
        let state = self.state(job);
        let mut body = json!({
            "state": state,
            "submissionDate": job.submitted_at.to_rfc3339(),
            "expirationDate": (job.submitted_at + chrono::Duration::days(1)).to_rfc3339(),
        });
        if state == "FAILED" {
            body["errorMessage"] = json!("mock: the job failed, as its submit asked");
        }
        if matches!(state, "FULFILLED" | "FAILED" | "EXPIRED") {
            body["completionDate"] =
                json!((job.submitted_at + chrono::Duration::from_std(self.delay).unwrap_or_default()).to_rfc3339());
        }
        let mut r = full(StatusCode::OK, body.to_string());
        // While it runs, when to look again (whole seconds, never early).
        let left = self.delay.saturating_sub(job.submitted.elapsed());
        if matches!(state, "QUEUED" | "PENDING") && left >= Duration::from_secs(1) {
            r.headers_mut().insert("retry-after", (left.as_millis().div_ceil(1000) as u64).into());
        }
        r
    }

    fn cancel(&self, id: &str) -> Response<MockBody> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        match jobs.get_mut(id) {
            Some(job) => {
                job.cancelled = true;
                self.cancelled.fetch_add(1, Ordering::SeqCst);
                full(StatusCode::ACCEPTED, bytes::Bytes::new())
            }
            None => error(StatusCode::NOT_FOUND, "not.found", &format!("job {id} does not exist")),
        }
    }

    fn results(&self, id: &str, query: &[(String, String)], queues: &dyn Fn() -> Vec<String>) -> Response<MockBody> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(job) = jobs.get(id) else {
            return error(StatusCode::NOT_FOUND, "not.found", &format!("job {id} does not exist"));
        };
        let state = self.state(job);
        if state != "FULFILLED" {
            return error(
                StatusCode::BAD_REQUEST,
                "bad.request",
                &format!("the results of job {id} are not available: its state is {state}"),
            );
        }
        let Some(family) = self.families.get(&job.family) else {
            return error(StatusCode::NOT_FOUND, "not.found", "no such jobs family");
        };
        let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
        let size = get("pageSize").and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0).unwrap_or(100).min(1000);
        let start = match get("cursor") {
            None | Some("") => 0,
            Some(c) => match c.strip_prefix("mock-cursor-").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n <= self.items => n,
                _ => return error(StatusCode::BAD_REQUEST, "bad.request", &format!("invalid cursor {c:?}")),
            },
        };
        let end = (start + size).min(self.items);
        // Conversations spread evenly over the query's interval, else a minute apart before
        // the submit; the conversations family's from the mock's queues (crate::report).
        let span =
            job.interval.unwrap_or((job.submitted_at - chrono::Duration::minutes(self.items as i64), job.submitted_at));
        let (from, step) = (span.0, (span.1 - span.0) / self.items.max(1) as i32);
        let conversations = job.family == CONVERSATIONS;
        let queue_ids = if conversations { queues() } else { Vec::new() };
        let items: Vec<Value> = (start..end)
            .map(|i| {
                let item = vary(&family.template, id, i, from + step * i as i32);
                if conversations {
                    crate::report::conversation(item, i, self.items, span, &queue_ids)
                } else {
                    item
                }
            })
            .collect();
        let mut body = json!({ family.items.as_str(): items });
        if end < self.items {
            body["cursor"] = json!(format!("mock-cursor-{end}"));
        }
        if family.availability {
            body["dataAvailabilityDate"] = json!(job.submitted_at.to_rfc3339());
        }
        full(StatusCode::OK, body.to_string())
    }
}

/// Item `i` of job `job`'s data set: the sample with numbered ids (distinct across jobs) and
/// placeholder strings; a conversation starts at `start`.
fn vary(template: &Value, job: &str, i: usize, start: chrono::DateTime<chrono::Utc>) -> Value {
    let mut item = template.clone();
    if let Some(o) = item.as_object_mut() {
        for (key, value) in o.iter_mut() {
            if value.as_str() == Some("sample") {
                *value = Value::String(format!("{key}-{i}"));
            }
        }
        for key in ["conversationId", "userId", "id"] {
            if o.contains_key(key) {
                o.insert(key.into(), Value::String(format!("{job}-{}-{i:06}", key.trim_end_matches("Id"))));
            }
        }
        if o.contains_key("conversationStart") {
            o.insert("conversationStart".into(), json!(start.to_rfc3339()));
            o.insert("conversationEnd".into(), json!((start + chrono::Duration::seconds(45)).to_rfc3339()));
        }
    }
    item
}
