//! The fleet's bench: 8 worker processes on one OAuth client against the mock, which limits
//! each token to 80 requests in 4 s and the client to 120 in 4 s across its tokens (the
//! platform's 300 and 3,000 a minute, scaled down so a run takes about a minute). Three runs:
//!
//! 1. through the fleet (a pool of two tokens for the fleet): requests a minute against the
//!    client's budget, 429s, token requests;
//! 2. each worker alone (its own token): the 429s and token requests that makes;
//! 3. through the fleet with Redis killed for 10 s mid-run: the 429s while it was down, and how
//!    long after it came back the last worker was still pacing alone.
//!
//! `cargo run --release -p genesys-cloud-examples --example fleet_bench [-- --seconds S]`
//! (S: each run's length, default 20; the third runs S + 10). It starts its own
//! `redis-server` on a free port and prints a Markdown table.

use genesys_cloud::fleet::Fleet;
use genesys_cloud::Client;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WORKERS: usize = 8;
const WINDOW: Duration = Duration::from_secs(4);
const TOKEN_BUDGET: u32 = 80;
const CLIENT_BUDGET: u32 = 120;
/// Calls each worker keeps in flight.
const IN_FLIGHT: usize = 4;

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--worker") {
        return worker(&args[1..]).await;
    }
    let seconds: u64 = match args.iter().position(|a| a == "--seconds") {
        Some(i) => args.get(i + 1).ok_or("--seconds needs a value")?.parse()?,
        None => 20,
    };
    let mut redis = Redis::start()?;
    println!("| run | requests a minute | of the client's budget | 429s | token requests | |");
    println!("|---|---:|---:|---:|---:|---|");
    let budget_per_minute = CLIENT_BUDGET as f64 * 60.0 / WINDOW.as_secs_f64();
    for run in ["fleet", "alone", "outage"] {
        let mock = MockServer::start_with(
            MockOptions::default().rate_limit(TOKEN_BUDGET, WINDOW).client_rate_limit(CLIENT_BUDGET, WINDOW),
        )
        .await?;
        let length = if run == "outage" { seconds + 10 } else { seconds };
        let started = Instant::now();
        let children: Vec<Child> = (0..WORKERS)
            .map(|_| {
                Command::new(std::env::current_exe()?)
                    .args(["--worker", &mock.base_url(), &redis.url(), &length.to_string()])
                    .arg(if run == "alone" { "alone" } else { "fleet" })
                    .stdout(Stdio::piped())
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        let mut note = String::new();
        if run == "outage" {
            // Down from a third of the run for 10 s.
            tokio::time::sleep(Duration::from_secs(length / 3)).await;
            let before = mock.rate_limited();
            redis.kill();
            tokio::time::sleep(Duration::from_secs(10)).await;
            let during = mock.rate_limited() - before;
            redis.restart()?;
            note = format!("Redis down 10 s: {during} 429s meanwhile; back at {}", unix_ms());
        }
        let mut last_alone = 0u64;
        for child in children {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
            let line = String::from_utf8_lossy(&out.stdout).into_owned();
            if std::env::var_os("FLEET_BENCH_VERBOSE").is_some() {
                eprintln!("{run}: {}", line.trim());
            }
            // `last-fallback MS`
            let ms = line.split_whitespace().skip_while(|w| *w != "last-fallback").nth(1);
            last_alone = last_alone.max(ms.and_then(|m| m.parse().ok()).unwrap_or(0));
        }
        let elapsed = started.elapsed().as_secs_f64();
        if let Some(back) = note.rsplit(' ').next().and_then(|b| b.parse::<u64>().ok()) {
            let after = match last_alone.checked_sub(back) {
                Some(ms) if ms > 0 => format!("the last worker paced alone until {ms} ms after it was back"),
                _ => "no worker paced alone once it was back".to_owned(),
            };
            note = note.replace(&format!("back at {back}"), &after);
        }
        let per_minute = mock.rate_counted() as f64 * 60.0 / elapsed;
        println!(
            "| {run} | {per_minute:.0} | {:.2} | {} | {} | {note} |",
            per_minute / budget_per_minute,
            mock.rate_limited(),
            mock.token_requests()
        );
    }
    redis.kill();
    Ok(())
}

/// One worker: `IN_FLIGHT` calls at a time for the run's length, through the fleet or alone;
/// prints when it last paced alone because Redis failed (Unix ms).
async fn worker(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let [mock, redis, seconds, mode] = args else { return Err("--worker MOCK REDIS SECONDS MODE".into()) };
    let mut builder = Client::builder().base_url(mock).client_credentials("bench", "bench-secret");
    if mode == "fleet" {
        let run = mock.rsplit(':').next().unwrap_or_default();
        let fleet =
            Fleet::redis(redis)?.with_namespace(format!("bench-{run}")).with_client_budget(CLIENT_BUDGET, WINDOW);
        // The fleet's pool of two tokens: 160 requests in 4 s, more than the client's 120.
        builder = builder.token_pool(2).fleet(&fleet);
    }
    let client = builder.build()?;
    let until = Instant::now() + Duration::from_secs(seconds.parse()?);
    let last_fallback = Arc::new(AtomicU64::new(0));
    let watch = {
        let (client, last) = (client.clone(), last_fallback.clone());
        tokio::spawn(async move {
            let mut seen = 0;
            while Instant::now() < until {
                let now = client.pace_stats().fleet.map_or(0, |f| f.fallbacks);
                if now > seen {
                    seen = now;
                    last.store(unix_ms(), Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let lanes = (0..IN_FLIGHT).map(|_| {
        let client = client.clone();
        async move {
            while Instant::now() < until {
                let _ = client.users().get_users_me().send().await;
            }
        }
    });
    genesys_cloud::futures::future::join_all(lanes).await;
    watch.await?;
    println!("last-fallback {} {:?}", last_fallback.load(Ordering::Relaxed), client.pace_stats().fleet);
    Ok(())
}

/// A `redis-server` of the bench's own, on a free loopback port.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start() -> std::io::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut redis = Self { port, child: None };
        redis.restart()?;
        Ok(redis)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn restart(&mut self) -> std::io::Result<()> {
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()?;
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(std::io::Error::other("redis-server did not start"))
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
