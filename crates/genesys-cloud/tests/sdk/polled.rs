//! Jobs polled by their status, one of each shape, against the mock (which runs their
//! lifecycles from the spec: running for the first half of its job delay, then done, with a
//! download link where the kind has one; `DELETE` cancels).

use genesys_cloud::jobs::{polled, JobOptions};
use genesys_cloud::{Client, ErrorKind};
use genesys_cloud_mock::{MockOptions, MockServer};
use std::time::Duration;

/// A schema-valid body for the submit at `path`, sampled from the spec (`{}` when it takes none).
fn body_for(path: &str) -> serde_json::Value {
    let doc = genesys_cloud_spec::Document::parse(genesys_cloud_mock::SPEC).unwrap();
    let post = &doc.root()["paths"][path]["post"];
    let body = post["parameters"].as_array().into_iter().flatten().find(|p| p["in"] == "body");
    let name = body.and_then(|b| b["schema"]["$ref"].as_str()).and_then(|r| r.rsplit('/').next());
    let sampler = genesys_cloud_spec::Sampler::new(&doc, genesys_cloud_spec::SampleOptions::default());
    name.and_then(|n| sampler.definition(n)).unwrap_or_else(|| serde_json::json!({}))
}

#[tokio::test]
async fn a_job_of_each_shape_is_submitted_polled_and_read() {
    let mock = MockServer::start_with(MockOptions::default().job_delay(Duration::from_millis(200))).await.unwrap();
    let client =
        Client::builder().base_url(&mock.base_url()).client_credentials("jobs", "jobs-secret").build().unwrap();
    let options = || JobOptions::default().poll(Duration::from_millis(20), Duration::from_millis(50));

    // Submit → status → download link.
    let family = &polled::FLOWS_DATATABLES_EXPORT;
    let job = client.polled_job(family).path("datatableId", "table-1").options(options());
    let handle = job.submit(&body_for(family.submit)).await.unwrap();
    let progress = handle.progress();
    let done = handle.wait().await.unwrap();
    assert_eq!(done.state, "Succeeded");
    assert!(done.download_url.as_deref().is_some_and(|u| u.ends_with(&format!("/mock-downloads/{}", done.id))));
    assert!(done.polls >= 2, "running, then done: {} polls", done.polls);
    assert_eq!(progress.borrow().as_deref(), Some("Succeeded"));
    #[cfg(feature = "architect")]
    {
        let typed: genesys_cloud::models::DataTableExportJob = done.status_as().unwrap();
        assert_eq!(typed.download_uri.as_deref(), done.download_url.as_deref());
    }

    // Submit → status (the status is the outcome).
    let family = &polled::FLOWS_VALIDATE;
    let handle = client.polled_job(family).options(options()).submit(&body_for(family.submit)).await.unwrap();
    assert_eq!(handle.wait().await.unwrap().state, "Success");

    // Submit → status → results (the analytics lifecycle): the status ends the wait.
    let family = &polled::ANALYTICS_CONVERSATIONS_DETAILS;
    let handle = client.polled_job(family).options(options()).submit(&body_for(family.submit)).await.unwrap();
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.state, "FULFILLED");
    assert!(outcome.results.is_none() && outcome.results_as::<serde_json::Value>().is_err(), "paged: `client.jobs`'s");

    // Submit → status → results of one document, read when it is done and typed.
    let family = &polled::TASKMANAGEMENT_WORKITEMS_QUERY;
    let handle = client.polled_job(family).options(options()).submit(&body_for(family.submit)).await.unwrap();
    let outcome = handle.wait().await.unwrap();
    assert_eq!(outcome.state, "Succeeded");
    assert!(outcome.results.as_ref().is_some_and(|r| r["entities"].is_array()), "{:?}", outcome.results);
    #[cfg(feature = "task-management")]
    {
        let page: genesys_cloud::models::WorkitemPagedEntityListing = outcome.results_as().unwrap();
        assert!(page.entities.is_some());
    }
    // Before the job is done, the mock refuses the results, as the service does.
    let early = client.polled_job(family).submit(&body_for(family.submit)).await.unwrap();
    let path = format!("/api/v2/taskmanagement/workitems/query/jobs/{}/results", early.id());
    let e = client.raw().request(genesys_cloud::transport::http::Method::GET, path).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");

    // Cancelled when asked: the wait ends in a failed job.
    let family = &polled::SPEECHANDTEXTANALYTICS_REPROCESSING;
    let handle = client.polled_job(family).options(options()).submit(&body_for(family.submit)).await.unwrap();
    handle.cancel().await.unwrap();
    let e = handle.wait().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::JobFailed, "{e}");

    // A path parameter left out is a build error, before anything is sent.
    let e = client.polled_job(&polled::FLOWS_DATATABLES_EXPORT).submit(&serde_json::json!({})).await.unwrap_err();
    assert!(e.to_string().contains("datatableId"), "{e}");
}
