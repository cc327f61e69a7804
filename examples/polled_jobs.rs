//! Jobs polled by their status: exports a data table (a job whose status ends with a download
//! link), validates the flows (a job whose status is the outcome) and queries work items (a job
//! whose results are one document, read when it is done), against the mock (which runs these
//! lifecycles from the spec), printing each state as the poller reads it, then the outcome. `jobs::polled` has a constant for every job of the spec whose status says when it
//! is done (80); the guide's `job_shapes` page lists them by shape.
//!
//! `cargo run -p genesys-cloud-examples --example polled_jobs`

use genesys_cloud::jobs::{polled, JobOptions};
use genesys_cloud_mock::MockOptions;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, _mock) =
        genesys_cloud_examples::connect_with(MockOptions::default().job_delay(Duration::from_millis(600))).await?;
    let client = builder.build()?;
    let options = JobOptions::default().poll(Duration::from_millis(100), Duration::from_millis(300));

    let export = client
        .polled_job(&polled::FLOWS_DATATABLES_EXPORT)
        .path("datatableId", "example-table")
        .options(options.clone())
        .submit(&serde_json::json!({}))
        .await?;
    let mut states = export.progress();
    let follow = tokio::spawn(async move {
        while states.changed().await.is_ok() {
            let state = states.borrow_and_update().clone();
            println!("export state {}", state.unwrap_or_default());
        }
    });
    let done = export.wait().await?;
    follow.await?;
    println!("export {} {} after {} polls: {}", done.id, done.state, done.polls, done.download_url.unwrap_or_default());

    let flows = serde_json::json!({"flows": [{"flow": {"id": "example-flow"}}]});
    let validate = client.polled_job(&polled::FLOWS_VALIDATE).options(options.clone()).submit(&flows).await?;
    let done = validate.wait().await?;
    println!("validation {} {} after {} polls", done.id, done.state, done.polls);

    let query = serde_json::json!({"filters": [{"name": "workbinId", "operator": "EQ", "values": ["example-bin"]}]});
    let workitems = client.polled_job(&polled::TASKMANAGEMENT_WORKITEMS_QUERY).options(options).submit(&query).await?;
    let done = workitems.wait().await?;
    // Typed with the model its constant names: `results_as::<models::WorkitemPagedEntityListing>()`
    // (with the `task-management` feature).
    let results: serde_json::Value = done.results_as()?;
    let found = results["entities"].as_array().map_or(0, Vec::len);
    println!("work item query {} {} after {} polls: {found} work items", done.id, done.state, done.polls);
    Ok(())
}
