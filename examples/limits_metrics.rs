//! Limits and metrics: reads the org's effective rate limits (`client.limits()`), seeds the
//! pacer with them, makes calls against a mock that limits each token and answers two with
//! 429, and prints what the client reported through the `metrics` facade crate (recorded here
//! by metrics-util's debugging recorder; in a service, a Prometheus exporter or any other
//! recorder): `metric <name> <labels> <value>`.
//!
//! `cargo run -p genesys-cloud-examples --example limits_metrics` (offline: the mock).

use genesys_cloud_mock::{Fault, MockOptions};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder)?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        // Each token may make 10 requests a second here (the platform: 300 a minute).
        let options = MockOptions::default().rate_limit(10, Duration::from_secs(1));
        let (builder, mock) = genesys_cloud_examples::connect_with(options).await?;
        let client = builder.build()?;
        let limits = client.limits().await?;
        for (namespace, key, value) in limits.iter() {
            println!("limit {namespace} {key} {value}");
        }
        println!("pacer seeded: {}", client.seed_pacer(&limits));
        if let Some(mock) = &mock {
            mock.inject(Fault::rate_limited("0").on_path("/api/v2/users/me").times(2));
        }
        for _ in 0..25 {
            client.users().get_users_me().send().await?;
        }
        // Now the client uses the users API too: its limits are read as well.
        println!("namespaces used: {}", client.namespaces_used().join(", "));
        for (namespace, key, value) in client.limits().await?.iter().filter(|(n, _, _)| *n != "platform.api") {
            println!("limit {namespace} {key} {value}");
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;

    let mut lines: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let labels: Vec<String> = key.labels().map(|l| format!("{}={}", l.key(), l.value())).collect();
            let value = match value {
                DebugValue::Counter(n) => n.to_string(),
                DebugValue::Gauge(g) => g.into_inner().to_string(),
                DebugValue::Histogram(h) => format!("{} observations", h.len()),
            };
            format!("metric {} {{{}}} {value}", key.name(), labels.join(","))
        })
        .collect();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
