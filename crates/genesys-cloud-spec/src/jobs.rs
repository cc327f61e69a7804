//! The spec's asynchronous jobs, classified by shape: every `POST …/jobs` that starts one, with
//! how its outcome is read. Shared by the generator (the SDK's tables and docs) and the mock.

use crate::Document;
use serde_json::Value;

/// How a job's outcome is read once it is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobShape {
    /// Submit, poll the status, then page through `…/jobs/{id}/results`.
    Results,
    /// Submit, poll the status until it holds a download link.
    DownloadUrl,
    /// Submit, poll the status: the status is the outcome.
    Status,
    /// Submit, poll a status that has no state to wait on (its fields are the outcome).
    Stateless,
    /// Submit only: the submit's answer is all there is.
    SubmitOnly,
}

impl JobShape {
    /// Every shape, in the order the docs list them.
    pub const ALL: [JobShape; 5] =
        [JobShape::Results, JobShape::DownloadUrl, JobShape::Status, JobShape::Stateless, JobShape::SubmitOnly];

    /// What the shape is, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            JobShape::Results => "submit → status → results (pages)",
            JobShape::DownloadUrl => "submit → status → download URL",
            JobShape::Status => "submit → status (the status is the outcome)",
            JobShape::Stateless => "submit → status without a state (its fields are the outcome)",
            JobShape::SubmitOnly => "submit only",
        }
    }
}

/// One kind of job of the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFamily {
    /// The submit's path (`/api/v2/flows/export/jobs`).
    pub submit: String,
    /// The status's path (`…/jobs/{jobId}`), when there is one.
    pub status: Option<String>,
    /// How the outcome is read.
    pub shape: JobShape,
    /// The status's model.
    pub status_model: Option<String>,
    /// The status's field that holds the job's state (`state`, `status`, `jobState`, …).
    pub state_field: Option<String>,
    /// The state's values that mean done and well (`Succeeded`, `Complete`, `FULFILLED`, …).
    pub succeeded: Vec<String>,
    /// The values that mean done and failed (`Failed`, `Error`, `Cancelled`, `EXPIRED`, …).
    pub failed: Vec<String>,
    /// The status's field with the outcome's download link.
    pub url_field: Option<String>,
    /// Whether the job can be cancelled (`DELETE` on its status).
    pub cancel: bool,
    /// The submit's tag.
    pub tag: String,
}

/// Whether a state value means the job ended well.
fn succeeded(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    matches!(
        v.as_str(),
        "succeeded"
            | "success"
            | "completed"
            | "complete"
            | "fulfilled"
            | "finished"
            | "parsecompleted"
            | "importcompleted"
            | "rollbackcomplete"
            | "validationcompleted"
    )
}

/// Whether a state value means the job ended badly (or was stopped).
fn failed(value: &str) -> bool {
    let v = value.to_ascii_lowercase();
    v.contains("fail")
        || v.contains("error")
        || matches!(v.as_str(), "cancelled" | "canceled" | "expired" | "aborted" | "terminated" | "incomplete")
}

fn ref_name(schema: &Value) -> Option<&str> {
    schema.get("$ref")?.as_str()?.rsplit('/').next()
}

/// The 2xx answer's model of an operation.
fn answer_model(op: &Value) -> Option<&str> {
    let responses = op.get("responses")?.as_object()?;
    responses.iter().filter(|(code, _)| code.starts_with('2')).find_map(|(_, r)| ref_name(r.get("schema")?))
}

/// Every job of the spec, by submit path.
pub fn job_families(doc: &Document) -> Vec<JobFamily> {
    let Some(paths) = doc.root().get("paths").and_then(Value::as_object) else { return Vec::new() };
    let mut out = Vec::new();
    for (submit, item) in paths {
        if !submit.ends_with("/jobs") {
            continue;
        }
        let Some(post) = item.get("post") else { continue };
        let tag = post.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).unwrap_or_default().to_owned();
        let depth = submit.matches('/').count() + 1;
        let status = paths
            .iter()
            .filter(|(p, i)| {
                p.starts_with(&format!("{submit}/{{")) && p.matches('/').count() == depth && i.get("get").is_some()
            })
            .map(|(p, _)| p.clone())
            .next();
        let Some(status_path) = status else {
            out.push(JobFamily {
                submit: submit.clone(),
                status: None,
                shape: JobShape::SubmitOnly,
                status_model: None,
                state_field: None,
                succeeded: Vec::new(),
                failed: Vec::new(),
                url_field: None,
                cancel: false,
                tag,
            });
            continue;
        };
        let status_item = &paths[&status_path];
        let model = status_item.get("get").and_then(answer_model).map(str::to_owned);
        let properties = model
            .as_deref()
            .and_then(|m| doc.definition(m))
            .and_then(|d| d.get("properties"))
            .and_then(Value::as_object);
        let state_field = properties.and_then(|p| {
            ["state", "status", "jobState", "jobStatus"]
                .into_iter()
                .find(|f| p.get(*f).and_then(|s| s.get("enum")).is_some())
                .map(str::to_owned)
        });
        let values: Vec<String> = state_field
            .as_deref()
            .and_then(|f| properties?.get(f)?.get("enum")?.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let url_field = properties.and_then(|p| {
            ["downloadUrl", "downloadURI", "downloadURL", "fileUrl", "resultsUri", "resultDownloadUrl"]
                .into_iter()
                .find(|f| p.contains_key(*f))
                .map(str::to_owned)
        });
        let results = paths.contains_key(&format!("{status_path}/results"));
        // A state with no value that means done is no state to wait on.
        let waitable = values.iter().any(|v| succeeded(v));
        let shape = match (results, &url_field, waitable) {
            (true, _, _) => JobShape::Results,
            (false, Some(_), true) => JobShape::DownloadUrl,
            (false, _, true) => JobShape::Status,
            (false, _, false) => JobShape::Stateless,
        };
        out.push(JobFamily {
            submit: submit.clone(),
            status: Some(status_path),
            shape,
            status_model: model,
            state_field,
            succeeded: values.iter().filter(|v| succeeded(v)).cloned().collect(),
            failed: values.iter().filter(|v| failed(v)).cloned().collect(),
            url_field: url_field.filter(|_| shape == JobShape::DownloadUrl),
            cancel: status_item.get("delete").is_some(),
            tag,
        });
    }
    out.sort_by(|a, b| (a.shape, &a.submit).cmp(&(b.shape, &b.submit)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_as_success_failure_or_running() {
        for v in ["Succeeded", "Complete", "FULFILLED", "Success", "Completed"] {
            assert!(succeeded(v) && !failed(v), "{v}");
        }
        for v in ["Failed", "Error", "CANCELLED", "Canceled", "EXPIRED", "Aborted", "ImportFailed", "RollbackFailed"] {
            assert!(failed(v) && !succeeded(v), "{v}");
        }
        for v in ["QUEUED", "Running", "InProgress", "Processing", "Registered", "WaitingForUpload", "READY"] {
            assert!(!failed(v) && !succeeded(v), "{v}");
        }
    }
}
