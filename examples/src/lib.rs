//! Runnable examples of genesys-cloud-rs; see the `[[example]]` targets in `Cargo.toml`.
//!
//! Examples run against `genesys-cloud-mock` (a local Genesys Cloud built from the spec)
//! unless credentials for the real cloud are set; see [`connect`].

use genesys_cloud::config::ConfigHandle;
use genesys_cloud::{Client, ClientBuilder, Region};
use genesys_cloud_mock::MockServer;

/// `Client::builder()` with the settings of the `GENESYS_CLOUD_*` environment variables (no
/// file): for instance `GENESYS_CLOUD_LOG_LEVEL=trace GENESYS_CLOUD_LOG_REQUEST_BODY=true
/// GENESYS_CLOUD_LOG_RESPONSE_BODY=true` shows every exchange, secrets redacted.
pub fn builder() -> Result<ClientBuilder, Box<dyn std::error::Error>> {
    let settings = ConfigHandle::builder().watch(false).build()?;
    Ok(Client::builder().config(settings))
}

/// Where an example's calls go: the real cloud when `GENESYS_CLOUD_CLIENT_ID`,
/// `GENESYS_CLOUD_CLIENT_SECRET` (and optionally `GENESYS_CLOUD_REGION`) are set, otherwise a
/// freshly started mock. Keep the returned mock alive while the client is used.
pub async fn connect() -> Result<(ClientBuilder, Option<MockServer>), Box<dyn std::error::Error>> {
    connect_with(genesys_cloud_mock::MockOptions::default()).await
}

/// [`connect`], with the mock (when there is no real cloud) started with `options`.
pub async fn connect_with(
    options: genesys_cloud_mock::MockOptions,
) -> Result<(ClientBuilder, Option<MockServer>), Box<dyn std::error::Error>> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (var("GENESYS_CLOUD_CLIENT_ID"), var("GENESYS_CLOUD_CLIENT_SECRET")) {
        (Some(id), Some(secret)) => {
            let region: Region = var("GENESYS_CLOUD_REGION").unwrap_or_else(|| "us_east_1".into()).parse()?;
            println!("calling Genesys Cloud in {region} ({})", region.api_host());
            Ok((builder()?.region(region).client_credentials(id, secret), None))
        }
        _ => {
            let mock = MockServer::start_with(options).await?;
            println!(
                "GENESYS_CLOUD_CLIENT_ID is not set: calling genesys-cloud-mock at {} ({} operations)",
                mock.base_url(),
                mock.operation_count()
            );
            let builder = builder()?.base_url(&mock.base_url()).client_credentials("example-client", "example-secret");
            Ok((builder, Some(mock)))
        }
    }
}

/// Exporting conversations through the analytics details jobs: the `analytics_export`
/// example's work, and the bulk benchmark's.
pub mod export {
    use genesys_cloud::futures::{stream, TryStreamExt};
    use genesys_cloud::jobs::{families, JobOptions, JobProgress};
    use genesys_cloud::Client;
    use std::io::Write;
    use std::time::Duration;

    /// What an export did.
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Exported {
        /// Conversations written.
        pub conversations: u64,
    }

    /// The `jobs` sub-intervals of `start/end` (ISO-8601), as `start/end` strings.
    pub fn split(start: chrono::DateTime<chrono::Utc>, end: chrono::DateTime<chrono::Utc>, jobs: usize) -> Vec<String> {
        let jobs = jobs.max(1) as i32;
        let step = (end - start) / jobs;
        (0..jobs)
            .map(|i| {
                let a = start + step * i;
                let b = if i + 1 == jobs { end } else { start + step * (i + 1) };
                format!(
                    "{}/{}",
                    a.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    b.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                )
            })
            .collect()
    }

    /// Exports the conversations of `intervals` (one details job each, run side by side) to
    /// `out` as NDJSON, a conversation per line in the order they arrive; `on_progress` sees
    /// every job's progress as it moves.
    pub async fn conversations(
        client: &Client,
        intervals: &[String],
        page_size: u32,
        out: &mut (impl Write + Send),
        on_progress: impl Fn(usize, &JobProgress) + Send + Sync,
    ) -> Result<Exported, Box<dyn std::error::Error>> {
        let options =
            JobOptions::default().poll(Duration::from_millis(100), Duration::from_secs(5)).page_size(page_size);
        let jobs = client.jobs(families::CONVERSATIONS_DETAILS.untyped()).options(options);
        let mut submitted = Vec::new();
        for interval in intervals {
            let query = serde_json::json!({"interval": interval, "order": "asc", "orderBy": "conversationStart"});
            submitted.push(jobs.submit(&query).await?);
        }
        let watchers: Vec<_> = submitted.iter().map(|j| j.progress()).collect();
        let streams = submitted.into_iter().map(|j| j.results());
        let mut all = stream::select_all(streams);
        let mut exported = Exported::default();
        while let Some(conversation) = all.try_next().await? {
            serde_json::to_writer(&mut *out, &conversation)?;
            out.write_all(b"\n")?;
            exported.conversations += 1;
            if exported.conversations % 100 == 0 {
                for (i, w) in watchers.iter().enumerate() {
                    on_progress(i, &w.borrow());
                }
            }
        }
        for (i, w) in watchers.iter().enumerate() {
            on_progress(i, &w.borrow());
        }
        out.flush()?;
        Ok(exported)
    }
}
