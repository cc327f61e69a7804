//! The soak: the whole client (calls, tokens, retries, pacing, a notification stream) against
//! the mock for a while, with random faults, checking what a user relies on.
//!
//! `cargo run --release -p genesys-cloud-examples --bin soak -- --seconds 60 [--seed N]`
//!
//! Faults, one every few hundred milliseconds, at random: notification sockets closed, cut
//! without a close frame or silenced for a while; `socket_closing`; a revoked token; expired
//! channels; 503s, 429s and stalls past the attempt timeout on the calls' paths; a failing
//! token endpoint with every token expired; a consumer that stops reading for a while.
//!
//! Invariants, each printed as `name: N passed, N failed`, then the total:
//! - `deadline`: every call ends by its deadline (its call timeout, plus a second);
//! - `delivery`: every published notification is delivered once, in order within its topic,
//!   or falls inside a reported gap or loss;
//! - `cleanup`: once the client and the stream are dropped, no task, connection, socket or
//!   configuration listener is left (counted);
//! - `memory`: the resident set at the end is within 10 % of the set after warm-up.
//!
//! It exits non-zero when any check failed.

use chrono::{DateTime, Utc};
use genesys_cloud::notifications::{topics, ConnectionEvent, Item, Options, Payload};
use genesys_cloud::transport::{Retry, Timeouts};
use genesys_cloud::Client;
use genesys_cloud_mock::{Fault, FaultKind, MockOptions, MockServer};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// One invariant's count of checks.
#[derive(Default)]
struct Tally {
    passed: AtomicU64,
    failed: AtomicU64,
    first_failure: Mutex<Option<String>>,
}

impl Tally {
    fn check(&self, ok: bool, why: impl FnOnce() -> String) {
        if ok {
            self.passed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed.fetch_add(1, Ordering::Relaxed);
            let mut first = self.first_failure.lock().unwrap();
            if first.is_none() {
                *first = Some(why());
            }
        }
    }
}

/// A small generator for the faults' choices (xorshift; the seed makes a run repeatable).
struct Dice(u64);

impl Dice {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

const USERS: [&str; 3] = ["soak-user-a", "soak-user-b", "soak-user-c"];
const CALL_TIMEOUT: Duration = Duration::from_secs(4);

fn presence(n: u64) -> serde_json::Value {
    serde_json::json!({"source": "PURECLOUD", "presenceDefinition": {"id": format!("p-{n}"), "systemPresence": "Available"}})
}

fn number(payload: &Payload) -> Option<u64> {
    let Payload::UsersPresence(p) = payload else { return None };
    p.presence_definition.as_ref()?.id.as_deref()?.strip_prefix("p-")?.parse().ok()
}

/// The resident set of this process, in kB.
fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What the consumer has seen: per topic the next number expected, and the publish times of
/// the numbers not delivered yet; the gaps and losses reported.
#[derive(Default)]
struct Ledger {
    published: HashMap<String, VecDeque<(u64, DateTime<Utc>)>>,
    expected: HashMap<String, u64>,
    gaps: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// Events the stream said it dropped, not yet matched to a missing number.
    lost_unmatched: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)?.parse::<u64>().ok());
    let seconds = arg("--seconds").unwrap_or(60);
    let seed = arg("--seed").unwrap_or(0x5eed_2026_1207);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let failed = runtime.block_on(soak(Duration::from_secs(seconds), seed));
    std::process::exit(i32::from(failed));
}

async fn soak(length: Duration, seed: u64) -> bool {
    let tasks_before = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let options = MockOptions::default()
        .heartbeat_interval(Duration::from_millis(300))
        .channel_lifetime(Duration::from_secs(40))
        .token_lifetime(Duration::from_secs(20))
        .rate_limit(400, Duration::from_secs(1));
    let mock = Arc::new(MockServer::start_with(options).await.expect("the mock starts"));
    let mock_tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    let config = genesys_cloud::config::ConfigHandle::fixed(genesys_cloud::config::Config::default());
    let client = Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("soak-client", "soak-secret")
        .config(config.clone())
        .retry(Retry::default().backoff(Duration::from_millis(20), Duration::from_millis(300)))
        .timeouts(Timeouts::default().attempt(Duration::from_secs(1)).call(CALL_TIMEOUT))
        .build()
        .expect("the client builds");
    let listener = client.notification_service_with(
        Options::default()
            .buffer(256)
            .heartbeat(Duration::from_millis(900), Duration::from_millis(500))
            .backoff(Duration::from_millis(20), Duration::from_millis(500))
            .renew_before(Duration::from_secs(30)),
    );
    let mut stream = listener
        .subscribe(USERS.iter().map(|u| topics::users_presence(u).expect("a topic")))
        .await
        .expect("the subscription starts");

    let deadline = Arc::new(Tally::default());
    let delivery = Arc::new(Tally::default());
    let cleanup = Tally::default();
    let memory = Tally::default();
    let stop = Arc::new(AtomicBool::new(false));
    let slow = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let calls_made = Arc::new(AtomicU64::new(0));
    let started = Instant::now();

    // Calls: four workers, reads, a create and delete, a 404.
    let mut workers = Vec::new();
    for w in 0..4u64 {
        let (client, stop, deadline, calls_made) = (client.clone(), stop.clone(), deadline.clone(), calls_made.clone());
        workers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let op = (w + i) % 4;
                let call = async {
                    match op {
                        0 => client.users().get_users_me().send().await.map(drop),
                        1 => client.users().get_users().page_size(25).send().await.map(drop),
                        2 => {
                            let user = genesys_cloud::models::CreateUser::default().with(|u| {
                                u.name = Some(format!("soak {w} {i}"));
                                u.email = Some(format!("soak-{w}-{i}@example.com"));
                                u.division_id = Some("home".into());
                            });
                            let created = client.users().post_users(user).send().await?;
                            match created.id {
                                Some(id) => client.users().delete_user(id).send().await.map(drop),
                                None => Ok(()),
                            }
                        }
                        _ => client.users().get_user("soak-missing-user").send().await.map(drop),
                    }
                };
                let began = Instant::now();
                // A create and its delete are two calls: each has the deadline.
                let limit = CALL_TIMEOUT * if op == 2 { 2 } else { 1 } + Duration::from_secs(1);
                let ended = tokio::time::timeout(limit, call).await;
                calls_made.fetch_add(1, Ordering::Relaxed);
                deadline.check(ended.is_ok(), || format!("a call of kind {op} ran {:?}", began.elapsed()));
            }
        }));
    }

    // The publisher: the users' presence in turn, numbered per topic, about 300 a second.
    let publisher = {
        let (mock, stop, ledger) = (mock.clone(), stop.clone(), ledger.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for user in USERS {
                    let topic = format!("v2.users.{user}.presence");
                    let at = Utc::now();
                    ledger.lock().unwrap().published.entry(topic.clone()).or_default().push_back((n, at));
                    mock.publish(&topic, &presence(n));
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            n
        })
    };

    // Faults.
    let chaos = {
        let (mock, stop, slow) = (mock.clone(), stop.clone(), slow.clone());
        tokio::spawn(async move {
            let mut dice = Dice(seed | 1);
            let mut count = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(300 + dice.below(500))).await;
                count += 1;
                let fault = dice.below(11);
                if std::env::var_os("SOAK_DEBUG").is_some() {
                    eprintln!("{:?} FAULT {fault}", Utc::now());
                }
                match fault {
                    0 => mock.drop_notification_sockets(),
                    1 => mock.abort_notification_sockets(),
                    // A silent socket is a dead one (a half-open connection): it never speaks
                    // again, and the client must find it out. (A socket that lost events and
                    // then spoke again would be a loss no client could see: the service's
                    // events carry no sequence numbers.)
                    2 => mock.silence_notification_sockets(true),
                    3 => mock.send_socket_closing(Duration::from_secs(3)),
                    4 => mock.revoke_token(),
                    5 => mock.expire_channels(),
                    6 => mock.inject(Fault::status(503).on_path("/api/v2/users").times(5)),
                    7 => mock.inject(Fault::rate_limited("1").on_path("/api/v2/users").times(3)),
                    8 => mock.inject(
                        Fault::new(FaultKind::Latency(Duration::from_secs(3))).on_path("/api/v2/users/me").times(2),
                    ),
                    9 => {
                        mock.inject(Fault::status(500).on_path("/oauth/token").times(2));
                        mock.expire_tokens();
                    }
                    _ => {
                        slow.store(true, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(1_500)).await;
                        slow.store(false, Ordering::Relaxed);
                    }
                }
            }
            count
        })
    };

    // The consumer, on this task: checks every event against what was published.
    let warm_up = (length / 10).max(Duration::from_secs(5)).min(length);
    let mut rss_after_warm_up = None;
    let mut items = 0u64;
    let mut connection_items = 0u64;
    while started.elapsed() < length {
        if rss_after_warm_up.is_none() && started.elapsed() >= warm_up {
            rss_after_warm_up = Some(rss_kb());
        }
        if slow.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(200), stream.next()).await else { continue };
        items += 1;
        connection_items += u64::from(matches!(item, Item::Connection(_)));
        consume(&ledger, &delivery, item);
    }
    let rss_before_end = rss_kb();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let rounds = publisher.await.unwrap_or(0);
    let faults = chaos.await.unwrap_or(0);
    mock.clear_faults();
    // The last events: read until each topic's last number came, or a quiet while.
    let last = rounds.saturating_sub(1);
    let drain_until = Instant::now() + Duration::from_secs(60);
    loop {
        let done = {
            let l = ledger.lock().unwrap();
            USERS.iter().all(|u| l.expected.get(&format!("v2.users.{u}.presence")).is_some_and(|e| *e > last))
        };
        if done {
            break;
        }
        let quiet = Duration::from_secs(15).min(drain_until.saturating_duration_since(Instant::now()));
        match tokio::time::timeout(quiet, stream.next()).await {
            Ok(Some(item)) => {
                if std::env::var_os("SOAK_DEBUG").is_some() && !matches!(item, Item::Event(_)) {
                    eprintln!("after the run: {item:?}");
                }
                consume(&ledger, &delivery, item)
            }
            _ => {
                // The stream is quiet: what was published and never came must be inside a
                // reported gap or loss, as a skipped number is.
                let mut l = ledger.lock().unwrap();
                let topics: Vec<String> = l.published.keys().cloned().collect();
                for topic in topics {
                    let expected = l.expected.get(&topic).copied().unwrap_or(0);
                    let never: Vec<(u64, DateTime<Utc>)> = l
                        .published
                        .get_mut(&topic)
                        .map(|q| q.drain(..).filter(|(m, _)| *m >= expected).collect())
                        .unwrap_or_default();
                    for (m, at) in never {
                        let told = account_for(&mut l, at);
                        delivery.check(told, || {
                            format!("{topic}: {m} never came (stopped at {expected}, last published {last}), published at {at:?}, in no gap or loss")
                        });
                    }
                }
                break;
            }
        }
    }
    let stats = stream.stats();
    tokio::time::timeout(Duration::from_secs(20), stream.close()).await.ok();
    drop(listener);
    drop(client);

    // Cleanup: everything the client held is gone, within a bounded wait.
    let settled = async {
        loop {
            let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
            if tasks <= mock_tasks && mock.open_connections() == 0 && mock.channel_counts().1 == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), settled).await;
    let tasks = tokio::runtime::Handle::current().metrics().num_alive_tasks();
    cleanup.check(tasks <= mock_tasks, || format!("{tasks} tasks alive, {mock_tasks} with the mock alone"));
    cleanup.check(mock.open_connections() == 0, || format!("{} HTTP connections open", mock.open_connections()));
    cleanup.check(mock.channel_counts().1 == 0, || format!("{} notification sockets open", mock.channel_counts().1));
    cleanup.check(config.listener_count() == 0, || format!("{} configuration listeners", config.listener_count()));
    let _ = tasks_before;

    let baseline = rss_after_warm_up.unwrap_or(rss_before_end);
    memory.check(rss_before_end as f64 <= baseline as f64 * 1.10, || {
        format!("resident set {rss_before_end} kB at the end, {baseline} kB after warm-up")
    });

    println!(
        "soak: {:?}, seed {seed}: {} calls, {faults} faults, {} rounds of {} events published, {items} items ({connection_items} connection changes), stream {stats:?}, resident set {baseline} -> {rss_before_end} kB",
        length,
        calls_made.load(Ordering::Relaxed),
        rounds,
        USERS.len()
    );
    let mut failed_total = 0;
    let mut passed_total = 0;
    for (name, tally) in
        [("deadline", &*deadline), ("delivery", &*delivery), ("cleanup", &cleanup), ("memory", &memory)]
    {
        let (p, f) = (tally.passed.load(Ordering::Relaxed), tally.failed.load(Ordering::Relaxed));
        passed_total += p;
        failed_total += f;
        println!("{name}: {p} passed, {f} failed");
        if let Some(why) = tally.first_failure.lock().unwrap().as_ref() {
            println!("  first failure: {why}");
        }
    }
    println!("{passed_total} passed, {failed_total} failed");
    failed_total > 0
}

/// Whether an event published at `at` that never came was told: inside a reported gap, or
/// one of the reported losses (which it then uses up).
fn account_for(l: &mut Ledger, at: DateTime<Utc>) -> bool {
    if l.gaps.iter().any(|(start, end)| *start <= at && at <= *end) {
        return true;
    }
    if l.lost_unmatched > 0 {
        l.lost_unmatched -= 1;
        return true;
    }
    false
}

/// Checks one item against the ledger: an event must be the next number of its topic, or
/// the numbers it skipped must fall inside a reported gap or a reported loss.
fn consume(ledger: &Mutex<Ledger>, delivery: &Tally, item: Item) {
    let mut l = ledger.lock().unwrap();
    match item {
        Item::Event(e) => {
            let Some(n) = number(&e.payload) else { return };
            let expected = l.expected.get(&e.topic).copied().unwrap_or(0);
            if n < expected {
                if std::env::var_os("SOAK_DEBUG").is_some() {
                    eprintln!("{:?} LATE {} {n} after {}", Utc::now(), e.topic, expected - 1);
                }
                delivery
                    .check(false, || format!("{}: {n} after {} (a duplicate or out of order)", e.topic, expected - 1));
                return;
            }
            // Every number skipped was lost: inside a gap, or one of the reported losses.
            let skipped: Vec<(u64, DateTime<Utc>)> = {
                let queue = l.published.entry(e.topic.clone()).or_default();
                let mut skipped = Vec::new();
                while let Some(&(m, at)) = queue.front() {
                    if m > n {
                        break;
                    }
                    queue.pop_front();
                    if m < n && m >= expected {
                        skipped.push((m, at));
                    }
                }
                skipped
            };
            for (m, at) in skipped {
                let told = account_for(&mut l, at);
                if !told && std::env::var_os("SOAK_DEBUG").is_some() {
                    eprintln!("{:?} MISSING {} {m} published {at:?}; delivered {n}", Utc::now(), e.topic);
                }
                delivery.check(told, || format!("{}: {m} missing, published at {at:?}, in no gap or loss", e.topic));
            }
            delivery.check(true, String::new);
            l.expected.insert(e.topic.clone(), n + 1);
        }
        Item::Connection(ConnectionEvent::Gap { start, end }) if std::env::var_os("SOAK_DEBUG").is_some() => {
            eprintln!("{:?} gap {start:?}..{end:?}", Utc::now());
            l.gaps.push((start, end));
        }
        Item::Connection(ConnectionEvent::Gap { start, end }) => {
            l.gaps.push((start, end));
            // Only recent gaps can matter.
            if l.gaps.len() > 256 {
                l.gaps.remove(0);
            }
        }
        Item::Lost { count, from, to } => {
            if std::env::var_os("SOAK_DEBUG").is_some() {
                eprintln!("{:?} lost {count} {from:?}..{to:?}", Utc::now());
            }
            l.lost_unmatched += count
        }
        other => {
            if std::env::var_os("SOAK_DEBUG").is_some() {
                eprintln!("{:?} {other:?}", Utc::now());
            }
        }
    }
}
