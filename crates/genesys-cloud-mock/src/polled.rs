//! The lifecycle of the spec's jobs polled by their status, other than the analytics ones
//! (`crate::jobs`): a `POST …/jobs` answers an id; the status (`GET …/jobs/{id}`) says a
//! running state for the first half of [`MockOptions::job_delay`](crate::MockOptions::job_delay),
//! then a done state, with a download link where the family has one; `DELETE` on it cancels.
//! Results of one document (`…/jobs/{id}/results`) are answered once the job is done, and
//! refused before.
//! The kinds and their states come from the spec (`genesys_cloud_spec::jobs`).

use crate::notify::lock;
use crate::router::Route;
use genesys_cloud_spec::jobs::{job_families, JobFamily, JobShape};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One job of the mock.
struct Job {
    family: usize,
    submitted: Instant,
    cancelled: bool,
}

/// The jobs polled by their status, and their families.
pub(crate) struct PolledJobs {
    families: Vec<JobFamily>,
    jobs: Mutex<HashMap<String, Job>>,
    next: std::sync::atomic::AtomicU64,
}

/// What a poll answers: the status to send, or no such job.
pub(crate) enum Answer {
    /// The body of a 200.
    Body(Value),
    /// No such job: a 404.
    NotFound(String),
    /// Results asked for before the job is done: a 400.
    NotReady(String),
}

impl PolledJobs {
    pub(crate) fn new(doc: &Document) -> Self {
        let families = job_families(doc)
            .into_iter()
            .filter(|f| match f.shape {
                JobShape::DownloadUrl | JobShape::Status => f.status.is_some(),
                // Paged results are the analytics jobs' (`crate::jobs`).
                JobShape::Results => f.status.is_some() && f.state_field.is_some() && !f.results_paged,
                _ => false,
            })
            .collect();
        Self { families, jobs: Mutex::default(), next: std::sync::atomic::AtomicU64::new(1) }
    }

    /// Answers the submit, status and cancel of these jobs; `None` for every other call.
    pub(crate) fn answer(
        &self,
        doc: &Document,
        seed: u64,
        delay: Duration,
        base: &str,
        route: &Route,
        params: &[(String, String)],
    ) -> Option<Answer> {
        let sampler = Sampler::new(doc, SampleOptions { max_depth: 2, seed, ..Default::default() });
        let running = |f: &JobFamily| -> Option<String> {
            let model = doc.definition(f.status_model.as_deref()?)?;
            let values = model.get("properties")?.get(f.state_field.as_deref()?)?.get("enum")?.as_array()?;
            values
                .iter()
                .filter_map(Value::as_str)
                .find(|v| !f.succeeded.iter().any(|s| s == v) && !f.failed.iter().any(|s| s == v))
                .map(str::to_owned)
        };
        if route.method == "POST" {
            let family = self.families.iter().position(|f| f.submit == route.template)?;
            let id = format!("mock-job-{:06}", self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            lock(&self.jobs).insert(id.clone(), Job { family, submitted: Instant::now(), cancelled: false });
            let mut body = route.response.as_deref().and_then(|p| sampler.at_pointer(p)).unwrap_or_else(|| json!({}));
            if !body.is_object() {
                body = json!({});
            }
            // Where the answer's model keeps the job's id: `id`, `jobId`, or `job.id`.
            let declared = route
                .response
                .as_deref()
                .and_then(|p| doc.resolve(p))
                .and_then(|s| match s.get("$ref").and_then(Value::as_str) {
                    Some(r) => doc.resolve(r),
                    None => Some(s),
                })
                .and_then(|s| s.get("properties"))
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            if declared.iter().any(|k| k == "id") {
                body["id"] = json!(id);
            } else if declared.iter().any(|k| k == "jobId") {
                body["jobId"] = json!(id);
            } else if declared.iter().any(|k| k == "job") {
                if !body["job"].is_object() {
                    body["job"] = json!({});
                }
                body["job"]["id"] = json!(id);
            }
            let f = &self.families[family];
            if let (Some(field), Some(state)) = (&f.state_field, running(f)) {
                if body.get(field).is_some() {
                    body[field.as_str()] = json!(state);
                }
            }
            return Some(Answer::Body(body));
        }
        let template = route.template.as_str();
        let (template, results) = match template.strip_suffix("/results") {
            Some(status) if route.method == "GET" => (status, true),
            _ => (template, false),
        };
        let family = self.families.iter().position(|f| f.status.as_deref() == Some(template))?;
        let f = &self.families[family];
        if results && f.results_model.is_none() {
            return None;
        }
        let param = f.status.as_deref()?.rsplit('/').next()?.trim_matches(|c| c == '{' || c == '}');
        let id = params.iter().find(|(k, _)| k == param).map(|(_, v)| v.clone())?;
        let mut jobs = lock(&self.jobs);
        let Some(job) = jobs.get_mut(&id).filter(|j| j.family == family) else {
            return Some(Answer::NotFound(format!("no job {id}")));
        };
        let done = job.submitted.elapsed() >= delay / 2;
        if results {
            return Some(match (done, job.cancelled) {
                (true, false) => Answer::Body(
                    f.results_model.as_deref().and_then(|m| sampler.definition(m)).unwrap_or_else(|| json!({})),
                ),
                _ => Answer::NotReady(format!("job {id} is not done: its results are not ready")),
            });
        }
        match route.method.as_str() {
            "DELETE" => {
                job.cancelled = true;
                Some(Answer::Body(json!({})))
            }
            "GET" => {
                let mut body =
                    f.status_model.as_deref().and_then(|m| sampler.definition(m)).unwrap_or_else(|| json!({}));
                body["id"] = json!(id);
                let field = f.state_field.clone()?;
                let state = if job.cancelled {
                    f.failed
                        .iter()
                        .find(|v| ["cancel", "abort"].iter().any(|w| v.to_ascii_lowercase().contains(w)))
                        .or(f.failed.first())
                        .cloned()
                } else if done {
                    f.succeeded.first().cloned()
                } else {
                    running(f)
                };
                body[field.as_str()] = json!(state.unwrap_or_default());
                if let Some(url) = &f.url_field {
                    body[url.as_str()] =
                        if done && !job.cancelled { json!(format!("{base}/mock-downloads/{id}")) } else { Value::Null };
                }
                Some(Answer::Body(body))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_families_with_a_state_to_wait_on_are_kept() {
        let doc = genesys_cloud_spec::Document::parse(crate::SPEC).unwrap();
        let jobs = super::PolledJobs::new(&doc);
        let submits: Vec<&str> = jobs.families.iter().map(|f| f.submit.as_str()).collect();
        assert!(submits.contains(&"/api/v2/flows/datatables/{datatableId}/export/jobs"), "{submits:?}");
        assert!(!submits.iter().any(|s| s.contains("/analytics/")), "the analytics jobs have their own lifecycle");
    }
}
