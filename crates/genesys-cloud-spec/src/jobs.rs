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
    /// The model of the results (`…/jobs/{id}/results`), for [`JobShape::Results`].
    pub results_model: Option<String>,
    /// Whether the results come in pages named by a `cursor` (the analytics jobs'); the
    /// others are one document.
    pub results_paged: bool,
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
                results_model: None,
                results_paged: false,
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
        let results_get = paths.get(&format!("{status_path}/results")).and_then(|r| r.get("get"));
        let results = results_get.is_some();
        let results_paged = results_get
            .and_then(|op| op.get("parameters")?.as_array())
            .is_some_and(|ps| ps.iter().any(|p| p.get("name").and_then(Value::as_str) == Some("cursor")));
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
            results_model: results_get.and_then(answer_model).map(str::to_owned),
            results_paged,
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

    #[test]
    fn results_of_one_document_are_told_from_paged_ones() {
        let state = serde_json::json!({"properties": {"state": {"type": "string", "enum": ["Running", "Succeeded", "Failed"]}}});
        let answer = |model: &str| serde_json::json!({"200": {"schema": {"$ref": format!("#/definitions/{model}")}}});
        let doc = Document::from_value(serde_json::json!({
            "swagger": "2.0",
            "paths": {
                "/api/v2/a/jobs": {"post": {"tags": ["A"], "responses": answer("Status")}},
                "/api/v2/a/jobs/{jobId}": {"get": {"responses": answer("Status")}},
                "/api/v2/a/jobs/{jobId}/results": {"get": {"parameters": [{"name": "cursor", "in": "query"}], "responses": answer("Page")}},
                "/api/v2/b/jobs": {"post": {"tags": ["B"], "responses": answer("Status")}},
                "/api/v2/b/jobs/{jobId}": {"get": {"responses": answer("Status")}},
                "/api/v2/b/jobs/{jobId}/results": {"get": {"responses": answer("Listing")}},
            },
            "definitions": {"Status": state, "Page": {}, "Listing": {}},
        }))
        .unwrap();
        let families = job_families(&doc);
        let read: Vec<_> = families.iter().map(|f| (f.shape, f.results_model.as_deref(), f.results_paged)).collect();
        assert_eq!(read, [(JobShape::Results, Some("Page"), true), (JobShape::Results, Some("Listing"), false)]);
    }
}
