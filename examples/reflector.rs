//! A live local view (`Reflector`): the presence and routing status of N users, and the members
//! and conversations of two queues, filled by a listing and kept current by the notification
//! stream, against the mock. Prints what the view costs and how fast it follows:
//! - the growth of the process's resident memory while the view is built (its subscription,
//!   and the mock's side of it, included), per user;
//! - the time from an event the mock sends to the change in the view, over 500 changes.
//!
//! `cargo run --release -p genesys-cloud-examples --example reflector -- --users 9000`
//! (default 1,000 users; figures in BENCHMARKS.md). A user's presence and routing status are
//! two of a channel's 1,000 topics, and a client holds 19 channels: 9,500 users at most.

use genesys_cloud::models::CreateUser;
use genesys_cloud::notifications::Change;
use std::time::{Duration, Instant};

/// The process's resident memory in bytes (Linux's `/proc/self/status`; 0 elsewhere).
fn resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let count: usize =
        args.iter().position(|a| a == "--users").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1000);
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let client = genesys_cloud::Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("reflector", "reflector-secret")
        .rate_limits(genesys_cloud::transport::RateLimits::unpaced())
        .build()?;
    let mut users = Vec::with_capacity(count);
    for n in 0..count {
        let mut body = CreateUser::default();
        body.name = Some(format!("Agent {n}"));
        body.email = Some(format!("agent-{n}@example.com"));
        body.division_id = Some("mock-division-home".into());
        users.push(client.users().post_users(body).send().await?.id.unwrap_or_default());
    }

    let before = resident();
    let started = Instant::now();
    let queues = ["queue-1", "queue-2"];
    let call = mock.enqueue_call("queue-1");
    let reflector = client
        .notification_service()
        .reflector()
        .users(users.clone())
        .queue_members(queues)
        .queue_conversations(queues)
        .start()
        .await?;
    let built = started.elapsed();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let held = resident().saturating_sub(before);
    println!(
        "{count} users: view built in {:.2} s; resident memory +{:.1} MB once built ({} bytes per user, the subscription's {} channels and the mock's share included)",
        built.as_secs_f64(),
        held as f64 / 1e6,
        held / count.max(1),
        (count * 2).div_ceil(1000),
    );

    // From the mock's event to the view's change.
    let mut changes = reflector.changes();
    let mut latencies = Vec::new();
    for n in 0..500 {
        let user = &users[n % users.len()];
        let system = if n % 2 == 0 { "Busy" } else { "Available" };
        let body = serde_json::json!({
            "source": "PURECLOUD", "primary": true, "modifiedDate": chrono::Utc::now().to_rfc3339(),
            "presenceDefinition": {"id": format!("mock-presence-{}", system.to_lowercase()), "systemPresence": system},
        });
        let sent = Instant::now();
        mock.publish(&format!("v2.users.{user}.presence"), &body);
        loop {
            match tokio::time::timeout(Duration::from_secs(10), changes.next()).await? {
                Some(Change::User { id, state }) if &id == user => {
                    let now = state.presence.and_then(|p| p.system_presence);
                    if now.as_deref() == Some(system) {
                        latencies.push(sent.elapsed());
                        break;
                    }
                }
                Some(_) => {}
                None => return Err("the reflector ended".into()),
            }
        }
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q) as usize];
    println!(
        "event to view over {} changes: p50 {} µs, p99 {} µs, max {} µs",
        latencies.len(),
        at(0.5).as_micros(),
        at(0.99).as_micros(),
        at(1.0).as_micros()
    );
    assert_eq!(reflector.users().len(), count);

    // A call waiting in queue-1 since before the start, answered, then ended through the API.
    println!("queue-1 conversations at the start: {:?}", reflector.conversations("queue-1").unwrap_or_default());
    mock.answer_call(&call, &users[0]);
    client.conversations().post_conversation_disconnect(call.clone()).send().await?;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), changes.next()).await? {
            Some(Change::Conversation { queue, id, now }) => {
                println!("{queue} conversation {id}: {now:?}");
                if now.is_none() {
                    break;
                }
            }
            Some(_) => {}
            None => return Err("the reflector ended".into()),
        }
    }
    Ok(())
}
