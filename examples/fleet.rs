//! A fleet of worker processes on one OAuth client, sharing its token and its rate budgets on
//! Redis: each worker provisions users and exports conversations against the mock, whose
//! per-client limit is below what the workers would send alone. One summary line.
//!
//! ```sh
//! redis-server --port 6390 &
//! cargo run -p genesys-cloud-examples --example fleet -- --workers 4
//! ```
//!
//! Options: `--workers N` (default 4), `--redis URL` (default `redis://127.0.0.1:6390/`),
//! `--users K` per worker (default 10), `--alone` (each worker on its own, no Redis: the 429s
//! and token requests that makes). The parent starts the mock, then `N` copies of this
//! program as workers (`--worker`), and reads what the mock counted.

use genesys_cloud::fleet::Fleet;
use genesys_cloud::models::CreateUser;
use genesys_cloud::Client;
use genesys_cloud_examples::export;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The OAuth client every worker uses.
const CLIENT_ID: &str = "fleet-example";

/// The mock's limits: each token 40 requests a second, the client 60 a second across its
/// tokens (scaled down from the platform's 300 and 3,000 a minute so a run takes seconds).
/// Each worker has a pool of two tokens: the fleet's two in all, or two of its own alone, so
/// the client's budget is below what the tokens would allow.
const TOKEN_BUDGET: u32 = 40;
const CLIENT_BUDGET: u32 = 60;

/// The budget the fleet keeps the client under: a little below the platform's, so an attempt
/// that reaches the server late (a busy machine) still finds room.
const FLEET_BUDGET: u32 = 54;

struct Args {
    workers: usize,
    redis: String,
    users: usize,
    alone: bool,
    /// Worker mode: the mock's URL and this worker's number.
    worker: Option<(String, usize)>,
}

fn args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut args =
        Args { workers: 4, redis: "redis://127.0.0.1:6390/".to_owned(), users: 10, alone: false, worker: None };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--workers" => args.workers = value()?.parse()?,
            "--redis" => args.redis = value()?,
            "--users" => args.users = value()?.parse()?,
            "--alone" => args.alone = true,
            "--worker" => {
                let mock = value()?;
                let n = value()?.parse()?;
                args.worker = Some((mock, n));
            }
            other => return Err(format!("unknown option {other}").into()),
        }
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    match &args.worker {
        Some((mock, n)) => worker(&args, mock, *n).await,
        None => parent(&args).await,
    }
}

/// Starts the mock and the workers, waits for them, and prints what the mock counted.
async fn parent(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let options = MockOptions::default()
        .rate_limit(TOKEN_BUDGET, Duration::from_secs(1))
        .client_rate_limit(CLIENT_BUDGET, Duration::from_secs(1))
        .job_delay(Duration::from_millis(300))
        .job_items(200);
    let mock = MockServer::start_with(options).await?;
    let started = Instant::now();
    let me = std::env::current_exe()?;
    let mut children = Vec::new();
    for n in 0..args.workers {
        let mut command = Command::new(&me);
        command.args(["--worker", &mock.base_url(), &n.to_string(), "--redis", &args.redis]);
        command.args(["--users", &args.users.to_string()]);
        if args.alone {
            command.arg("--alone");
        }
        children.push(command.stdout(Stdio::piped()).spawn()?);
    }
    let mut users = 0;
    let mut conversations = 0;
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await??;
        let line = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!("a worker failed: {line}").into());
        }
        // `users N conversations M`
        let numbers: Vec<usize> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
        users += numbers.first().copied().unwrap_or(0);
        conversations += numbers.get(1).copied().unwrap_or(0);
    }
    println!(
        "{} {} workers: {users} users and {conversations} conversations in {:.1} s; token requests {}, 429s {} ({} by the client's budget)",
        if args.alone { "alone," } else { "fleet of" },
        args.workers,
        started.elapsed().as_secs_f64(),
        mock.token_requests(),
        mock.rate_limited(),
        mock.rate_limited_by_client(),
    );
    Ok(())
}

/// One worker: a client on the fleet (or alone), `users` users provisioned, one export.
async fn worker(args: &Args, mock: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut builder =
        Client::builder().base_url(mock).client_credentials(CLIENT_ID, "fleet-example-secret").token_pool(2);
    if !args.alone {
        // The workers of one run share the mock's port as their namespace.
        let run = mock.rsplit(':').next().unwrap_or_default();
        let fleet = Fleet::redis(&args.redis)?
            .with_namespace(format!("example-{run}"))
            .with_client_budget(FLEET_BUDGET, Duration::from_secs(1));
        builder = builder.fleet(&fleet);
    }
    let client = builder.build()?;
    let provisioned = (0..args.users).map(|i| {
        let body = CreateUser::default()
            .name(format!("Worker {n} user {i}"))
            .email(format!("worker{n}.user{i}@example.com"))
            .division_id("home");
        client.users().post_users(body).send()
    });
    let mut users = 0;
    for outcome in genesys_cloud::futures::future::join_all(provisioned).await {
        outcome?;
        users += 1;
    }
    let interval = format!("2026-11-{:02}T00:00:00Z/2026-11-{:02}T00:00:00Z", n % 28 + 1, n % 28 + 2);
    let exported = export::conversations(&client, &[interval], 50, &mut std::io::sink(), |_, _| {}).await?;
    println!("users {users} conversations {}", exported.conversations);
    Ok(())
}
