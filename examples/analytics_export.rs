//! Exports the conversations of an interval through the analytics details jobs API to NDJSON,
//! with a progress bar: submit, wait, read every page of results. The client paces its calls
//! under the rate limit each response states, over a pool of tokens if asked.
//! Runs on `genesys-cloud-mock` with its rate limits on (300 requests a minute per token, as
//! Genesys Cloud's default), or the real cloud when credentials are set.
//!
//! `cargo run -p genesys-cloud-examples --example analytics_export -- [--interval START/END] [--out FILE] [--jobs K] [--tokens N]`

use genesys_cloud_examples::export;
use genesys_cloud_mock::MockOptions;
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut interval = "2026-11-01T00:00:00Z/2026-11-08T00:00:00Z".to_owned();
    let mut out = std::env::temp_dir().join("genesys-cloud-analytics-export.ndjson");
    let (mut jobs, mut tokens) = (1usize, 1usize);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--interval" => interval = value()?,
            "--out" => out = value()?.into(),
            "--jobs" => jobs = value()?.parse()?,
            "--tokens" => tokens = value()?.parse()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (start, end) = interval.split_once('/').ok_or("--interval is START/END, ISO-8601")?;
    let (start, end) = (start.parse::<chrono::DateTime<chrono::Utc>>()?, end.parse::<chrono::DateTime<chrono::Utc>>()?);

    // The mock: 300 requests a minute per token, 5,000 conversations a job, a job takes 1 s.
    let options = MockOptions::default()
        .rate_limit(300, Duration::from_secs(60))
        .job_items(5_000)
        .job_delay(Duration::from_secs(1));
    let (builder, _mock) = genesys_cloud_examples::connect_with(options).await?;
    let client = builder.token_pool(tokens).build()?;

    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")?);
    bar.enable_steady_tick(Duration::from_millis(100));
    let started = Instant::now();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    let intervals = export::split(start, end, jobs);
    let exported = export::conversations(&client, &intervals, 500, &mut file, |job, p| {
        bar.set_message(format!("job {job}: {:?}, {} pages, {} conversations", p.state, p.pages, p.items));
    })
    .await?;
    bar.finish_and_clear();
    let stats = client.pace_stats();
    println!("wrote {}", out.display());
    println!(
        "exported {} conversations in {:.1} s, {} requests, {} 429s",
        exported.conversations,
        started.elapsed().as_secs_f64(),
        stats.requests,
        stats.rate_limited
    );
    Ok(())
}
