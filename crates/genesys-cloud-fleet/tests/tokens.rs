//! The fleet's token over a real `redis-server` (Debian's package; `.ci/run` installs it),
//! started on a free loopback port for each test and killed by its PID, against the mock over
//! real sockets. Each client has a fleet of its own (its own Redis connection), as separate
//! processes would.

use genesys_cloud::fleet::Fleet;
use genesys_cloud::Client;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

mod common;
use common::{namespace, Redis};

fn client(mock: &MockServer, fleet: &Fleet) -> Client {
    common::client_at(&mock.base_url(), fleet)
}

/// `calls` concurrent `users/me` calls on each client; every one succeeds.
async fn round(clients: &[Client], calls: usize) {
    let all = clients.iter().flat_map(|c| (0..calls).map(move |_| c.users().get_users_me().send()));
    for outcome in futures_util::future::join_all(all).await {
        outcome.unwrap();
    }
}

/// Eight clients share one token: one token request for all of them, however many calls race
/// for it. When the platform rejects the token (every call gets 401), one more token request
/// serves the whole fleet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_share_one_token_and_a_401_mints_once_for_all() {
    let redis = Redis::start().await;
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let ns = namespace("share");
    let fleets: Vec<Fleet> = (0..8).map(|_| Fleet::redis(&redis.url()).unwrap().with_namespace(&ns)).collect();
    let clients: Vec<Client> = fleets.iter().map(|f| client(&mock, f)).collect();
    round(&clients, 10).await;
    let stats: Vec<_> = fleets.iter().map(Fleet::stats).collect();
    assert_eq!(mock.token_requests(), 1, "one token request for eight clients: {stats:?}");
    mock.expire_tokens();
    round(&clients, 10).await;
    assert_eq!(mock.token_requests(), 2, "the rejected token was minted again once for the fleet");
    assert!(fleets.iter().all(|f| f.stats().failed == 0), "Redis answered every call");
    // Without the fleet, each client mints its own.
    let alone: Vec<Client> = (0..4)
        .map(|_| Client::builder().base_url(&mock.base_url()).client_credentials("alone", "secret").build().unwrap())
        .collect();
    round(&alone, 2).await;
    assert_eq!(mock.token_requests(), 6);
}

/// Redis killed mid-run: calls go on, each client minting alone (the fallbacks are counted);
/// Redis back: the fleet shares one token again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_never_stops_a_call() {
    let mut redis = Redis::start().await;
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let ns = namespace("outage");
    let fleets: Vec<Fleet> = (0..4).map(|_| Fleet::redis(&redis.url()).unwrap().with_namespace(&ns)).collect();
    let clients: Vec<Client> = fleets.iter().map(|f| client(&mock, f)).collect();
    round(&clients, 5).await;
    assert_eq!(mock.token_requests(), 1);

    redis.kill();
    mock.expire_tokens();
    round(&clients, 5).await;
    assert_eq!(mock.token_requests(), 5, "each of the four minted alone while Redis was down");
    let failed: u64 = fleets.iter().map(|f| f.stats().failed).sum();
    assert!(failed >= 4, "every client's store call failed: {failed}");

    redis.restart().await;
    // The connection is tried again a second after it failed.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    mock.expire_tokens();
    round(&clients, 5).await;
    assert_eq!(mock.token_requests(), 6, "back on Redis, one token request for the fleet");
}

/// A token pool of three is the fleet's pool: three token requests for the fleet, not three
/// per client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_pool_is_the_fleets() {
    let redis = Redis::start().await;
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let ns = namespace("pool");
    let clients: Vec<Client> = (0..4)
        .map(|_| {
            let fleet = Fleet::redis(&redis.url()).unwrap().with_namespace(&ns);
            Client::builder()
                .base_url(&mock.base_url())
                .client_credentials("pool-client", "pool-secret")
                .token_pool(3)
                .fleet(&fleet)
                .build()
                .unwrap()
        })
        .collect();
    round(&clients, 12).await;
    assert_eq!(mock.token_requests(), 3);
}

/// A URL that is not Redis's is an error at once; a Redis that is not there is not (the
/// first refresh falls back).
#[tokio::test]
async fn a_bad_url_fails_at_once_and_a_missing_redis_later_falls_back() {
    assert!(Fleet::redis("not a url").is_err());
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let fleet = Fleet::redis(&format!("redis://127.0.0.1:{port}/")).unwrap();
    let c = client(&mock, &fleet);
    c.users().get_users_me().send().await.unwrap();
    assert_eq!(mock.token_requests(), 1);
    assert!(fleet.stats().failed >= 1);
    assert!(!format!("{fleet:?}").contains("secret"));
}

/// Eight processes (this test binary, started again to run [`fleet_worker`]) share one
/// client's token and budget: one token request for all of them, and 160 calls through a
/// client budget of 40 a second (the fleet keeps to 36) with no 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_share_one_token_and_the_clients_budget() {
    let redis = Redis::start().await;
    let limits =
        MockOptions::default().rate_limit(40, Duration::from_secs(1)).client_rate_limit(40, Duration::from_secs(1));
    let mock = MockServer::start_with(limits).await.unwrap();
    let ns = namespace("processes");
    let me = std::env::current_exe().unwrap();
    let workers: Vec<Child> = (0..8)
        .map(|_| {
            Command::new(&me)
                .args(["--exact", "fleet_worker", "--ignored", "--test-threads", "1", "--quiet"])
                .env("FLEET_WORKER_REDIS", redis.url())
                .env("FLEET_WORKER_MOCK", mock.base_url())
                .env("FLEET_WORKER_NAMESPACE", &ns)
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for worker in workers {
        let out = tokio::task::spawn_blocking(move || worker.wait_with_output()).await.unwrap().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "a worker failed: {text}");
        assert!(text.contains("1 passed"), "the worker ran: {text}");
    }
    assert_eq!(mock.token_requests(), 1, "one token request for eight processes");
    assert_eq!(mock.rate_counted(), 160);
    assert_eq!(mock.rate_limited(), 0, "no 429: the fleet's turns kept the eight under the budget");
}

/// One worker process of [`eight_processes_share_one_token_and_the_clients_budget`]: 20
/// calls through a client of the fleet. Ignored in a normal run; started with `--ignored` by
/// that test.
#[tokio::test]
#[ignore = "a worker process of eight_processes_share_one_token_and_the_clients_budget"]
async fn fleet_worker() {
    let var =
        |name: &str| std::env::var(name).expect("started by eight_processes_share_one_token_and_the_clients_budget");
    let fleet = Fleet::redis(&var("FLEET_WORKER_REDIS"))
        .unwrap()
        .with_namespace(var("FLEET_WORKER_NAMESPACE"))
        .with_client_budget(36, Duration::from_secs(1));
    let client = common::client_at(&var("FLEET_WORKER_MOCK"), &fleet);
    let calls = (0..20).map(|_| client.users().get_users_me().send());
    for outcome in futures_util::future::join_all(calls).await {
        outcome.unwrap();
    }
    assert_eq!(fleet.stats().failed, 0);
    assert_eq!(client.pace_stats().fleet.unwrap().fallbacks, 0);
}

/// A process that died holding the right to mint (its lock is there, its token never comes)
/// keeps the others waiting only until the lock lapses; then one of them mints for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_left_by_a_dead_process_lapses() {
    let redis = Redis::start().await;
    let mock = MockServer::start_with(MockOptions::default()).await.unwrap();
    let ns = namespace("dead-holder");
    // The key the transport uses: the namespace, the login host, the client id, token 0.
    let login = mock.base_url().replace("http://", "");
    let lock = format!("genesys:{ns}:{login}:fleet-client:token:0:lock");
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let taken: Option<String> = redis::cmd("SET")
        .arg(&lock)
        .arg("a-dead-process")
        .arg("NX")
        .arg("PX")
        .arg(1500)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(taken.is_some());
    let fleets: Vec<Fleet> = (0..4).map(|_| Fleet::redis(&redis.url()).unwrap().with_namespace(&ns)).collect();
    let clients: Vec<Client> = fleets.iter().map(|f| client(&mock, f)).collect();
    round(&clients, 3).await;
    assert_eq!(mock.token_requests(), 1, "one of them minted once the lock lapsed");
    let left: Option<String> = redis::cmd("GET").arg(&lock).query_async(&mut connection).await.unwrap();
    assert_eq!(left, None, "the minter gave its lock up");
}

/// Four processes on one OAuth client whose budget (15 a second across its tokens) is the
/// fleet's: alone, each spends the whole budget and the platform refuses the rest; through the
/// fleet (kept at 13 a second, room for an attempt that reaches the server late on a busy
/// machine), the turns are handed out in order and nothing is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_keeps_four_processes_under_the_clients_budget() {
    let redis = Redis::start().await;
    let limits =
        || MockOptions::default().rate_limit(15, Duration::from_secs(1)).client_rate_limit(15, Duration::from_secs(1));
    // Alone: every process's first calls go out at once, and the client's budget refuses
    // what is past it.
    let mock = MockServer::start_with(limits()).await.unwrap();
    let alone: Vec<Client> = (0..4)
        .map(|_| Client::builder().base_url(&mock.base_url()).client_credentials("budget", "secret").build().unwrap())
        .collect();
    round(&alone, 15).await;
    let refused_alone = mock.rate_limited_by_client();
    assert!(refused_alone > 0, "without the fleet the client's budget refused calls");

    let mock = MockServer::start_with(limits()).await.unwrap();
    let ns = namespace("budget");
    let fleets: Vec<Fleet> = (0..4)
        .map(|_| Fleet::redis(&redis.url()).unwrap().with_namespace(&ns).with_client_budget(13, Duration::from_secs(1)))
        .collect();
    let clients: Vec<Client> = fleets.iter().map(|f| client(&mock, f)).collect();
    round(&clients, 15).await;
    assert_eq!(mock.rate_limited(), 0, "no 429 through the fleet (alone: {refused_alone})");
    assert_eq!(mock.rate_counted(), 60);
    let stats: Vec<_> = clients.iter().map(|c| c.pace_stats().fleet.unwrap()).collect();
    assert_eq!(stats.iter().map(|s| s.turns).sum::<u64>(), 60, "{stats:?}");
    assert!(stats.iter().map(|s| s.waited).sum::<u64>() >= 47, "four seconds' worth waited: {stats:?}");
    assert_eq!(stats.iter().map(|s| s.fallbacks).sum::<u64>(), 0);
}

/// The governor with Redis down: every call still succeeds (each process paces alone and the
/// retry layer waits out what the platform refuses), the fallbacks are counted; with Redis back
/// the fleet's turns keep it under the budget again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_governor_fails_open_and_rejoins() {
    let mut redis = Redis::start().await;
    let limits =
        MockOptions::default().rate_limit(15, Duration::from_secs(1)).client_rate_limit(15, Duration::from_secs(1));
    let mock = MockServer::start_with(limits).await.unwrap();
    let ns = namespace("governor-outage");
    let fleets: Vec<Fleet> = (0..4)
        .map(|_| Fleet::redis(&redis.url()).unwrap().with_namespace(&ns).with_client_budget(13, Duration::from_secs(1)))
        .collect();
    let clients: Vec<Client> = fleets.iter().map(|f| client(&mock, f)).collect();
    round(&clients, 5).await;
    assert_eq!(mock.rate_limited(), 0);

    redis.kill();
    round(&clients, 10).await;
    let fallbacks: u64 = clients.iter().map(|c| c.pace_stats().fleet.unwrap().fallbacks).sum();
    assert!(fallbacks >= 40, "every attempt while Redis was down went on alone: {fallbacks}");

    redis.restart().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // The platform's window of the outage's last calls turns within a second.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let refused = mock.rate_limited();
    let before: Vec<_> = clients.iter().map(|c| c.pace_stats().fleet.unwrap()).collect();
    round(&clients, 10).await;
    let after: Vec<_> = clients.iter().map(|c| c.pace_stats().fleet.unwrap()).collect();
    assert_eq!(mock.rate_limited(), refused, "back on Redis, nothing more refused: {before:?} {after:?}");
}

/// The export of [`an_exporter_killed_mid_export_resumes`]: its query and its jobs handle.
fn exporter(
    mock_url: &str,
    redis_url: &str,
    ns: &str,
) -> genesys_cloud::jobs::Jobs<
    genesys_cloud::models::AsyncConversationQuery,
    genesys_cloud::models::AnalyticsConversation,
> {
    use genesys_cloud::jobs::{families, JobOptions};
    let fleet = Fleet::redis(redis_url).unwrap().with_namespace(ns);
    let client =
        Client::builder().base_url(mock_url).client_credentials("exporter", "secret").fleet(&fleet).build().unwrap();
    client
        .jobs(families::CONVERSATIONS_DETAILS)
        .options(JobOptions::default().poll(Duration::from_millis(20), Duration::from_millis(100)).page_size(100))
        .checkpointed(fleet.checkpoint_store(), ns)
        .lease(Duration::from_secs(1))
}

fn export_query() -> genesys_cloud::models::AsyncConversationQuery {
    genesys_cloud::models::AsyncConversationQuery::default().interval("2026-11-01T00:00:00Z/2026-11-02T00:00:00Z")
}

/// An exporter process killed (SIGKILL) part-way: another resumes the same job from the last
/// page the first read whole, once the dead one's lease lapses; nothing is lost, the job is
/// submitted once, and at most the page being read when it died comes twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exporter_killed_mid_export_resumes() {
    use std::io::BufRead as _;
    let redis = Redis::start().await;
    let mock = MockServer::start_with(MockOptions::default().job_delay(Duration::from_millis(200)).job_items(600))
        .await
        .unwrap();
    let ns = namespace("export");
    let mut worker = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "export_worker", "--ignored", "--test-threads", "1", "--nocapture", "--quiet"])
        .env("EXPORT_WORKER_REDIS", redis.url())
        .env("EXPORT_WORKER_MOCK", mock.base_url())
        .env("EXPORT_WORKER_NAMESPACE", &ns)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = worker.stdout.take().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        let mut ids = Vec::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if line == "read 250" {
                break;
            }
            if let Some(id) = line.strip_prefix("id ") {
                ids.push(id.to_owned());
            }
        }
        ids
    })
    .await
    .unwrap();
    assert_eq!(seen.len(), 250);
    worker.kill().unwrap(); // SIGKILL: no drop, no lease given up
    worker.wait().unwrap();

    let jobs = exporter(&mock.base_url(), &redis.url(), &ns);
    // The dead exporter's lease lapses within a second.
    let mut resumed = None;
    for _ in 0..100 {
        match jobs.export(&export_query()).await {
            Ok(listing) => {
                resumed = Some(listing);
                break;
            }
            Err(e) if e.kind() == genesys_cloud::ErrorKind::Leased => {
                tokio::time::sleep(Duration::from_millis(50)).await
            }
            Err(e) => panic!("{e}"),
        }
    }
    use genesys_cloud::prelude::*;
    let rest: Vec<_> = resumed.expect("the lease lapsed").try_collect().await.unwrap();
    assert_eq!(mock.job_counts().0, 1, "the job was submitted once");
    assert_eq!(rest.len(), 400, "from the third page: the half-read one again");
    let mut all: Vec<String> = seen;
    all.extend(rest.iter().map(|c| c.conversation_id.clone().unwrap()));
    let unique: std::collections::BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 600, "nothing lost");
    assert_eq!(all.len() - unique.len(), 50, "the page read when it died, once more");
}

/// The exporter process of [`an_exporter_killed_mid_export_resumes`]: prints the ids it reads
/// and, after 250, `read 250`, then waits to be killed.
#[tokio::test]
#[ignore = "an exporter process of an_exporter_killed_mid_export_resumes"]
async fn export_worker() {
    let var = |name: &str| std::env::var(name).expect("started by an_exporter_killed_mid_export_resumes");
    let jobs = exporter(&var("EXPORT_WORKER_MOCK"), &var("EXPORT_WORKER_REDIS"), &var("EXPORT_WORKER_NAMESPACE"));
    let mut listing = jobs.export(&export_query()).await.unwrap();
    for _ in 0..250 {
        let conversation = listing.try_next().await.unwrap().unwrap();
        println!("id {}", conversation.conversation_id.unwrap());
    }
    println!("read 250");
    tokio::time::sleep(Duration::from_secs(3600)).await;
}
