//! A local Genesys Cloud look-alike built from the spec, for examples and tests.
//!
//! - `POST /oauth/token` with client credentials (HTTP Basic), SAML2 bearer, authorization
//!   code, PKCE (the verifier is checked against the challenge) and refresh tokens, issuing
//!   tokens with a configurable lifetime; `GET /oauth/authorize` for the code flows.
//! - Every operation of the spec, routed by method and path template: the bearer token is
//!   checked (401 with a Genesys error body otherwise), required and typed query parameters
//!   and the body are validated (400 naming the problem), and the answer is schema-valid JSON
//!   sampled from the response definition (deterministic per seed). Listings are real pages
//!   (`pageNumber`, `pageSize`, `pageCount`, `total`, `nextUri`).
//! - A small stateful core: `users/me`; users (`listing_total` of them) listed, fetched,
//!   updated with `version` conflicts (409) and deleted by id; the routing queues over a fixed
//!   set, listed and fetched by id. Ids the mock never issued answer 404 `not.found`.
//! - Samples honour `pattern` (UUIDs, colours, digits) and carry every required field however
//!   deep; listings add no field their entities do not declare; error bodies carry the
//!   correlation id as `contextId`.
//! - Asynchronous jobs, for every family shaped as the analytics details jobs (22 in the
//!   spec): submitted, queued, pending, then fulfilled after [`MockOptions::job_delay`] (failed
//!   or expired when the submit asks with `x-mock-job: failed` or `expired`), results over
//!   cursors from a deterministic data set of [`MockOptions::job_items`] items, cancel.
//! - Eventual consistency on request ([`MockOptions::eventual_consistency`]): a new user is
//!   answered with a 404 for a while after its create.
//! - The notification service: channels, subscriptions and their WebSockets (heartbeats,
//!   faults). Presence (`PATCH …/presences/…`), routing status (`PUT …/routingstatus`), queue
//!   members (`POST`/`PATCH …/routing/queues/{id}/members`) and calls
//!   (`POST /api/v2/conversations/calls`) are kept, answered by their GETs, and published to
//!   their topics; [`MockServer::publish_sample`] publishes any topic.
//! - Fault injection by rule ([`MockServer::inject`]) or per request (the `x-mock-fault`
//!   header, e.g. `with_header("x-mock-fault", "429; retry-after=2")`): status codes with
//!   `Retry-After` in seconds or as a date, latency, a connection reset mid-body, truncated or
//!   malformed JSON, and expiring every token now; idle kept-alive connections can be closed
//!   after a timeout ([`MockOptions::idle_timeout`]).
//! - Every response carries `ININ-Correlation-Id`. With a rate limit
//!   ([`MockOptions::rate_limit`]), each token is counted in a window of its own, and with a
//!   client limit ([`MockOptions::client_rate_limit`]) each OAuth client across its tokens: every answer
//!   to a request with a token carries `inin-ratelimit-allowed`, `-count` and `-reset`
//!   (seconds), and a request past the allowance gets a 429 with `Retry-After` and the code
//!   `too.many.requests.retry.after`. Without one (the default) nothing is limited and no
//!   rate-limit headers are sent.
//!
//! Run it alone with `cargo run -p genesys-cloud-mock -- --port 8080`.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod idle;
mod jobs;
mod limits;
mod live;
mod notify;
mod polled;
mod report;
mod router;
mod state;
mod webhooks;

pub use limits::RateLimit;
pub use router::{Route, Router};
pub use state::{Fault, FaultKind};
pub use webhooks::{WebhookDelivery, WEBHOOK_RETRIES};

use bytes::Bytes;
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use state::State;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The vendored spec the mock serves.
/// (`spec/` in this package is a link to the workspace's vendored copy; `cargo package`
/// stores the file itself, so the published crate is whole.)
pub const SPEC: &str = include_str!("../spec/platform-api-v2.json");

/// The topic-to-payload mapping the mock samples notification payloads from.
pub const NOTIFICATION_TOPICS: &str = include_str!("../spec/notification-topics.json");

/// The payload definition of a topic name, by its pattern (`{id}` matches one segment).
pub fn topic_payload(topic: &str) -> Option<String> {
    // (pattern, payload), parsed once.
    static TABLE: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let root: Value = serde_json::from_str(NOTIFICATION_TOPICS).unwrap_or(Value::Null);
        root["topics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e["topic"].as_str()?.to_owned(), e["payload"].as_str()?.to_owned())))
            .collect()
    });
    let names: Vec<&str> = topic.split('.').collect();
    let mut best: Option<(usize, String)> = None;
    for (pattern, payload) in table {
        let parts: Vec<&str> = pattern.split('.').collect();
        let fits = parts.len() == names.len() && parts.iter().zip(&names).all(|(p, n)| p.starts_with('{') || p == n);
        let literal = parts.iter().filter(|p| !p.starts_with('{')).count();
        if fits && best.as_ref().is_none_or(|(l, _)| literal > *l) {
            best = Some((literal, payload.to_owned()));
        }
    }
    best.map(|(_, p)| p)
}

/// How the mock behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MockOptions {
    /// The port (0 = any free port). Default 0.
    pub port: u16,
    /// Seeds every sampled response. Default 0.
    pub seed: u64,
    /// Lifetime of issued tokens. Default 24 h (Genesys Cloud's own).
    pub token_lifetime: Duration,
    /// How many items a generated listing holds in all. Default 60.
    pub listing_total: usize,
    /// Close a kept-alive connection after this long with no request in flight and no bytes
    /// either way, as the load balancers in front of Genesys Cloud do. Default: never.
    pub idle_timeout: Option<Duration>,
    /// How often a notification WebSocket gets a heartbeat. Default 30 s (Genesys Cloud's).
    pub heartbeat_interval: Duration,
    /// How long a notification channel lives. Default 24 h (Genesys Cloud's).
    pub channel_lifetime: Duration,
    /// Each token's allowance, when requests are limited. Default: not limited.
    pub rate_limit: Option<RateLimit>,
    /// Each OAuth client's allowance across all its tokens (the platform's
    /// `org.app.user.rate.per.minute`, 3,000 a minute), when limited. Default: not limited.
    pub client_rate_limit: Option<RateLimit>,
    /// Eventual consistency: a user created with `POST /api/v2/users` is answered with a 404 by
    /// `GET /api/v2/users/{userId}` for this long, as Genesys Cloud can right after a create.
    /// Default: visible at once.
    pub eventual_consistency: Option<Duration>,
    /// How long an asynchronous job takes: `QUEUED` for the first half, `PENDING` for the
    /// second, then `FULFILLED` (or `FAILED`/`EXPIRED` when its submit asked with the header
    /// `x-mock-job: failed` or `expired`). Default 2 s.
    pub job_delay: Duration,
    /// How many items the results of every job hold (conversations of a details job, rows of
    /// an aggregates job), over cursors. Default 1,000.
    pub job_items: usize,
    /// Open Messaging webhook deliveries: how long an answer is waited for, and the pause
    /// before each attempt again. Default 10 s and 5 s (the service's).
    pub webhook_timing: (Duration, Duration),
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            port: 0,
            seed: 0,
            token_lifetime: Duration::from_secs(86_400),
            listing_total: 60,
            idle_timeout: None,
            heartbeat_interval: Duration::from_secs(30),
            channel_lifetime: Duration::from_secs(86_400),
            rate_limit: None,
            client_rate_limit: None,
            eventual_consistency: None,
            job_delay: Duration::from_secs(2),
            job_items: 1000,
            webhook_timing: (Duration::from_secs(10), Duration::from_secs(5)),
        }
    }
}

impl MockOptions {
    /// Sets [`webhook_timing`](Self::webhook_timing): the wait for each answer and the pause
    /// between attempts.
    pub fn webhook_timing(mut self, timeout: Duration, retry_delay: Duration) -> Self {
        self.webhook_timing = (timeout, retry_delay);
        self
    }
    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the token lifetime.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }
    /// Closes idle kept-alive connections after `idle` (see [`MockOptions::idle_timeout`]).
    pub fn idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = Some(idle);
        self
    }
    /// Sets [`MockOptions::heartbeat_interval`].
    pub fn heartbeat_interval(mut self, every: Duration) -> Self {
        self.heartbeat_interval = every;
        self
    }
    /// Sets [`MockOptions::channel_lifetime`].
    pub fn channel_lifetime(mut self, lifetime: Duration) -> Self {
        self.channel_lifetime = lifetime;
        self
    }
    /// Reads of a new user answer 404 for `delay` after its create (see
    /// [`MockOptions::eventual_consistency`]).
    pub fn eventual_consistency(mut self, delay: Duration) -> Self {
        self.eventual_consistency = Some(delay);
        self
    }
    /// Sets [`MockOptions::listing_total`].
    pub fn listing_total(mut self, total: usize) -> Self {
        self.listing_total = total;
        self
    }
    /// Sets [`MockOptions::job_delay`].
    pub fn job_delay(mut self, delay: Duration) -> Self {
        self.job_delay = delay;
        self
    }
    /// Sets [`MockOptions::job_items`].
    pub fn job_items(mut self, items: usize) -> Self {
        self.job_items = items;
        self
    }
    /// Limits each OAuth client to `allowed` requests per `window` across all its tokens (see
    /// [`MockOptions::client_rate_limit`]).
    pub fn client_rate_limit(mut self, allowed: u32, window: Duration) -> Self {
        self.client_rate_limit = Some(RateLimit::new(allowed, window));
        self
    }

    /// Limits each token to `allowed` requests per `window` (see [`MockOptions::rate_limit`]).
    pub fn rate_limit(mut self, allowed: u32, window: Duration) -> Self {
        self.rate_limit = Some(RateLimit::new(allowed, window));
        self
    }
}

/// A running mock. It stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    /// Starts a mock with default options on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_with(MockOptions::default()).await
    }

    /// Starts a mock.
    pub async fn start_with(options: MockOptions) -> std::io::Result<Self> {
        let doc = Document::parse(SPEC).map_err(|e| std::io::Error::other(e.to_string()))?;
        let state = Arc::new(State::new(doc, options.clone()));
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        state.notifications.set_base(format!("ws://{addr}"));
        let shared = state.clone();
        let idle_timeout = options.idle_timeout;
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::spawn(serve(shared.clone(), stream, idle_timeout));
            }
        });
        Ok(Self { addr, state, task })
    }

    /// Publishes one notification event of `topic` (a topic name, `v2.users.u1.presence`) to
    /// every connected channel subscribed to it; returns how many sockets it went to.
    pub fn publish(&self, topic: &str, body: &Value) -> usize {
        self.state.notifications.publish(topic, body)
    }

    /// A customer's call arrives in `queue` and waits there: published to
    /// `v2.routing.queues.{queue}.conversations`, and observed as `oWaiting` by the queue
    /// observations query. Its conversation id.
    pub fn enqueue_call(&self, queue: &str) -> String {
        self.state.live.enqueue_call(&self.state.notifications, queue)
    }

    /// `user` answers the waiting call `conversation`: observed as `oInteracting` from then on,
    /// and published. `false` when no queue holds that conversation. (Ending it is the API's
    /// `POST /api/v2/conversations/{id}/disconnect`.)
    pub fn answer_call(&self, conversation: &str, user: &str) -> bool {
        self.state.live.answer_call(&self.state.notifications, conversation, user)
    }

    /// Publishes a schema-valid sampled payload of `topic`'s type (found by its pattern in
    /// `notification-topics.json`); `None` when no pattern matches the topic.
    pub fn publish_sample(&self, topic: &str) -> Option<usize> {
        let payload = topic_payload(topic)?;
        let sampler =
            Sampler::new(&self.state.doc, SampleOptions { seed: self.state.options.seed, ..Default::default() });
        let body = sampler.definition(&payload)?;
        Some(self.publish(topic, &body))
    }

    /// Delivers `message` (a normalized message) to the webhook of Open Messaging
    /// integration `integration_id` (made through the API, with its webhook URL and secret), as
    /// Genesys Cloud does when an agent answers: a POST signed with `X-Hub-Signature-256`,
    /// sent again up to 5 times after a time-out or a 429 or 5xx answer
    /// ([`MockOptions::webhook_timing`]). An error when there is no such integration.
    pub async fn deliver_open_message(&self, integration_id: &str, message: &Value) -> Result<WebhookDelivery, String> {
        let (timeout, delay) = self.state.options.webhook_timing;
        self.state.open_integrations.deliver(integration_id, message, timeout, delay).await
    }

    /// Fault: the server closes every notification socket.
    pub fn drop_notification_sockets(&self) {
        self.state.notifications.drop_sockets();
    }

    /// [`publish`](Self::publish) with this correlation id: the service does not promise that
    /// two events never share one.
    pub fn publish_with_correlation(&self, topic: &str, body: &Value, correlation_id: &str) -> usize {
        self.state.notifications.publish_with(topic, body, correlation_id)
    }

    /// Fault: every notification socket is cut with no close frame.
    pub fn abort_notification_sockets(&self) {
        self.state.notifications.abort_sockets();
    }

    /// Fault: every notification channel falls silent (`on`) or speaks again: no heartbeat,
    /// pong or event reaches its socket, which stays open, and events published meanwhile are
    /// lost to it.
    pub fn silence_notification_sockets(&self, on: bool) {
        self.state.notifications.silence(on);
    }

    /// Fault: the socket of channel `id` alone falls silent (`on`) or speaks again, as
    /// [`silence_notification_sockets`](Self::silence_notification_sockets) does for all;
    /// whether the channel exists.
    pub fn silence_notification_channel(&self, id: &str, on: bool) -> bool {
        self.state.notifications.silence_channel(id, on)
    }

    /// Fault: `v2.system.socket_closing` on every notification socket, closed `grace` later.
    pub fn send_socket_closing(&self, grace: Duration) {
        self.state.notifications.socket_closing(grace);
    }

    /// Fault: heartbeats (and pongs) stop while `on` is false.
    pub fn set_heartbeats(&self, on: bool) {
        self.state.notifications.set_heartbeats(on);
    }

    /// Fault: subscription requests are refused with a 400 while `on`.
    pub fn refuse_subscriptions(&self, on: bool) {
        self.state.notifications.set_refuse_subscriptions(on);
    }

    /// Fault: every notification channel expires now.
    pub fn expire_channels(&self) {
        self.state.notifications.expire_channels();
    }

    /// Fault: `v2.system.token_revoked` on every socket, whose channel then falls silent (no
    /// more events, heartbeats or pongs on it); tokens expire.
    pub fn revoke_token(&self) {
        self.state.notifications.revoke_token();
        self.state.expire_tokens();
    }

    /// The topics channel `id` is subscribed to (`None`: no such channel).
    pub fn channel_topics(&self, id: &str) -> Option<Vec<String>> {
        self.state.notifications.topics(id)
    }

    /// How many notification channels exist, and how many have a socket connected.
    pub fn channel_counts(&self) -> (usize, usize) {
        self.state.notifications.counts()
    }

    /// How many notification channels OAuth client `client_id` has (the service's limit of
    /// 20 is per client), and how many have a socket connected.
    pub fn channel_counts_of(&self, client_id: &str) -> (usize, usize) {
        self.state.notifications.counts_of(client_id)
    }

    /// The base URL (`http://127.0.0.1:PORT`), for both the API and the login endpoints.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many operations the mock answers.
    pub fn operation_count(&self) -> usize {
        self.state.router.len()
    }

    /// Adds a fault rule.
    pub fn inject(&self, fault: Fault) {
        self.state.inject(fault);
    }

    /// Removes every fault rule not yet used up.
    pub fn clear_faults(&self) {
        self.state.clear_faults();
    }

    /// Expires every issued token now (calls get 401 until they fetch a new one).
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }

    /// Signs a user in as `GET /oauth/authorize` would and returns the authorization code
    /// (bound to the PKCE challenge, if given): what the browser redirect carries in the real
    /// flow.
    pub fn authorization_code(&self, code_challenge: Option<&str>) -> String {
        self.state.new_code(code_challenge.map(str::to_owned))
    }

    /// How many connections the mock accepted.
    pub fn connections(&self) -> usize {
        self.state.connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many HTTP connections are open now (not counting notification sockets: see
    /// [`channel_counts`](Self::channel_counts)).
    pub fn open_connections(&self) -> usize {
        self.state.open_connections.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many token requests were answered.
    pub fn token_requests(&self) -> usize {
        self.state.token_requests()
    }

    /// How many families of asynchronous jobs the mock runs (those shaped as the analytics
    /// details jobs).
    pub fn job_families(&self) -> usize {
        self.state.jobs.family_count()
    }

    /// How many jobs were submitted, and how many cancelled.
    pub fn job_counts(&self) -> (usize, usize) {
        self.state.jobs.counts()
    }

    /// The access tokens issued so far, oldest first.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued()
    }

    /// Expires one issued token now (calls with it get 401); whether it was issued.
    pub fn expire_token(&self, token: &str) -> bool {
        self.state.expire_token(token)
    }

    /// How many requests an OAuth client's allowance refused with a 429 (their tokens had
    /// room): what a fleet of processes without one rate governor runs into.
    pub fn rate_limited_by_client(&self) -> usize {
        self.state.limits.refused_by_client()
    }

    /// How many requests the rate limit refused with a 429.
    pub fn rate_limited(&self) -> usize {
        self.state.limits.refused()
    }

    /// How many requests the rate limit counted (answered, not refused).
    pub fn rate_counted(&self) -> usize {
        self.state.limits.counted()
    }

    /// How many requests the mock received for a path (exact match, query ignored).
    pub fn hits(&self, path: &str) -> usize {
        self.state.hits(path)
    }
}

/// Serves one connection; with an idle timeout, drops it (closing the socket) once no request
/// is in flight and no byte has moved for that long.
async fn serve(state: Arc<State>, stream: tokio::net::TcpStream, idle_timeout: Option<Duration>) {
    /// Counts the connection open until it ends (an upgraded one goes on as a notification
    /// socket, counted by its channel).
    struct Open(Arc<State>);
    impl Drop for Open {
        fn drop(&mut self) {
            self.0.open_connections.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    state.open_connections.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _open = Open(state.clone());
    let activity = Arc::new(idle::Activity::new());
    let in_flight = activity.clone();
    let svc = hyper::service::service_fn(move |req| {
        let state = state.clone();
        let guard = in_flight.begin();
        async move {
            if req.uri().path().starts_with("/channels/") {
                return Ok::<_, std::convert::Infallible>(websocket(state, req));
            }
            let response = handle(&state, req).await;
            drop(guard);
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    let io = TokioIo::new(idle::Tracked::new(stream, activity.clone()));
    let conn = hyper::server::conn::http1::Builder::new().serve_connection(io, svc).with_upgrades();
    match idle_timeout {
        None => {
            let _ = conn.await;
        }
        Some(limit) => {
            tokio::select! {
                _ = conn => {}
                () = activity.idle_for(limit) => {}
            }
        }
    }
}

/// The WebSocket of a notification channel: the upgrade, then [`notify::Hub::run_socket`].
fn websocket(state: Arc<State>, mut req: Request<Incoming>) -> Response<MockBody> {
    use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
    let id = req.uri().path().trim_start_matches("/channels/").to_owned();
    let key = req.headers().get("sec-websocket-key").map(|k| derive_accept_key(k.as_bytes()));
    let upgrade =
        req.headers().get("upgrade").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let (Some(accept), true) = (key, upgrade) else {
        return error(StatusCode::BAD_REQUEST, "bad.request", "a WebSocket upgrade is expected here");
    };
    if !state.notifications.is_valid(&id) {
        return error(StatusCode::NOT_FOUND, "not.found", &format!("channel {id} does not exist or has expired"));
    }
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        if let Ok(upgraded) = on_upgrade.await {
            let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
                TokioIo::new(upgraded),
                tokio_tungstenite::tungstenite::protocol::Role::Server,
                None,
            )
            .await;
            state.notifications.run_socket(id, ws).await;
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()).map_err(|never| match never {}).boxed());
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert("upgrade", "websocket".parse().expect("static header"));
    h.insert("connection", "Upgrade".parse().expect("static header"));
    if let Ok(v) = accept.parse() {
        h.insert("sec-websocket-accept", v);
    }
    r
}

type MockBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(status: StatusCode, body: impl Into<Bytes>) -> Response<MockBody> {
    let mut r = Response::new(Full::new(body.into()).map_err(|never| match never {}).boxed());
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", "application/json".parse().expect("static header"));
    r
}

/// A Genesys-shaped error response.
/// Its `contextId` is the request's correlation id (the `inin-correlation-id` header of the
/// same answer), as Genesys Cloud's are.
pub fn error_body(status: StatusCode, code: &str, message: &str) -> Value {
    let context = CORRELATION.try_with(String::clone).unwrap_or_default();
    json!({"message": message, "code": code, "status": status.as_u16(), "messageWithParams": message, "messageParams": {}, "contextId": context, "details": [], "errors": []})
}

tokio::task_local! {
    /// The correlation id of the request being answered.
    static CORRELATION: String;
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<MockBody> {
    full(status, error_body(status, code, message).to_string())
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<MockBody> {
    let correlation = state.next_correlation_id();
    CORRELATION.scope(correlation.clone(), answer(state, req, correlation)).await
}

async fn answer(state: &State, req: Request<Incoming>, correlation: String) -> Response<MockBody> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    state.record(&path);
    let headers = req.headers().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::BAD_REQUEST, "bad.request", "could not read the request body"),
    };
    // The token's and its client's allowances first: a refused request goes no further.
    let limited = state.options.rate_limit.is_some() || state.options.client_rate_limit.is_some();
    let verdict = state::bearer(&headers).filter(|_| limited).and_then(|token| {
        let client = state.owner(&headers);
        state.limits.admit(state.options.rate_limit, state.options.client_rate_limit, token, &client)
    });
    let mut response = match &verdict {
        Some(v) if v.refused => {
            let message = format!("Rate limit exceeded the maximum. Retry the request in [{}] seconds", v.reset_secs);
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "too.many.requests.retry.after", &message);
            r.headers_mut().insert("retry-after", v.reset_secs.into());
            r
        }
        _ => {
            // A fault for this request only, ordered with the `x-mock-fault` header.
            let requested = headers.get("x-mock-fault").and_then(|v| v.to_str().ok()).and_then(FaultKind::parse);
            match requested.or_else(|| state.take_fault(&method, &path)) {
                Some(fault) => match fault_response(state, fault).await {
                    Some(r) => r,
                    None => route(state, &method, &path, &query, &headers, &body).await,
                },
                None => route(state, &method, &path, &query, &headers, &body).await,
            }
        }
    };
    let h = response.headers_mut();
    h.insert("inin-correlation-id", correlation.parse().expect("ascii id"));
    if let Some(v) = verdict {
        h.insert("inin-ratelimit-allowed", v.allowed.into());
        h.insert("inin-ratelimit-count", v.count.into());
        h.insert("inin-ratelimit-reset", v.reset_secs.into());
    }
    response
}

async fn fault_response(state: &State, fault: FaultKind) -> Option<Response<MockBody>> {
    match fault {
        FaultKind::Status { status, retry_after } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut r = error(status, "injected.fault", "injected by the mock");
            if let Some(v) = retry_after {
                if let Ok(v) = v.parse() {
                    r.headers_mut().insert("retry-after", v);
                }
            }
            Some(r)
        }
        FaultKind::Latency(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultKind::TruncatedJson => Some(full(StatusCode::OK, r#"{"id": "truncated", "name": "#)),
        FaultKind::MalformedJson => Some(full(StatusCode::OK, r#"{"id": "x",, "name": nul}"#)),
        FaultKind::ResetMidBody => {
            // Promise more than is sent, then fail the body: the connection is cut mid-body.
            let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                Ok(Frame::data(Bytes::from_static(br#"{"entities":[{"id":"1"},"#))),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset")),
            ];
            let mut r = Response::new(StreamBody::new(futures_util::stream::iter(chunks)).boxed());
            r.headers_mut().insert("content-type", "application/json".parse().expect("static header"));
            r.headers_mut().insert("content-length", "4096".parse().expect("static header"));
            Some(r)
        }
        FaultKind::ExpireTokens => {
            state.expire_tokens();
            None
        }
    }
}

async fn route(
    state: &State,
    method: &str,
    path: &str,
    query: &str,
    headers: &hyper::HeaderMap,
    body: &Bytes,
) -> Response<MockBody> {
    match path {
        "/oauth/token" if method == "POST" => return state.token(headers, body),
        "/oauth/authorize" if method == "GET" => return state.authorize(query),
        _ => {}
    }
    let (route, path_params) = match state.router.find(method, path) {
        Ok(found) => found,
        Err(true) => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method.not.allowed",
                &format!("{method} is not allowed on {path}"),
            )
        }
        Err(false) => return error(StatusCode::NOT_FOUND, "not.found", &format!("no operation matches {path}")),
    };
    if route.secured {
        if let Err(message) = state.check_bearer(headers) {
            return error(StatusCode::UNAUTHORIZED, "bad.credentials", &message);
        }
    }
    // As a server that honours `Accept` does: 406 when the client takes none of the media
    // types the operation produces.
    if let Some(accept) = headers.get(hyper::header::ACCEPT).and_then(|v| v.to_str().ok()) {
        if !route.produces.is_empty() && !accepts(accept, &route.produces) {
            return error(
                StatusCode::NOT_ACCEPTABLE,
                "not.acceptable",
                &format!("{} produces {}, and the request accepts only {accept}", route.id, route.produces.join(", ")),
            );
        }
    }
    let query_pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    if let Err(message) = validate(&state.doc, route, &query_pairs, body) {
        return error(StatusCode::BAD_REQUEST, "bad.request", &message);
    }
    if let Some(r) = state.jobs.answer(route, &path_params, &query_pairs, headers, body, &|| state.queue_ids()) {
        return r;
    }
    if let Some(r) = state.stateful(route, &path_params, &query_pairs, body, &state.owner(headers)) {
        return r;
    }
    let base = state.http_base();
    let polled =
        state.polled.answer(&state.doc, state.options.seed, state.options.job_delay, &base, route, &path_params);
    match polled {
        Some(crate::polled::Answer::Body(value)) => return full(StatusCode::OK, value.to_string()),
        Some(crate::polled::Answer::NotFound(message)) => return error(StatusCode::NOT_FOUND, "not.found", &message),
        Some(crate::polled::Answer::NotReady(message)) => {
            return error(StatusCode::BAD_REQUEST, "bad.request", &message)
        }
        None => {}
    }
    let Some(pointer) = &route.response else {
        return full(StatusCode::OK, Bytes::new());
    };
    let sampler =
        Sampler::new(&state.doc, SampleOptions { max_depth: 2, seed: state.options.seed, ..Default::default() });
    let mut value = sampler.at_pointer(pointer).unwrap_or(Value::Null);
    // A text operation (a `text/plain` template, the `text/calendar` feed) answers text.
    if let (Some(kind), Value::String(text)) = (route.produces.first(), &value) {
        if !kind.contains("json") {
            let mut r = full(StatusCode::OK, text.clone());
            if let Ok(kind) = kind.parse() {
                r.headers_mut().insert("content-type", kind);
            }
            return r;
        }
    }
    paginate(&mut value, path, &query_pairs, state.options.listing_total);
    full(StatusCode::OK, value.to_string())
}

/// Whether an `Accept` header takes one of `produces`: a media range (`*/*`, `text/*`, or a
/// type) of the header, parameters aside, matching one of them.
fn accepts(accept: &str, produces: &[String]) -> bool {
    accept.split(',').map(|range| range.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).any(|range| {
        range == "*/*"
            || produces.iter().any(|kind| {
                *kind == range || range.strip_suffix("/*").is_some_and(|top| kind.split('/').next() == Some(top))
            })
    })
}

/// Checks required parameters, parameter types and enums, and the body against its schema.
fn validate(doc: &Document, route: &Route, query: &[(String, String)], body: &Bytes) -> Result<(), String> {
    for p in route.params.iter().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap_or_default();
        let values: Vec<&str> = query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
        if values.is_empty() {
            if p["required"].as_bool().unwrap_or(false) {
                return Err(format!("the query parameter {name} is required"));
            }
            continue;
        }
        let (ty, enums) =
            if p["type"] == "array" { (&p["items"]["type"], &p["items"]["enum"]) } else { (&p["type"], &p["enum"]) };
        for v in values.iter().flat_map(|v| {
            if p["type"] == "array" && p["collectionFormat"] != "multi" {
                v.split(',').collect()
            } else {
                vec![*v]
            }
        }) {
            let ok = match ty.as_str() {
                Some("integer") => v.parse::<i64>().is_ok(),
                Some("number") => v.parse::<f64>().is_ok(),
                Some("boolean") => v == "true" || v == "false",
                _ => true,
            };
            if !ok {
                return Err(format!("the query parameter {name} must be {}, got {v:?}", ty.as_str().unwrap_or("?")));
            }
            if let Some(allowed) = enums.as_array() {
                if !allowed.iter().any(|a| a.as_str() == Some(v)) {
                    return Err(format!("the query parameter {name} must be one of {allowed:?}, got {v:?}"));
                }
            }
        }
    }
    if let Some((schema, required)) = &route.body {
        if body.is_empty() {
            return if *required { Err("a request body is required".into()) } else { Ok(()) };
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("the request body is not valid JSON: {e}"))?;
        check_value(doc, schema, &value, "body", 0)?;
    }
    Ok(())
}

/// Checks a JSON value against a schema: types, required properties, enums, array items and
/// nested objects (as deep as the value goes). Unknown properties are allowed, as the API does.
fn check_value(doc: &Document, schema: &Value, value: &Value, at: &str, depth: usize) -> Result<(), String> {
    if depth > 64 || value.is_null() {
        return Ok(());
    }
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.resolve(r).unwrap_or(&Value::Null),
        None => schema,
    };
    let expected = match schema.get("type").and_then(Value::as_str) {
        Some(t) => t,
        None if schema.get("properties").is_some() => "object",
        None => return Ok(()),
    };
    let fits = match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !fits {
        return Err(format!("{at} must be {expected}, found {}", kind(value)));
    }
    if let (Some(allowed), Some(v)) = (schema.get("enum").and_then(Value::as_array), value.as_str()) {
        if !allowed.iter().any(|a| a.as_str() == Some(v)) {
            let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
            return Err(format!("{at} must be one of {}, found {v:?}", names.join(", ")));
        }
    }
    match value {
        Value::Object(obj) => {
            // Required properties of the body itself (nested objects are checked for types).
            let required = if depth == 0 { schema.get("required").and_then(Value::as_array) } else { None };
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if !obj.contains_key(name) {
                    return Err(format!("{at}.{name} is required"));
                }
            }
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, v) in obj {
                    if let Some(p) = props.get(k) {
                        check_value(doc, p, v, &format!("{at}.{k}"), depth + 1)?;
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    check_value(doc, item_schema, v, &format!("{at}[{i}]"), depth + 1)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The page a listing request asks for: `pageSize` (default 25, at most 500) and `pageNumber`
/// (from 1).
pub(crate) struct Page {
    pub(crate) size: usize,
    pub(crate) number: usize,
}

impl Page {
    pub(crate) fn of(query: &[(String, String)]) -> Self {
        let get = |k: &str| query.iter().find(|(q, _)| q == k).and_then(|(_, v)| v.parse::<usize>().ok());
        Self {
            size: get("pageSize").filter(|n| *n > 0).unwrap_or(25).min(500),
            number: get("pageNumber").filter(|n| *n > 0).unwrap_or(1),
        }
    }

    /// The indexes of this page's items in a listing of `total`.
    pub(crate) fn range(&self, total: usize) -> std::ops::Range<usize> {
        let start = (self.number - 1) * self.size;
        start..total.min(start + self.size)
    }

    /// The next page's address, when there is one.
    pub(crate) fn next_uri(&self, path: &str, total: usize) -> Option<String> {
        (self.number < total.div_ceil(self.size))
            .then(|| format!("{path}?pageSize={}&pageNumber={}", self.size, self.number + 1))
    }

    /// The body of this page of a stateful listing of `total` items.
    pub(crate) fn listing(&self, entities: Vec<Value>, total: usize, path: &str) -> Value {
        let count = total.div_ceil(self.size).max(1);
        let mut listing = json!({"entities": entities, "pageSize": self.size, "pageNumber": self.number, "total": total, "pageCount": count});
        if let Some(next) = self.next_uri(path, total) {
            listing["nextUri"] = json!(next);
        }
        listing
    }
}

/// Turns a sampled listing into a real page of a listing of `total` items.
fn paginate(value: &mut Value, path: &str, query: &[(String, String)], total: usize) {
    let Some(obj) = value.as_object_mut() else { return };
    let Some(Value::Array(entities)) = obj.get("entities").cloned() else { return };
    let template = entities.first().cloned();
    let page = Page::of(query);
    let (page_size, page_number) = (page.size, page.number);
    let page_count = total.div_ceil(page_size);
    let items: Vec<Value> = page
        .range(total)
        .map(|i| {
            let mut item = template.clone().unwrap_or_else(|| json!({}));
            if let Some(o) = item.as_object_mut() {
                // Distinct items: numbered ids, names and placeholder strings.
                for (key, value) in o.iter_mut() {
                    if value.as_str() == Some("sample") {
                        *value = Value::String(format!("{key}-{i}"));
                    }
                }
                // Ids only where the entity declares one (the sample has every declared field),
                // in the form the sample has: a UUID where the spec asks for one.
                if let Some(id) = o.get("id").and_then(Value::as_str) {
                    let uuid = id.len() == 36 && id.matches('-').count() == 4;
                    let id = if uuid { format!("00000000-0000-4000-8000-{i:012}") } else { format!("mock-{i}") };
                    o.insert("id".into(), Value::String(id));
                }
                if o.contains_key("name") {
                    o.insert("name".into(), Value::String(format!("Item {i}")));
                }
            }
            item
        })
        .collect();
    obj.insert("entities".into(), Value::Array(items));
    // Only numeric paging fields: some listings have a `total` that is an object.
    for (k, v) in [("pageSize", page_size), ("pageNumber", page_number), ("pageCount", page_count), ("total", total)] {
        if obj.get(k).is_some_and(Value::is_number) {
            obj.insert(k.into(), json!(v));
        }
    }
    let next = page.next_uri(path, total);
    for k in ["nextUri", "cursor"] {
        if obj.get(k).is_some_and(Value::is_string) {
            obj.insert(
                k.into(),
                match (&next, k) {
                    (Some(n), "nextUri") => Value::String(n.clone()),
                    (Some(_), _) => Value::String(format!("cursor-{}", page_number + 1)),
                    (None, _) => Value::Null,
                },
            );
        }
    }
    for k in ["previousUri", "firstUri", "lastUri", "selfUri"] {
        obj.remove(k);
    }
}
