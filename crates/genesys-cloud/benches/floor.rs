//! The SDK against the floor: a bare hyper-util client plus hand-written serde structs doing
//! the same work on loopback, in the same run, reported as ratios.
//!
//! `cargo bench -p genesys-cloud --bench floor` prints a Markdown table (BENCHMARKS.md holds
//! the figures). `-- --quick` runs fewer pairs; `-- --workers N` runs the HTTP figures on N
//! runtime workers instead of one; `-- --profile WHICH N` makes only N sequential calls of one
//! side, for a profiler: `sdk`, `layered` (with a call and an attempt layer), `floor`
//! (users/me), `stack`, `bare` (users/me as bytes), `ab` (41 rounds of N calls each of the
//! SDK, the layered SDK and the floor, in turn, their medians printed),
//! `pages-sdk`, `pages-floor` (one page of 25 queues), `decode-sdk`, `decode-floor` (the
//! users/me body decoded, no HTTP).
//!
//! The floor's structs have the same shape as the generated models (every field, the same
//! field types, nested types inline) but plain `#[derive(Deserialize)]`, closed enums and no
//! explicit-null tracking: what the SDK's own machinery costs is the difference.
//!
//! - sequential GET `users/me` (3 KB) into `User`;
//! - the same with 32 calls in flight;
//! - decoding a 30 MB analytics conversation-details response (10,000 conversations);
//! - listing 1,000 queues over 40 pages with the paginator vs a hand-written page loop;
//! - the peak RSS of the 30 MB decode, each in a fresh child process.
//!
//! For scale, the decode and its RSS are also shown against structs that have only the fields
//! the data carries (no target: that is the price of complete models, which every SDK pays).
//!
//! The HTTP figures alternate SDK and floor in short adjacent blocks and report the median of
//! the pairs' ratios; the decode alternates which side goes first the same way. By default
//! the clients and the server share one runtime worker: with two, each side's figure also
//! depends on which worker the scheduler puts its connection's server task on, which moved
//! single runs by ±30 % on this machine. The last line of a run names the CPU and says how
//! busy the machine was.

use bytes::Bytes;
use futures_util::TryStreamExt;
use genesys_cloud::Client;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client as Bare;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The floor: plain serde structs of the same shape as the generated models (generated from
/// the spec by `cargo xtask codegen`; see `xtask/src/floor.rs`).
#[path = "floor/models.rs"]
mod shape;

mod minimal {
    //! For scale only: hand-written structs with just the fields the conversation data carries
    //! (what a client that needs nothing else might write). Fields are decoded, not read.
    #![allow(dead_code)]
    use chrono::{DateTime, Utc};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Direction {
        Inbound,
        Outbound,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Purpose {
        Customer,
        Acd,
        Agent,
        Ivr,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum MediaType {
        Voice,
        Chat,
        Email,
        Message,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub enum SegmentType {
        Alert,
        Dialing,
        Hold,
        Interact,
        System,
        Wrapup,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub enum DisconnectType {
        Client,
        Endpoint,
        Peer,
        System,
        Transfer,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Segment {
        pub segment_start: Option<DateTime<Utc>>,
        pub segment_end: Option<DateTime<Utc>>,
        pub segment_type: Option<SegmentType>,
        pub queue_id: Option<String>,
        pub disconnect_type: Option<DisconnectType>,
        pub conference: Option<bool>,
        pub wrap_up_code: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Metric {
        pub name: Option<String>,
        pub value: Option<i64>,
        pub emit_date: Option<DateTime<Utc>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Session {
        pub session_id: Option<String>,
        pub media_type: Option<MediaType>,
        pub direction: Option<Direction>,
        pub ani: Option<String>,
        pub dnis: Option<String>,
        pub edge_id: Option<String>,
        pub remote: Option<String>,
        pub provider: Option<String>,
        pub peer_id: Option<String>,
        pub segments: Option<Vec<Segment>>,
        pub metrics: Option<Vec<Metric>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Participant {
        pub participant_id: Option<String>,
        pub participant_name: Option<String>,
        pub purpose: Option<Purpose>,
        pub user_id: Option<String>,
        pub sessions: Option<Vec<Session>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Conversation {
        pub conversation_id: Option<String>,
        pub conversation_start: Option<DateTime<Utc>>,
        pub conversation_end: Option<DateTime<Utc>>,
        pub division_ids: Option<Vec<String>>,
        pub media_stats_min_conversation_mos: Option<f64>,
        pub originating_direction: Option<Direction>,
        pub external_tag: Option<String>,
        pub participants: Option<Vec<Participant>>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct ConversationQueryResponse {
        pub conversations: Option<Vec<Conversation>>,
        pub total_hits: Option<i64>,
    }
}

// ---------------------------------------------------------------------------------------------
// Data: deterministic, realistic bodies.

fn uuid(kind: u32, i: usize) -> String {
    format!("{kind:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}", (i >> 16) & 0xffff, i & 0xfff, (i >> 4) & 0xfff, i * 7919)
}

fn user_json() -> String {
    let images: Vec<String> = ["x48", "x96", "x128", "x200", "x300", "x400", "x600", "x96_circle", "x128_circle", "x200_circle", "x300_circle", "original"]
        .iter()
        .map(|r| {
            format!(
                r#"{{"resolution":"{r}","imageUri":"https://prod-apse2-inin-directory-service-profile.s3.amazonaws.com/7f3a2b1c/4e5d/6f70/8192/a3b4c5d6e7f8.jpg?size={r}"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"id":"{id}","name":"Bench User","division":{{"id":"{div}","name":"Home","selfUri":"/api/v2/authorization/divisions/{div}"}},"chat":{{"jabberId":"5f0e1d2c3b4a59687766554433221100@example.orgspan.com"}},"department":"Customer Care","email":"bench.user@example.com","primaryContactInfo":[{{"address":"bench.user@example.com","mediaType":"EMAIL","type":"PRIMARY"}},{{"address":"+15550100","display":"+1 555-0100","mediaType":"PHONE","type":"PRIMARY"}}],"addresses":[{{"address":"+15550100","display":"+1 555-0100","mediaType":"PHONE","type":"WORK"}},{{"address":"+15550199","display":"+1 555-0199","mediaType":"PHONE","type":"MOBILE","extension":"199"}}],"state":"active","title":"Senior Agent","username":"bench.user@example.com","manager":{{"id":"{mgr}","selfUri":"/api/v2/users/{mgr}"}},"images":[{images}],"version":42,"employerInfo":{{"officialName":"Bench User","employeeId":"E-100042","employeeType":"Full-time","dateHire":"2021-03-15"}},"acdAutoAnswer":false,"selfUri":"/api/v2/users/{id}"}}"#,
        id = uuid(1, 1),
        div = uuid(2, 1),
        mgr = uuid(3, 1),
        images = images.join(",")
    )
}

fn queue_json(i: usize) -> String {
    let id = uuid(4, i);
    let div = uuid(2, i % 5);
    format!(
        r#"{{"id":"{id}","name":"Queue {i:04}","division":{{"id":"{div}","name":"Division {d}","selfUri":"/api/v2/authorization/divisions/{div}"}},"description":"Inbound support queue number {i}","dateCreated":"2024-01-{day:02}T08:30:00.000Z","dateModified":"2026-10-{day:02}T17:45:12.345Z","modifiedBy":"{m}","createdBy":"{m}","memberCount":{mc},"userMemberCount":{mc},"joinedMemberCount":{jc},"mediaSettings":{{"call":{{"alertingTimeoutSeconds":8,"serviceLevel":{{"percentage":0.8,"durationMs":20000}},"enableAutoAnswer":false}},"chat":{{"alertingTimeoutSeconds":30,"serviceLevel":{{"percentage":0.8,"durationMs":20000}},"enableAutoAnswer":false}},"email":{{"alertingTimeoutSeconds":300,"serviceLevel":{{"percentage":0.8,"durationMs":86400000}},"enableAutoAnswer":false}},"message":{{"alertingTimeoutSeconds":30,"serviceLevel":{{"percentage":0.8,"durationMs":20000}},"enableAutoAnswer":false}}}},"acwSettings":{{"wrapupPrompt":"MANDATORY_TIMEOUT","timeoutMs":30000}},"skillEvaluationMethod":"BEST","autoAnswerOnly":false,"enableTranscription":true,"callingPartyName":"Support","selfUri":"/api/v2/routing/queues/{id}"}}"#,
        d = i % 5,
        day = 1 + i % 28,
        m = uuid(3, i % 17),
        mc = 10 + i % 40,
        jc = 5 + i % 20,
    )
}

const QUEUES: usize = 1000;
const PAGE_SIZE: usize = 25;
const PAGES: usize = QUEUES / PAGE_SIZE;

fn queue_page(page: usize) -> String {
    let entities: Vec<String> = ((page - 1) * PAGE_SIZE..page * PAGE_SIZE).map(queue_json).collect();
    let uri = |n: usize| format!("/api/v2/routing/queues?pageSize={PAGE_SIZE}&pageNumber={n}");
    let next = if page < PAGES { format!(r#","nextUri":"{}""#, uri(page + 1)) } else { String::new() };
    format!(
        r#"{{"entities":[{}],"pageSize":{PAGE_SIZE},"pageNumber":{page},"total":{QUEUES},"pageCount":{PAGES},"firstUri":"{}"{next},"lastUri":"{}","selfUri":"{}"}}"#,
        entities.join(","),
        uri(1),
        uri(PAGES),
        uri(page)
    )
}

fn ts(base_minute: usize, offset_s: usize) -> String {
    let total = base_minute * 60 + offset_s;
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + (total / 86400) % 28,
        (total / 3600) % 24,
        (total / 60) % 60,
        total % 60,
        (base_minute * 37) % 1000
    )
}

fn segment(start: &str, end: &str, kind: &str, queue: Option<&str>, disconnect: Option<&str>) -> String {
    let mut s = format!(r#"{{"segmentStart":"{start}","segmentEnd":"{end}","segmentType":"{kind}""#);
    if let Some(q) = queue {
        s.push_str(&format!(r#","queueId":"{q}""#));
    }
    if let Some(d) = disconnect {
        s.push_str(&format!(r#","disconnectType":"{d}""#));
    }
    s.push_str(r#","conference":false}"#);
    s
}

fn metric(name: &str, value: usize, at: &str) -> String {
    format!(r#"{{"name":"{name}","value":{value},"emitDate":"{at}"}}"#)
}

fn conversation_json(i: usize) -> String {
    let m = i * 3;
    let (t0, t1, t2, t3, t4) = (ts(m, 0), ts(m, 12), ts(m, 95), ts(m, 380), ts(m, 410));
    let queue = uuid(4, i % 1000);
    let agent = uuid(3, i % 300);
    let edge = uuid(5, i % 8);
    let customer = format!(
        r#"{{"participantId":"{}","participantName":"Caller {i}","purpose":"customer","sessions":[{{"sessionId":"{}","mediaType":"voice","direction":"inbound","ani":"tel:+1555{:07}","dnis":"tel:+18005550100","edgeId":"{edge}","provider":"Edge","segments":[{},{}],"metrics":[{},{},{}]}}]}}"#,
        uuid(6, i),
        uuid(7, i),
        i % 10_000_000,
        segment(&t0, &t1, "system", None, None),
        segment(&t1, &t4, "interact", None, Some("peer")),
        metric("nConnected", 1, &t1),
        metric("tConnected", 398000, &t4),
        metric("nOffered", 1, &t1)
    );
    let acd = format!(
        r#"{{"participantId":"{}","participantName":"Queue {}","purpose":"acd","sessions":[{{"sessionId":"{}","mediaType":"voice","direction":"inbound","ani":"tel:+1555{:07}","dnis":"tel:+18005550100","edgeId":"{edge}","provider":"Edge","remote":"Caller {i}","segments":[{}],"metrics":[{},{},{}]}}]}}"#,
        uuid(8, i),
        i % 1000,
        uuid(9, i),
        i % 10_000_000,
        segment(&t1, &t2, "interact", Some(&queue), Some("transfer")),
        metric("nOffered", 1, &t1),
        metric("tAcd", 83000, &t2),
        metric("tWait", 83000, &t2)
    );
    let agent_p = format!(
        r#"{{"participantId":"{}","participantName":"Agent {}","purpose":"agent","userId":"{agent}","sessions":[{{"sessionId":"{}","mediaType":"voice","direction":"inbound","ani":"tel:+1555{:07}","dnis":"tel:+18005550100","edgeId":"{edge}","provider":"Edge","remote":"Caller {i}","peerId":"{}","segments":[{},{},{}],"metrics":[{},{},{},{},{}]}}]}}"#,
        uuid(10, i),
        i % 300,
        uuid(11, i),
        i % 10_000_000,
        uuid(9, i),
        segment(&t2, &ts(m, 99), "alert", Some(&queue), None),
        segment(&ts(m, 99), &t3, "interact", Some(&queue), Some("client")),
        segment(&t3, &t4, "wrapup", Some(&queue), None),
        metric("tAlert", 4000, &ts(m, 99)),
        metric("tAnswered", 87000, &ts(m, 99)),
        metric("tTalk", 281000, &t3),
        metric("tHandle", 311000, &t4),
        metric("tAcw", 30000, &t4)
    );
    format!(
        r#"{{"conversationId":"{}","conversationStart":"{t0}","conversationEnd":"{t4}","divisionIds":["{}"],"mediaStatsMinConversationMos":4.{},"originatingDirection":"inbound","participants":[{customer},{acd},{agent_p}]}}"#,
        uuid(12, i),
        uuid(2, i % 5),
        30 + i % 60
    )
}

const CONVERSATIONS: usize = 10_000;

fn details_json() -> String {
    let mut out = String::with_capacity(32 << 20);
    out.push_str(r#"{"conversations":["#);
    for i in 0..CONVERSATIONS {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&conversation_json(i));
    }
    out.push_str(&format!(r#"],"totalHits":{CONVERSATIONS}}}"#));
    out
}

// ---------------------------------------------------------------------------------------------
// A fixed loopback server: prebuilt bodies by path and query.

/// The header names of the last request the server saw, to check that both sides send the
/// same request.
static LAST_HEADERS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

async fn server(routes: Arc<HashMap<String, Bytes>>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let mut names: Vec<String> = req.headers().keys().map(|k| k.as_str().to_owned()).collect();
                    names.sort();
                    *LAST_HEADERS.lock().unwrap() = names;
                    // Listings are keyed by page number, whatever the order of the query.
                    let key = match req.uri().path() {
                        "/api/v2/routing/queues" => {
                            let page = req
                                .uri()
                                .query()
                                .unwrap_or("")
                                .split('&')
                                .find_map(|kv| kv.strip_prefix("pageNumber="))
                                .unwrap_or("1")
                                .to_owned();
                            format!("queues:{page}")
                        }
                        path => path.to_owned(),
                    };
                    let body = routes.get(&key).cloned();
                    async move {
                        let mut r = match body {
                            Some(b) => Response::new(Full::new(b)),
                            None => {
                                let mut r =
                                    Response::new(Full::new(Bytes::from(format!(r#"{{"message":"no route {key}"}}"#))));
                                *r.status_mut() = hyper::StatusCode::NOT_FOUND;
                                r
                            }
                        };
                        r.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        r.headers_mut().insert("inin-correlation-id", "bench-correlation".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    addr
}

// ---------------------------------------------------------------------------------------------

struct Row {
    name: &'static str,
    unit: &'static str,
    floor: f64,
    sdk: f64,
    /// The median of paired ratios where the figure has pairs, else `sdk / floor`.
    ratio: f64,
    target: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Times `floor` and `sdk` in `pairs` adjacent blocks of `n` repetitions each (which goes
/// first alternates); returns the median time per repetition of each side, in microseconds,
/// and the median of the pairs' ratios. Short adjacent blocks see the same machine: a slow
/// spell (another tenant, a migration) lands in both halves of a pair, and the median drops
/// the pairs it split.
async fn alternate<F, FF, S, SF>(pairs: usize, n: usize, mut floor: F, mut sdk: S) -> (f64, f64, f64)
where
    F: FnMut() -> FF,
    FF: std::future::Future<Output = ()>,
    S: FnMut() -> SF,
    SF: std::future::Future<Output = ()>,
{
    let (mut fs, mut ss, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..pairs {
        let (mut f, mut s) = (0.0, 0.0);
        for side in 0..2 {
            let t = Instant::now();
            if (pair + side) % 2 == 0 {
                for _ in 0..n {
                    floor().await;
                }
                f = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            } else {
                for _ in 0..n {
                    sdk().await;
                }
                s = t.elapsed().as_secs_f64() * 1e6 / n as f64;
            }
        }
        fs.push(f);
        ss.push(s);
        rs.push(s / f);
    }
    (median(fs), median(ss), median(rs))
}

/// `floor` and `sdk` (each returning its own figure) in `rounds` pairs, which goes first
/// alternating, each round after `before`; returns the median of each side and the median of
/// the pairs' ratios.
fn paired(
    rounds: usize,
    mut before: impl FnMut(),
    mut floor: impl FnMut() -> f64,
    mut sdk: impl FnMut() -> f64,
) -> (f64, f64, f64) {
    let (mut fs, mut ss, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        before();
        let (f, s) = if round % 2 == 0 {
            let f = floor();
            (f, sdk())
        } else {
            let s = sdk();
            (floor(), s)
        };
        fs.push(f);
        ss.push(s);
        rs.push(s / f);
    }
    (median(fs), median(ss), median(rs))
}

/// Milliseconds to decode `bytes` as a `T` (dropped outside the timing).
fn time_decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> f64 {
    let t = Instant::now();
    let v: T = serde_json::from_slice(bytes).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    drop(std::hint::black_box(v));
    ms
}

/// The SDK with one call layer and one attempt layer of the application's: tower-http's
/// `TraceLayer` per call, tower's `ConcurrencyLimitLayer` per attempt.
fn layered_client(base: &str) -> Client {
    Client::builder()
        .base_url(base)
        .access_token("bench-token")
        .with_layer(tower_http::trace::TraceLayer::new_for_http())
        .with_attempt_layer(tower::limit::ConcurrencyLimitLayer::new(1024))
        .build()
        .unwrap()
}

type BareClient = Bare<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// The floor sends what the SDK puts on the wire for a GET (checked in `main`).
async fn bare_get(bare: &BareClient, uri: hyper::Uri) -> Bytes {
    let req = Request::builder()
        .uri(uri)
        .header("accept", "application/json")
        .header("authorization", "Bearer bench-token")
        .header("purecloud-sdk", "rust-0.1.0")
        .header("user-agent", "genesys-cloud-rs/0.1.0")
        .header("accept-encoding", "gzip")
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = bare.request(req).await.unwrap();
    assert!(resp.status().is_success());
    resp.into_body().collect().await.unwrap().to_bytes()
}

/// 32 tasks of `per_task` sequential GETs of `uri` with the bare client, decoded.
async fn concurrent_floor(bare: BareClient, uri: hyper::Uri, per_task: usize) {
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (bare, uri) = (bare.clone(), uri.clone());
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let u: shape::UserMe = serde_json::from_slice(&bare_get(&bare, uri.clone()).await).unwrap();
                    std::hint::black_box(u);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// 32 tasks of `per_task` sequential `users/me` calls through the SDK.
async fn concurrent_sdk(client: Client, per_task: usize) {
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..per_task {
                    let u = client.users().get_users_me().send().await.unwrap();
                    std::hint::black_box(u);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// The token endpoint's answer in the benchmark.
const TOKEN: &str = r#"{"access_token":"bench-token","token_type":"bearer","expires_in":86400}"#;

/// Microseconds from a fresh child's start to its first token.
fn first_token(base: &str, which: &str) -> f64 {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--first-token-child", which, base])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().parse().unwrap()
}

/// In a fresh process: a runtime, a client, a client-credentials token from `base`; prints
/// the microseconds since `started` (the start of `main`).
fn first_token_child(started: Instant, which: &str, base: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    if which == "sdk" {
        let client = Client::builder().base_url(base).client_credentials("bench-id", "bench-secret").build().unwrap();
        let info = rt.block_on(client.login()).unwrap();
        std::hint::black_box(info);
    } else {
        #[derive(serde::Deserialize)]
        struct Token {
            access_token: String,
        }
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let bare: BareClient = Bare::builder(TokioExecutor::new()).build(connector);
        let req = Request::builder()
            .method(hyper::Method::POST)
            .uri(format!("{base}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Basic YmVuY2gtaWQ6YmVuY2gtc2VjcmV0")
            .body(Full::new(Bytes::from_static(b"grant_type=client_credentials")))
            .unwrap();
        let token: Token = rt.block_on(async {
            let resp = bare.request(req).await.unwrap();
            serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
        });
        std::hint::black_box(token.access_token);
    }
    println!("{}", started.elapsed().as_secs_f64() * 1e6);
}

fn rss_child(which: &str, file: &str) {
    let data = std::fs::read(file).unwrap();
    // Reset the peak to what is resident now (the input included), then decode.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kb("VmHWM");
    /// Decodes `data` as `T`, keeps it alive until the peak is read, and counts conversations.
    fn decode<T: serde::de::DeserializeOwned>(data: &[u8], count: impl Fn(&T) -> usize) -> (usize, u64) {
        let value: T = serde_json::from_slice(data).unwrap();
        let peak = status_kb("VmHWM");
        (count(std::hint::black_box(&value)), peak)
    }
    let (count, peak) = match which {
        "sdk" => decode(&data, |v: &genesys_cloud::models::AnalyticsConversationQueryResponse| {
            v.conversations.as_ref().map_or(0, Vec::len)
        }),
        "minimal" => {
            decode(&data, |v: &minimal::ConversationQueryResponse| v.conversations.as_ref().map_or(0, Vec::len))
        }
        _ => {
            decode(&data, |v: &shape::AnalyticsConversationQueryResponse| v.conversations.as_ref().map_or(0, Vec::len))
        }
    };
    assert_eq!(count, CONVERSATIONS);
    println!("{before} {peak}");
}

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.trim_start_matches(':').trim().strip_suffix("kB")?.trim().parse().ok())
        .unwrap()
}

fn child_peak(which: &str, file: &std::path::Path) -> (f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--rss-child", which])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut it = text.split_whitespace().map(|v| v.parse::<f64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// The machine's CPU time so far, from `/proc/stat`'s first line: (all, steal), in ticks.
/// `None` where there is no `/proc/stat` (not Linux).
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat.lines().next()?.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal [guest guest_nice, already in user]
    Some((fields.iter().take(8).sum(), *fields.get(7)?))
}

/// One line on the CPU and how busy the machine was while the HTTP figures ran: the share of
/// its CPU time the hypervisor gave to other tenants (steal), and the load average. On this
/// project's VMs the ratios rise when the machine is shared (BENCHMARKS.md, sessions 9 to 13).
fn machine_during(before: Option<(u64, u64)>, after: Option<(u64, u64)>) -> String {
    let load = std::fs::read_to_string("/proc/loadavg").ok();
    let load = load.as_deref().and_then(|l| l.split_whitespace().next()).unwrap_or("unknown");
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':').map(|(_, m)| m.trim()))
        .unwrap_or("unknown");
    let steal = match (before, after) {
        (Some((all0, steal0)), Some((all1, steal1))) if all1 > all0 => {
            format!("{:.1} %", 100.0 * (steal1 - steal0) as f64 / (all1 - all0) as f64)
        }
        _ => "unknown".to_owned(),
    };
    format!("machine during the HTTP figures: CPU {cpu}, steal {steal} of CPU time, load average {load}")
}

fn main() {
    let started = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--first-token-child") {
        first_token_child(started, &args[i + 1], &args[i + 2]);
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--rss-child") {
        rss_child(&args[i + 1], &args[i + 2]);
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let decode_rounds = if quick { 5 } else { 15 };
    let pairs = if quick { 15 } else { 41 };
    let workers = args.iter().position(|a| a == "--workers").and_then(|i| args.get(i + 1)?.parse().ok()).unwrap_or(1);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let mut rows = Vec::new();
    let ticks_before = cpu_ticks();

    let user = Bytes::from(user_json());
    let mut routes = HashMap::new();
    routes.insert("/api/v2/users/me".to_owned(), user.clone());
    for page in 1..=PAGES {
        routes.insert(format!("queues:{page}"), Bytes::from(queue_page(page)));
    }
    routes.insert("/oauth/token".to_owned(), Bytes::from_static(TOKEN.as_bytes()));
    let routes = Arc::new(routes);
    let ct_routes = routes.clone();
    let token_routes = routes.clone();

    // The calls run in a task on the runtime's workers, as in a service, not on the thread
    // that blocks on the runtime.
    let task_args = args.clone();
    let user_body = user.clone();
    let http_rows = rt.block_on(async move {
        tokio::spawn(async move {
            let args = task_args;
            let mut rows = Vec::new();
            let addr = server(routes).await;
            let base = format!("http://{addr}");
            // TCP_NODELAY as the SDK's connector (and reqwest's) sets it.
            let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
            connector.set_nodelay(true);
            let bare: BareClient = Bare::builder(TokioExecutor::new()).build(connector);
            let client = Client::builder().base_url(&base).access_token("bench-token").build().unwrap();
            let me_uri: hyper::Uri = format!("{base}/api/v2/users/me").parse().unwrap();

            // `-- --profile WHICH N`: only N sequential calls of one side (see the top).
            if let Some(i) = args.iter().position(|a| a == "--profile") {
                let n: usize = args.get(i + 2).and_then(|n| n.parse().ok()).unwrap_or(10_000);
                let which = args.get(i + 1).map_or("floor", String::as_str);
                let raw = client.raw();
                let raw_get = genesys_cloud::api::OperationMeta::raw(&hyper::Method::GET).unwrap();
                let layered = layered_client(&base);
                // One call of the side `which` names.
                let one = async |which: &str| {
                    if which == "decode-sdk" {
                        let headers = hyper::HeaderMap::new();
                        let u = <genesys_cloud::api::JsonModel as genesys_cloud_core::executor::DecodeAs<
                            genesys_cloud::models::UserMe,
                        >>::decode(hyper::StatusCode::OK, &headers, &user_body)
                        .unwrap();
                        std::hint::black_box(u);
                    } else if which == "decode-floor" {
                        std::hint::black_box(serde_json::from_slice::<shape::UserMe>(&user_body).unwrap());
                    } else if which == "stack" {
                        let parts = genesys_cloud::api::RequestParts::new(raw_get, "/api/v2/users/me".into());
                        std::hint::black_box(raw.send_parts(parts).await.unwrap());
                    } else if which == "bare" {
                        std::hint::black_box(bare_get(&bare, me_uri.clone()).await);
                    } else if which == "layered" {
                        std::hint::black_box(layered.users().get_users_me().send().await.unwrap());
                    } else if which == "sdk" {
                        std::hint::black_box(client.users().get_users_me().send().await.unwrap());
                    } else if which == "pages-sdk" {
                        let page = client.routing().get_routing_queues().page_size(PAGE_SIZE as i64).page_number(7);
                        std::hint::black_box(page.send().await.unwrap());
                    } else if which == "pages-floor" {
                        let uri: hyper::Uri =
                            format!("{base}/api/v2/routing/queues?pageSize={PAGE_SIZE}&pageNumber=7").parse().unwrap();
                        let body = bare_get(&bare, uri).await;
                        std::hint::black_box(serde_json::from_slice::<shape::QueueEntityListing>(&body).unwrap());
                    } else {
                        let body = bare_get(&bare, me_uri.clone()).await;
                        std::hint::black_box(serde_json::from_slice::<shape::UserMe>(&body).unwrap());
                    }
                };
                if which == "ab" {
                    // sdk, layered and floor blocks in turn: their medians per call, one process.
                    let sides = ["sdk", "layered", "floor"];
                    let mut times = [vec![], vec![], vec![]];
                    for _ in 0..41 {
                        for (side, times) in sides.iter().zip(&mut times) {
                            let t = Instant::now();
                            for _ in 0..n {
                                one(side).await;
                            }
                            times.push(t.elapsed().as_secs_f64() * 1e6 / n as f64);
                        }
                    }
                    let [a, b, c] = times;
                    println!("sdk {:.1} layered {:.1} floor {:.1}", median(a), median(b), median(c));
                    std::process::exit(0);
                }
                for _ in 0..n {
                    one(which).await;
                }
                std::process::exit(0);
            }

            // Sanity: both sides decode the same user.
            let me = client.users().get_users_me().send().await.unwrap();
            let sdk_headers = LAST_HEADERS.lock().unwrap().clone();
            let hand: shape::UserMe = serde_json::from_slice(&bare_get(&bare, me_uri.clone()).await).unwrap();
            assert_eq!(sdk_headers, *LAST_HEADERS.lock().unwrap(), "both sides send the same headers");
            assert!(sdk_headers.len() >= 5, "{sdk_headers:?}");
            assert_eq!(me.name, hand.name);
            assert_eq!(me.images.as_ref().map(Vec::len), hand.images.as_ref().map(Vec::len));
            eprintln!("users/me body: {} bytes", user.len());
            eprintln!(
                "struct sizes, floor vs SDK: UserMe {} vs {} bytes, Queue {} vs {}, AnalyticsSession {} vs {}",
                std::mem::size_of::<shape::UserMe>(),
                std::mem::size_of::<genesys_cloud::models::UserMe>(),
                std::mem::size_of::<shape::Queue>(),
                std::mem::size_of::<genesys_cloud::models::Queue>(),
                std::mem::size_of::<shape::AnalyticsSession>(),
                std::mem::size_of::<genesys_cloud::models::AnalyticsSession>(),
            );

            // 1. Sequential GET.
            let n = 100;
            for _ in 0..300 {
                let _ = client.users().get_users_me().send().await.unwrap();
                let _ = bare_get(&bare, me_uri.clone()).await;
            }
            // The stack alone: bytes in, bytes out, no operation builder and no decode.
            let raw = client.raw();
            let raw_get = genesys_cloud::api::OperationMeta::raw(&hyper::Method::GET).unwrap();
            let (f, s, ratio) = alternate(
                pairs,
                n,
                || {
                    let (bare, uri) = (bare.clone(), me_uri.clone());
                    async move {
                        std::hint::black_box(bare_get(&bare, uri).await);
                    }
                },
                || {
                    let raw = raw.clone();
                    async move {
                        let parts = genesys_cloud::api::RequestParts::new(raw_get, "/api/v2/users/me".into());
                        std::hint::black_box(raw.send_parts(parts).await.unwrap());
                    }
                },
            )
            .await;
            rows.push(Row {
                name: "the stack alone: GET users/me as bytes, per call",
                unit: "us",
                floor: f,
                sdk: s,
                ratio,
                // No target: the figure says how much of a call's time is the stack's.
                target: f64::INFINITY,
            });
            let (f, s, ratio) = alternate(
                pairs,
                n,
                || {
                    let (bare, uri) = (bare.clone(), me_uri.clone());
                    async move {
                        let u: shape::UserMe = serde_json::from_slice(&bare_get(&bare, uri).await).unwrap();
                        std::hint::black_box(u);
                    }
                },
                || {
                    let client = client.clone();
                    async move {
                        let u = client.users().get_users_me().send().await.unwrap();
                        std::hint::black_box(u);
                    }
                },
            )
            .await;
            rows.push(Row {
                name: "sequential GET users/me (3 KB), per call",
                unit: "us",
                floor: f,
                sdk: s,
                ratio,
                target: 1.20,
            });

            // 1b. The same with a call layer and an attempt layer of the application's.
            let layered = layered_client(&base);
            let (f, s, ratio) = alternate(
                pairs,
                n,
                || {
                    let (bare, uri) = (bare.clone(), me_uri.clone());
                    async move {
                        let u: shape::UserMe = serde_json::from_slice(&bare_get(&bare, uri).await).unwrap();
                        std::hint::black_box(u);
                    }
                },
                || {
                    let client = layered.clone();
                    async move {
                        let u = client.users().get_users_me().send().await.unwrap();
                        std::hint::black_box(u);
                    }
                },
            )
            .await;
            rows.push(Row {
                name: "sequential GET users/me with TraceLayer per call and ConcurrencyLimitLayer per attempt",
                unit: "us",
                floor: f,
                sdk: s,
                ratio,
                target: 1.25,
            });

            // 2. 32 in flight.
            let per_task = 10;
            let (f, s, ratio) = alternate(
                pairs,
                1,
                || {
                    let (bare, uri) = (bare.clone(), me_uri.clone());
                    concurrent_floor(bare, uri, per_task)
                },
                || {
                    let client = client.clone();
                    concurrent_sdk(client, per_task)
                },
            )
            .await;
            let calls = (32 * per_task) as f64;
            rows.push(Row {
                name: "32 concurrent GET users/me, per call",
                unit: "us",
                floor: f / calls,
                sdk: s / calls,
                ratio,
                target: 1.20,
            });

            // 4. 1,000 queues over 40 pages.
            let page_uri = |n: usize| -> hyper::Uri {
                format!("{base}/api/v2/routing/queues?pageSize={PAGE_SIZE}&pageNumber={n}").parse().unwrap()
            };
            let (f, s, ratio) = alternate(
                pairs,
                1,
                || {
                    let bare = bare.clone();
                    async move {
                        let mut queues = Vec::new();
                        let mut page = 1;
                        loop {
                            let p: shape::QueueEntityListing =
                                serde_json::from_slice(&bare_get(&bare, page_uri(page)).await).unwrap();
                            queues.extend(p.entities.unwrap_or_default());
                            if p.page_count.is_none_or(|c| page as i64 >= c) {
                                break;
                            }
                            page += 1;
                        }
                        assert_eq!(queues.len(), QUEUES);
                    }
                },
                || {
                    let client = client.clone();
                    async move {
                        let queues: Vec<_> = client
                            .routing()
                            .get_routing_queues()
                            .page_size(PAGE_SIZE as i64)
                            .into_paginator()
                            .items()
                            .try_collect()
                            .await
                            .unwrap();
                        assert_eq!(queues.len(), QUEUES);
                    }
                },
            )
            .await;
            rows.push(Row {
                name: "1,000 queues over 40 pages, per listing",
                unit: "ms",
                floor: f / 1000.0,
                sdk: s / 1000.0,
                ratio,
                target: 1.20,
            });
            rows
        })
        .await
        .unwrap()
    });
    rows.extend(http_rows);

    // 2b. 32 in flight on a current-thread runtime (a single-threaded service): server,
    // floor and SDK on the one thread.
    let ct = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rows.push(ct.block_on(async move {
        let addr = server(ct_routes).await;
        let base = format!("http://{addr}");
        let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
        connector.set_nodelay(true);
        let bare: BareClient = Bare::builder(TokioExecutor::new()).build(connector);
        let client = Client::builder().base_url(&base).access_token("bench-token").build().unwrap();
        let me_uri: hyper::Uri = format!("{base}/api/v2/users/me").parse().unwrap();
        let per_task = 10;
        let (f, s, ratio) = alternate(
            pairs,
            1,
            || {
                let (bare, uri) = (bare.clone(), me_uri.clone());
                concurrent_floor(bare, uri, per_task)
            },
            || {
                let client = client.clone();
                concurrent_sdk(client, per_task)
            },
        )
        .await;
        let calls = (32 * per_task) as f64;
        Row {
            name: "32 concurrent GET users/me on a current-thread runtime, per call",
            unit: "us",
            floor: f / calls,
            sdk: s / calls,
            ratio,
            target: 1.20,
        }
    }));

    let machine = machine_during(ticks_before, cpu_ticks());

    // 5. From process start to the first token, `http` base URL: fresh child processes, the
    // token endpoint on a server thread here.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            tx.send(server(token_routes).await).unwrap();
            std::future::pending::<()>().await
        })
    });
    let base = format!("http://{}", rx.recv().unwrap());
    let children = if quick { 15 } else { 41 };
    let (f, s, ratio) = paired(children, || (), || first_token(&base, "floor"), || first_token(&base, "sdk"));
    rows.push(Row {
        name: "process start to the first token, http base URL",
        unit: "ms",
        floor: f / 1000.0,
        sdk: s / 1000.0,
        ratio,
        target: f64::NAN,
    });

    // 3. The 30 MB decode.
    let details = details_json();
    eprintln!("analytics details body: {:.1} MB, {CONVERSATIONS} conversations", details.len() as f64 / 1e6);
    let bytes = details.as_bytes();
    {
        let a: genesys_cloud::models::AnalyticsConversationQueryResponse = serde_json::from_slice(bytes).unwrap();
        let b: shape::AnalyticsConversationQueryResponse = serde_json::from_slice(bytes).unwrap();
        let (a, b) = (a.conversations.unwrap(), b.conversations.unwrap());
        assert_eq!(a.len(), b.len());
        assert_eq!(a[7].conversation_id, b[7].conversation_id);
        let sessions = |c: &genesys_cloud::models::AnalyticsConversationWithoutAttributes| {
            c.participants.iter().flatten().flat_map(|p| p.sessions.iter().flatten()).count()
        };
        assert_eq!(sessions(&a[7]), 3);
    }
    // Paired as the HTTP figures are: which side decodes first alternates (the one after
    // decodes into memory the one before just gave back). Each round starts with the minimal
    // structs' decode (for scale).
    let mut ms = Vec::new();
    let (floor_ms, decode_ms, ratio) = paired(
        decode_rounds,
        || ms.push(time_decode::<minimal::ConversationQueryResponse>(bytes)),
        || time_decode::<shape::AnalyticsConversationQueryResponse>(bytes),
        || time_decode::<genesys_cloud::models::AnalyticsConversationQueryResponse>(bytes),
    );
    rows.push(Row {
        name: "decode 30 MB analytics details (10,000 conversations)",
        unit: "ms",
        floor: floor_ms,
        sdk: decode_ms,
        ratio,
        target: 1.10,
    });

    // 5. Peak RSS of that decode, each in a fresh process.
    let file = std::env::temp_dir().join(format!("genesys-bench-details-{}.json", std::process::id()));
    std::fs::write(&file, &details).unwrap();
    drop(details);
    let (mut fp, mut sp, mut mp) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        fp.push(child_peak("floor", &file).1);
        sp.push(child_peak("sdk", &file).1);
        mp.push(child_peak("minimal", &file).1);
    }
    let base = child_peak("floor", &file).0;
    let _ = std::fs::remove_file(&file);
    let (peak_mb, floor_mb) = (median(sp) / 1024.0, median(fp) / 1024.0);
    rows.push(Row {
        name: "peak RSS of that decode (input included)",
        unit: "MB",
        floor: floor_mb,
        sdk: peak_mb,
        ratio: peak_mb / floor_mb,
        target: 1.25,
    });
    eprintln!("resident before decoding (input read): {:.1} MB", base / 1024.0);

    println!("| benchmark | floor (same shape) | genesys-cloud | ratio | target | |");
    println!("|---|---:|---:|---:|---:|---|");
    for r in &rows {
        let ratio = r.ratio;
        if r.target.is_nan() {
            // An absolute target: the SDK's own time.
            println!(
                "| {} | {:.2} {} | {:.2} {} | {:.3} | SDK <= 1.50 ms | {} |",
                r.name,
                r.floor,
                r.unit,
                r.sdk,
                r.unit,
                ratio,
                if r.sdk <= 1.5 { "ok" } else { "OVER" }
            );
            continue;
        }
        if r.target.is_infinite() {
            println!("| {} | {:.1} {} | {:.1} {} | {:.3} | (none) | |", r.name, r.floor, r.unit, r.sdk, r.unit, ratio);
            continue;
        }
        println!(
            "| {} | {:.1} {} | {:.1} {} | {:.3} | <= {:.2} | {} |",
            r.name,
            r.floor,
            r.unit,
            r.sdk,
            r.unit,
            ratio,
            r.target,
            if ratio <= r.target { "ok" } else { "OVER" }
        );
    }
    println!();
    println!("For scale, structs with only the fields the conversation data carries (no target):");
    println!("| benchmark | minimal structs | genesys-cloud | ratio |");
    println!("|---|---:|---:|---:|");
    let (m_ms, m_mb) = (median(ms), median(mp) / 1024.0);
    println!("| decode 30 MB analytics details | {m_ms:.1} ms | {decode_ms:.1} ms | {:.3} |", decode_ms / m_ms);
    println!("| peak RSS of that decode | {m_mb:.1} MB | {peak_mb:.1} MB | {:.3} |", peak_mb / m_mb);
    println!();
    println!("{machine}");
}
