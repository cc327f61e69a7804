//! Jobs polled by their status: every kind of job of the spec whose status says when it is
//! done (80 in the vendored spec, `jobs::polled`), submitted, polled with
//! backoff and the answers' `Retry-After`, and read as their final status and download link.

use crate::job_options::JobOptions;
use crate::{Client, Error, ErrorKind, Result};
use genesys_cloud_core::http::Method;

/// How a polled job's outcome is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolledShape {
    /// The status ends the wait; the results are pages at `…/jobs/{id}/results`.
    Results,
    /// The final status holds a download link.
    DownloadUrl,
    /// The final status is the outcome.
    Status,
}

/// A kind of job the SDK polls by its status (generated from the spec: see
/// `jobs::polled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolledFamily {
    /// The submit's path template (`/api/v2/flows/export/jobs`).
    pub submit: &'static str,
    /// The status's path template (`…/jobs/{jobId}`).
    pub status: &'static str,
    /// The status path's parameter holding the job's id.
    pub id_param: &'static str,
    /// The status's field with the state.
    pub state_field: &'static str,
    /// The states that mean done.
    pub done: &'static [&'static str],
    /// The states that mean failed (or cancelled, expired).
    pub failed: &'static [&'static str],
    /// The status's field with the download link, for [`PolledShape::DownloadUrl`].
    pub url_field: Option<&'static str>,
    /// The path template of the results when they are one document (`…/jobs/{jobId}/results`),
    /// read when the job is done. Paged results (the analytics jobs') are `client.jobs(…)`'s.
    pub results: Option<&'static str>,
    /// Whether `DELETE` on the status cancels the job.
    pub cancel: bool,
    /// How its outcome is read.
    pub shape: PolledShape,
}

/// A job to submit: its family, the submit path's parameters, the options.
#[derive(Debug)]
#[must_use = "a job is submitted by `submit`"]
pub struct PolledJob<'a> {
    client: &'a Client,
    family: &'static PolledFamily,
    params: Vec<(String, String)>,
    options: JobOptions,
}

/// What a polled job came to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PolledOutcome {
    /// The job's id.
    pub id: String,
    /// Its final state (one of the family's `done`).
    pub state: String,
    /// Its final status, as the API answered it (read it typed with
    /// [`status_as`](Self::status_as)).
    pub status: serde_json::Value,
    /// The download link, for [`PolledShape::DownloadUrl`].
    pub download_url: Option<String>,
    /// The results, as the API answered them, when the family's are one document (read them
    /// typed with [`results_as`](Self::results_as)).
    pub results: Option<serde_json::Value>,
    /// How many status polls it took.
    pub polls: u32,
}

impl PolledOutcome {
    /// The final status as the family's status model (`models::DataTableExportJob`, …).
    pub fn status_as<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.status.clone())
            .map_err(|e| Error::new(ErrorKind::Decode, format!("the status of job {}: {e}", self.id)))
    }

    /// The results as the family's results model (`models::WorkitemPagedEntityListing`, …; each
    /// constant of `jobs::polled` names its own). An error when the family has no results of
    /// one document.
    pub fn results_as<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let results = self.results.clone().ok_or_else(|| {
            Error::build(format!(
                "job {} has no results of one document: read its pages with `client.jobs(…)`",
                self.id
            ))
        })?;
        serde_json::from_value(results)
            .map_err(|e| Error::new(ErrorKind::Decode, format!("the results of job {}: {e}", self.id)))
    }
}

/// A submitted job: poll it to its end with [`wait`](Self::wait), follow its state with
/// [`progress`](Self::progress), or [`cancel`](Self::cancel) it.
#[derive(Debug)]
pub struct PolledHandle {
    client: Client,
    family: &'static PolledFamily,
    status_path: String,
    /// The results' path, for a family whose results are one document.
    results_path: Option<String>,
    id: String,
    options: JobOptions,
    progress: tokio::sync::watch::Sender<Option<String>>,
}

impl Client {
    /// A job of a kind the SDK polls by its status (`jobs::polled`):
    /// `client.polled_job(&jobs::polled::FLOWS_EXPORT).submit(&body).await?.wait().await?`.
    pub fn polled_job(&self, family: &'static PolledFamily) -> PolledJob<'_> {
        PolledJob { client: self, family, params: Vec::new(), options: JobOptions::default() }
    }
}

/// `template` with its `{name}` parameters filled.
fn fill(template: &str, params: &[(String, String)]) -> Result<String> {
    let mut path = template.to_owned();
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), &genesys_cloud_core::encode_path_segment(value));
    }
    if let Some(start) = path.find('{') {
        let missing = path[start..].split('}').next().unwrap_or_default().trim_start_matches('{');
        return Err(Error::build(format!("the job's path needs `{missing}`: set it with `.path(\"{missing}\", …)`")));
    }
    Ok(path)
}

impl PolledJob<'_> {
    /// Sets a parameter of the submit path (`.path("datatableId", id)`).
    pub fn path(mut self, name: &str, value: impl Into<String>) -> Self {
        self.params.push((name.to_owned(), value.into()));
        self
    }

    /// Sets the polling waits and the time limit (the analytics jobs' options).
    pub fn options(mut self, options: JobOptions) -> Self {
        self.options = options;
        self
    }

    /// Submits the job with `body`; its id is the answer's `id` (or `jobId`, or `job.id`).
    pub async fn submit<B: serde::Serialize + ?Sized>(self, body: &B) -> Result<PolledHandle> {
        let path = fill(self.family.submit, &self.params)?;
        let answer: serde_json::Value = self.client.raw().request(Method::POST, path).json(body).send_json().await?;
        // The id is the answer's `id`, `jobId`, or `job.id` (workforce management's).
        let id = [&answer["id"], &answer["jobId"], &answer["job"]["id"]]
            .into_iter()
            .find_map(serde_json::Value::as_str)
            .ok_or_else(|| Error::new(ErrorKind::Decode, "the job's submit answer has no id"))?
            .to_owned();
        let mut params = self.params;
        params.push((self.family.id_param.to_owned(), id.clone()));
        let status_path = fill(self.family.status, &params)?;
        let results_path = self.family.results.map(|template| fill(template, &params)).transpose()?;
        let (progress, _) = tokio::sync::watch::channel(None);
        Ok(PolledHandle {
            client: self.client.clone(),
            family: self.family,
            status_path,
            results_path,
            id,
            options: self.options,
            progress,
        })
    }
}

impl PolledHandle {
    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job's state as the last poll read it (`None` before the first).
    pub fn progress(&self) -> tokio::sync::watch::Receiver<Option<String>> {
        self.progress.subscribe()
    }

    /// Cancels the job (`DELETE` on its status), when its family can be cancelled.
    pub async fn cancel(&self) -> Result<()> {
        if !self.family.cancel {
            return Err(Error::build(format!("jobs of {} cannot be cancelled", self.family.submit)));
        }
        self.client.raw().request(Method::DELETE, self.status_path.clone()).send().await
    }

    /// Polls the status until the job is done: waits grow by half from `poll_first` to
    /// `poll_max`, an answer's `Retry-After` is taken instead, a 404 right after the submit is
    /// waited out for `not_found_for`. A failed state ends in [`ErrorKind::JobFailed`]; past
    /// `time_limit` the job is cancelled (when it can be) and the wait ends in a timeout.
    pub async fn wait(self) -> Result<PolledOutcome> {
        let mut waits = crate::job_options::Waits::since(tokio::time::Instant::now(), &self.options);
        let mut polls = 0;
        let raw = self.client.raw();
        loop {
            let polled = crate::job_options::poll_status::<serde_json::Value>(
                &raw,
                self.status_path.clone(),
                self.options.not_found_for,
            );
            let (status, retry_after) = polled.await?;
            polls += 1;
            let state = status.get(self.family.state_field).and_then(serde_json::Value::as_str).unwrap_or_default();
            // Followers hear of a state once, when it changes.
            self.progress.send_if_modified(|held| {
                let changed = held.as_deref() != Some(state);
                if changed {
                    *held = Some(state.to_owned());
                }
                changed
            });
            if self.family.done.contains(&state) {
                let download_url = self
                    .family
                    .url_field
                    .and_then(|f| status.get(f))
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned);
                let results = match &self.results_path {
                    Some(path) => Some(raw.request(Method::GET, path.clone()).send_json::<serde_json::Value>().await?),
                    None => None,
                };
                return Ok(PolledOutcome {
                    id: self.id,
                    state: state.to_owned(),
                    status,
                    download_url,
                    results,
                    polls,
                });
            }
            if self.family.failed.contains(&state) {
                return Err(Error::new(ErrorKind::JobFailed, format!("job {} ended {state}", self.id)));
            }
            let Some(pause) = waits.next(retry_after) else {
                if self.family.cancel {
                    let _ = self.cancel().await;
                }
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("job {} was not done within {:?}", self.id, self.options.time_limit),
                ));
            };
            tokio::time::sleep(pause).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn paths_are_filled_and_a_missing_parameter_is_named() {
        let params = vec![("datatableId".to_owned(), "t 1".to_owned())];
        assert_eq!(
            super::fill("/api/v2/flows/datatables/{datatableId}/export/jobs", &params).unwrap(),
            "/api/v2/flows/datatables/t%201/export/jobs"
        );
        let e = super::fill("/api/v2/flows/datatables/{datatableId}/export/jobs", &[]).unwrap_err();
        assert!(e.to_string().contains("datatableId"), "{e}");
    }
}
