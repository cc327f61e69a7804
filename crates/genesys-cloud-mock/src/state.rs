//! The mock's state: tokens, codes, faults, counters and the small stateful core.

use crate::router::{Route, Router};
use crate::{error, full, MockBody, MockOptions};
use base64::Engine as _;
use bytes::Bytes;
use genesys_cloud_spec::Document;
use hyper::{HeaderMap, Response, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a fault does.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status (a Genesys error body), with an optional `Retry-After`
    /// (seconds or an HTTP-date, as given).
    Status {
        /// The status code.
        status: u16,
        /// The `Retry-After` value.
        retry_after: Option<String>,
    },
    /// Wait before answering normally.
    Latency(Duration),
    /// Send part of the body, then cut the connection.
    ResetMidBody,
    /// Answer 200 with a JSON body cut off part-way (the length matches what is sent).
    TruncatedJson,
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Expire every token, then answer normally (which is then a 401 for secured calls).
    ExpireTokens,
}

impl FaultKind {
    /// Reads the `x-mock-fault` header: `503`, `429; retry-after=2`, `latency=250` (ms),
    /// `reset`, `truncated-json`, `malformed-json`, `expire-tokens`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(';').map(str::trim);
        let head = parts.next()?;
        if let Ok(status) = head.parse::<u16>() {
            let retry_after = parts.find_map(|p| p.strip_prefix("retry-after=")).map(str::to_owned);
            return (100..600).contains(&status).then_some(FaultKind::Status { status, retry_after });
        }
        match head {
            "reset" => Some(FaultKind::ResetMidBody),
            "malformed-json" => Some(FaultKind::MalformedJson),
            "truncated-json" => Some(FaultKind::TruncatedJson),
            "expire-tokens" => Some(FaultKind::ExpireTokens),
            other => other
                .strip_prefix("latency=")
                .and_then(|ms| ms.parse().ok())
                .map(|ms| FaultKind::Latency(Duration::from_millis(ms))),
        }
    }
}

/// A fault rule: what, where, how many times.
#[derive(Debug, Clone)]
pub struct Fault {
    kind: FaultKind,
    path_prefix: Option<String>,
    method: Option<String>,
    times: usize,
}

impl Fault {
    /// A fault of this kind on every request, once.
    pub fn new(kind: FaultKind) -> Self {
        Self { kind, path_prefix: None, method: None, times: 1 }
    }

    /// `status` with no `Retry-After`.
    pub fn status(status: u16) -> Self {
        Self::new(FaultKind::Status { status, retry_after: None })
    }

    /// 429 with `Retry-After` (seconds or an HTTP-date).
    pub fn rate_limited(retry_after: impl Into<String>) -> Self {
        Self::new(FaultKind::Status { status: 429, retry_after: Some(retry_after.into()) })
    }

    /// Only for paths starting with `prefix`.
    pub fn on_path(mut self, prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(prefix.into());
        self
    }

    /// Only for this method.
    pub fn on_method(mut self, method: &str) -> Self {
        self.method = Some(method.to_uppercase());
        self
    }

    /// Applies `n` times (default 1).
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }
}

struct Token {
    expires: Instant,
    /// The OAuth client it was issued to (channels are counted per client).
    client: String,
}

struct Code {
    challenge: Option<String>,
}

#[derive(Default)]
struct Users {
    by_id: BTreeMap<String, Value>,
    /// Users created with eventual consistency on: reads answer 404 until then.
    visible_at: HashMap<String, Instant>,
}

pub(crate) struct State {
    pub(crate) doc: Document,
    pub(crate) router: Router,
    pub(crate) options: MockOptions,
    tokens: Mutex<HashMap<String, Token>>,
    refresh_tokens: Mutex<HashMap<String, ()>>,
    codes: Mutex<HashMap<String, Code>>,
    faults: Mutex<Vec<Fault>>,
    hits: Mutex<HashMap<String, usize>>,
    users: Mutex<Users>,
    /// Routing queues (the fixed set, then the created ones, in order) and skills, kept as
    /// users are: what is created is listed, read, updated and deleted.
    queues: Mutex<Vec<Value>>,
    skills: Mutex<Vec<Value>>,
    counter: AtomicU64,
    token_requests: AtomicUsize,
    pub(crate) connections: AtomicUsize,
    pub(crate) open_connections: AtomicUsize,
    pub(crate) notifications: crate::notify::Hub,
    pub(crate) limits: crate::limits::Limits,
    pub(crate) jobs: crate::jobs::Jobs,
    pub(crate) live: crate::live::Live,
    /// Open Messaging integrations and their webhooks.
    pub(crate) open_integrations: crate::webhooks::OpenIntegrations,
    /// The jobs polled by their status.
    pub(crate) polled: crate::polled::PolledJobs,
}

/// The bearer token of a request, if it has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get("authorization")?.to_str().ok()?.strip_prefix("Bearer ")
}

/// The fixed set of routing queues the listing walks.
const QUEUES: usize = 45;

/// Routing queue `i` of the fixed set.
fn queue(i: usize) -> Value {
    json!({"id": format!("queue-{i:03}"), "name": format!("Queue {i:03}"), "memberCount": i % 7, "division": {"id": "home", "name": "Home"}})
}

impl State {
    pub(crate) fn new(doc: Document, options: MockOptions) -> Self {
        let router = Router::new(&doc);
        let polled = crate::polled::PolledJobs::new(&doc);
        let notifications = crate::notify::Hub::new(options.heartbeat_interval, options.channel_lifetime);
        let mut users = Users::default();
        users.by_id.insert(
            "mock-user-me".into(),
            json!({"id": "mock-user-me", "name": "Mock User", "email": "mock.user@example.com", "state": "active", "version": 1, "username": "mock.user@example.com"}),
        );
        // The organisation's other users: what `GET /api/v2/users` lists, each of which can be
        // fetched, updated and deleted by its id.
        let sampler = genesys_cloud_spec::Sampler::new(
            &doc,
            genesys_cloud_spec::SampleOptions { max_depth: 1, seed: options.seed, ..Default::default() },
        );
        let template = sampler.definition("User").unwrap_or_else(|| json!({}));
        for i in 1..options.listing_total {
            let mut user = template.clone();
            let id = format!("mock-user-seed-{i:05}");
            user["id"] = json!(id);
            user["name"] = json!(format!("User {i:05}"));
            user["email"] = json!(format!("user.{i:05}@example.com"));
            user["username"] = json!(format!("user.{i:05}@example.com"));
            user["state"] = json!("active");
            user["version"] = json!(1);
            users.by_id.insert(id, user);
        }
        let jobs = crate::jobs::Jobs::new(&doc, &router, options.seed, options.job_delay, options.job_items);
        Self {
            jobs,
            doc,
            router,
            options,
            tokens: Mutex::default(),
            refresh_tokens: Mutex::default(),
            codes: Mutex::default(),
            faults: Mutex::default(),
            hits: Mutex::default(),
            users: Mutex::new(users),
            queues: Mutex::new((0..QUEUES).map(queue).collect()),
            skills: Mutex::new(Vec::new()),
            counter: AtomicU64::new(0),
            token_requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            open_connections: AtomicUsize::new(0),
            notifications,
            limits: crate::limits::Limits::default(),
            live: crate::live::Live::default(),
            open_integrations: crate::webhooks::OpenIntegrations::default(),
            polled,
        }
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// The ids of the routing queues, in listing order.
    /// `http://{host}:{port}` of this mock (from the notification hub's `ws://` base).
    pub(crate) fn http_base(&self) -> String {
        self.notifications.base().replacen("ws://", "http://", 1)
    }

    pub(crate) fn queue_ids(&self) -> Vec<String> {
        let queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.iter().filter_map(|q| q["id"].as_str().map(str::to_owned)).collect()
    }

    /// The properties definition `kind` declares.
    fn properties(&self, kind: &str) -> Option<&serde_json::Map<String, Value>> {
        self.doc.definition(kind).and_then(|d| d.get("properties")).and_then(Value::as_object)
    }

    /// The fields of `sent` that definition `kind` declares (what the service keeps of a
    /// create or update body).
    fn declared_fields(&self, sent: &Value, kind: &str) -> serde_json::Map<String, Value> {
        let declared = self.properties(kind);
        sent.as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| declared.is_some_and(|d| d.contains_key(*k)) && k.as_str() != "id")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// `POST`: a kept entity of `kind` from the body, with an id (and version 1 where the
    /// definition has a version). A name in use (any case) is a 409, as the service answers
    /// for queues and skills.
    fn create_kept(
        &self,
        kept: &Mutex<Vec<Value>>,
        sent: &Value,
        kind: &str,
        noun: &str,
        complete: impl FnOnce(&mut Value),
    ) -> Response<MockBody> {
        let mut entity = Value::Object(self.declared_fields(sent, kind));
        let mut all = kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(name) = entity.get("name").and_then(Value::as_str) {
            if all.iter().any(|e| e["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))) {
                return error(
                    StatusCode::CONFLICT,
                    "general.conflict",
                    &format!("A {noun} named {name} already exists"),
                );
            }
        }
        entity["id"] = json!(format!("mock-{noun}-{:06}", self.next()));
        // The version's type is the definition's (an integer for most, a string for skills).
        let declared = self.properties(kind);
        match declared.and_then(|p| p.get("version")).and_then(|v| v.get("type")).and_then(Value::as_str) {
            Some("string") => entity["version"] = json!("1"),
            Some(_) => entity["version"] = json!(1),
            None => {}
        }
        let now = json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        for key in ["dateCreated", "dateModified"] {
            if declared.is_some_and(|d| d.contains_key(key)) {
                entity[key] = now.clone();
            }
        }
        complete(&mut entity);
        all.push(entity.clone());
        full(StatusCode::OK, entity.to_string())
    }

    fn read_kept(&self, kept: &Mutex<Vec<Value>>, id: &str, noun: &str) -> Response<MockBody> {
        let all = kept.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter().find(|e| e["id"] == id) {
            Some(e) => full(StatusCode::OK, e.to_string()),
            None => error(StatusCode::NOT_FOUND, "not.found", &format!("The {noun} {id} could not be found")),
        }
    }

    /// `PUT`: the declared fields replace the kept ones; for a versioned entity a `version`
    /// that is not the current one is a 409, as for users.
    fn update_kept(
        &self,
        kept: &Mutex<Vec<Value>>,
        id: &str,
        sent: &Value,
        kind: &str,
        noun: &str,
    ) -> Response<MockBody> {
        let fields = self.declared_fields(sent, kind);
        let mut all = kept.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entity) = all.iter_mut().find(|e| e["id"] == id) else {
            return error(StatusCode::NOT_FOUND, "not.found", &format!("The {noun} {id} could not be found"));
        };
        if let Some(current) = entity.get("version").and_then(Value::as_i64) {
            if sent.get("version").and_then(Value::as_i64).is_some_and(|v| v != current) {
                return error(
                    StatusCode::CONFLICT,
                    "general.conflict",
                    &format!("The version supplied does not match the current version {current}"),
                );
            }
            entity["version"] = json!(current + 1);
        }
        for (k, v) in fields.into_iter().filter(|(k, _)| k != "version") {
            entity[k.as_str()] = v;
        }
        full(StatusCode::OK, entity.to_string())
    }

    fn delete_kept(&self, kept: &Mutex<Vec<Value>>, id: &str, noun: &str) -> Response<MockBody> {
        let mut all = kept.lock().unwrap_or_else(|e| e.into_inner());
        match all.iter().position(|e| e["id"] == id) {
            Some(i) => {
                all.remove(i);
                full(StatusCode::OK, "{}")
            }
            None => error(StatusCode::NOT_FOUND, "not.found", &format!("The {noun} {id} could not be found")),
        }
    }

    fn list_kept(&self, kept: &Mutex<Vec<Value>>, query: &[(String, String)], path: &str) -> Response<MockBody> {
        let page = crate::Page::of(query);
        let all = kept.lock().unwrap_or_else(|e| e.into_inner());
        let entities: Vec<Value> = page.range(all.len()).map(|i| all[i].clone()).collect();
        full(StatusCode::OK, page.listing(entities, all.len(), path).to_string())
    }

    pub(crate) fn next_correlation_id(&self) -> String {
        format!("mock-{:08x}-{:04x}", self.options.seed as u32, self.next())
    }

    pub(crate) fn record(&self, path: &str) {
        *self.hits.lock().unwrap_or_else(|e| e.into_inner()).entry(path.to_owned()).or_default() += 1;
    }

    pub(crate) fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).get(path).copied().unwrap_or(0)
    }

    pub(crate) fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }

    pub(crate) fn inject(&self, fault: Fault) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
    }

    pub(crate) fn clear_faults(&self) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let i = faults.iter().position(|f| {
            f.times > 0
                && f.path_prefix.as_deref().is_none_or(|p| path.starts_with(p))
                && f.method.as_deref().is_none_or(|m| m == method)
        })?;
        faults[i].times -= 1;
        let kind = faults[i].kind.clone();
        if faults[i].times == 0 {
            faults.remove(i);
        }
        Some(kind)
    }

    pub(crate) fn expire_tokens(&self) {
        for t in self.tokens.lock().unwrap_or_else(|e| e.into_inner()).values_mut() {
            t.expires = Instant::now();
        }
    }

    /// The access tokens issued so far, oldest first.
    pub(crate) fn issued(&self) -> Vec<String> {
        let mut all: Vec<String> = self.tokens.lock().unwrap_or_else(|e| e.into_inner()).keys().cloned().collect();
        all.sort();
        all
    }

    /// Expires one token now; whether it was issued.
    pub(crate) fn expire_token(&self, token: &str) -> bool {
        match self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get_mut(token) {
            Some(t) => {
                t.expires = Instant::now();
                true
            }
            None => false,
        }
    }

    pub(crate) fn check_bearer(&self, headers: &HeaderMap) -> Result<(), String> {
        headers.get("authorization").ok_or("no access token")?;
        let token = bearer(headers).ok_or("not a bearer token")?;
        match self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(token) {
            Some(t) if t.expires > Instant::now() => Ok(()),
            Some(_) => Err("the access token has expired".into()),
            None => Err("unknown access token".into()),
        }
    }

    /// The OAuth client a request's bearer token was issued to ("" when unknown).
    pub(crate) fn owner(&self, headers: &HeaderMap) -> String {
        let Some(token) = bearer(headers) else { return String::new() };
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(token).map(|t| t.client.clone()).unwrap_or_default()
    }

    fn issue(&self, with_refresh: bool, client: &str) -> Value {
        let n = self.next();
        let token = format!("mock-access-{n:06}");
        let record = Token { expires: Instant::now() + self.options.token_lifetime, client: client.to_owned() };
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(token.clone(), record);
        let mut body =
            json!({"access_token": token, "token_type": "bearer", "expires_in": self.options.token_lifetime.as_secs()});
        if with_refresh {
            let refresh = format!("mock-refresh-{n:06}");
            self.refresh_tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(refresh.clone(), ());
            body["refresh_token"] = Value::String(refresh);
        }
        body
    }

    /// `POST /oauth/token`.
    pub(crate) fn token(&self, headers: &HeaderMap, body: &Bytes) -> Response<MockBody> {
        self.token_requests.fetch_add(1, Ordering::SeqCst);
        let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
        let refused = |why: &str| {
            full(StatusCode::BAD_REQUEST, json!({"error": "invalid_grant", "description": why}).to_string())
        };
        let basic = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .filter(|pair| pair.split_once(':').is_some_and(|(id, secret)| !id.is_empty() && !secret.is_empty()));
        let client = basic
            .as_deref()
            .and_then(|pair| pair.split_once(':'))
            .map(|(id, _)| id.to_owned())
            .or_else(|| form.get("client_id").cloned())
            .unwrap_or_default();
        let issued = match form.get("grant_type").map(String::as_str) {
            Some("client_credentials") => {
                if basic.is_none() {
                    return full(
                        StatusCode::UNAUTHORIZED,
                        json!({"error": "invalid_client", "description": "client authentication failed"}).to_string(),
                    );
                }
                self.issue(false, &client)
            }
            Some("urn:ietf:params:oauth:grant-type:saml2-bearer") => {
                if basic.is_none()
                    || form.get("assertion").is_none_or(String::is_empty)
                    || form.get("orgName").is_none_or(String::is_empty)
                {
                    return refused("orgName, assertion and client authentication are required");
                }
                self.issue(false, &client)
            }
            Some("authorization_code") => {
                let Some(code) =
                    form.get("code").and_then(|c| self.codes.lock().unwrap_or_else(|e| e.into_inner()).remove(c))
                else {
                    return refused("unknown or used authorization code");
                };
                match (&code.challenge, form.get("code_verifier")) {
                    (Some(challenge), Some(verifier)) => {
                        let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                            .encode(Sha256::digest(verifier.as_bytes()));
                        if &computed != challenge {
                            return refused("the code verifier does not match the challenge");
                        }
                    }
                    (Some(_), None) => return refused("a code_verifier is required"),
                    (None, _) if basic.is_none() => return refused("client authentication is required"),
                    (None, _) => {}
                }
                self.issue(true, &client)
            }
            Some("refresh_token") => {
                let known = form
                    .get("refresh_token")
                    .is_some_and(|r| self.refresh_tokens.lock().unwrap_or_else(|e| e.into_inner()).remove(r).is_some());
                if !known {
                    return refused("unknown refresh token");
                }
                self.issue(true, &client)
            }
            other => return refused(&format!("unsupported grant type {other:?}")),
        };
        full(StatusCode::OK, issued.to_string())
    }

    pub(crate) fn new_code(&self, challenge: Option<String>) -> String {
        let code = format!("mock-code-{:06}", self.next());
        self.codes.lock().unwrap_or_else(|e| e.into_inner()).insert(code.clone(), Code { challenge });
        code
    }

    /// `GET /oauth/authorize`: signs the user in at once and redirects with a code.
    pub(crate) fn authorize(&self, query: &str) -> Response<MockBody> {
        let q: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let Some(redirect) = q.get("redirect_uri") else {
            return error(StatusCode::BAD_REQUEST, "bad.request", "redirect_uri is required");
        };
        if q.get("response_type").map(String::as_str) != Some("code") {
            return error(StatusCode::BAD_REQUEST, "bad.request", "response_type must be code");
        }
        let challenge = q.get("code_challenge").cloned();
        if challenge.is_some() && q.get("code_challenge_method").map(String::as_str) != Some("S256") {
            return error(StatusCode::BAD_REQUEST, "bad.request", "code_challenge_method must be S256");
        }
        let code = self.new_code(challenge);
        let mut location = format!("{redirect}{}code={code}", if redirect.contains('?') { '&' } else { '?' });
        if let Some(state) = q.get("state") {
            location
                .push_str(&format!("&state={}", form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>()));
        }
        let mut r = full(StatusCode::FOUND, Bytes::new());
        if let Ok(v) = location.parse() {
            r.headers_mut().insert("location", v);
        }
        r
    }

    /// The stateful core: users/me, users CRUD with versions, the routing queues listing, the
    /// notification channels, and the live state of presence, routing status, queue members and
    /// conversations (`live.rs`).
    pub(crate) fn stateful(
        &self,
        route: &Route,
        params: &[(String, String)],
        query: &[(String, String)],
        body: &Bytes,
        owner: &str,
    ) -> Option<Response<MockBody>> {
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let hub = &self.notifications;
        let call = crate::live::Call { method: &route.method, template: &route.template, param: &param, query, body };
        if let Some(r) = self.live.answer(hub, &call) {
            return Some(r);
        }
        let topics_reply = |topics: Vec<String>| {
            let entities: Vec<Value> = topics.iter().map(|t| json!({"id": t})).collect();
            full(StatusCode::OK, json!({"entities": entities}).to_string())
        };
        match (route.method.as_str(), route.template.as_str()) {
            ("GET", "/api/v2/organizations/limits/namespaces/{namespaceName}")
                if param("namespaceName")? == "platform.api" =>
            {
                // The rates the mock enforces, per minute (the platform's when it enforces none).
                let per_minute = |limit: Option<crate::RateLimit>, default: u64| {
                    limit.map_or(default, |l| (u64::from(l.allowed) * 60_000) / (l.window.as_millis().max(1) as u64))
                };
                let entities = json!([
                    {"namespace": "platform.api", "key": "token.rate.per.minute", "value": per_minute(self.options.rate_limit, 300)},
                    {"namespace": "platform.api", "key": "org.app.user.rate.per.minute", "value": per_minute(self.options.client_rate_limit, 3000)},
                    {"namespace": "platform.api", "key": "client.credentials.token.rate.per.minute", "value": 300},
                ]);
                Some(full(StatusCode::OK, json!({"entities": entities}).to_string()))
            }
            ("GET", "/api/v2/organizations/limits/namespaces/{namespaceName}") => {
                // Another namespace of the spec: its limits, each listed under it (the mock
                // enforces none of them, and names one); an unknown namespace is not found.
                let namespace = param("namespaceName")?;
                let known =
                    self.doc.root().pointer("/definitions/Limit/properties/namespace/enum").and_then(Value::as_array);
                Some(match known.is_some_and(|names| names.iter().any(|n| n.as_str() == Some(namespace.as_str()))) {
                    true => {
                        let entity = json!({"namespace": namespace, "key": "mock.requests.per.minute", "value": 1000});
                        full(StatusCode::OK, json!({"entities": [entity]}).to_string())
                    }
                    false => error(StatusCode::NOT_FOUND, "not.found", &format!("no limit namespace {namespace}")),
                })
            }
            ("POST", "/api/v2/conversations/messaging/integrations/open") => {
                let id = format!("mock-open-{:06}", self.next());
                Some(match self.open_integrations.create(id, body) {
                    Ok(made) => full(StatusCode::OK, made.to_string()),
                    Err(m) => error(StatusCode::BAD_REQUEST, "bad.request", &m),
                })
            }
            ("GET", "/api/v2/conversations/messaging/integrations/open/{integrationId}") => {
                let id = param("integrationId")?;
                Some(match self.open_integrations.get(&id) {
                    Some(found) => full(StatusCode::OK, found.to_string()),
                    None => error(StatusCode::NOT_FOUND, "not.found", &format!("no open messaging integration {id}")),
                })
            }
            ("DELETE", "/api/v2/conversations/messaging/integrations/open/{integrationId}") => {
                let id = param("integrationId")?;
                Some(if self.open_integrations.delete(&id) {
                    full(StatusCode::NO_CONTENT, Bytes::new())
                } else {
                    error(StatusCode::NOT_FOUND, "not.found", &format!("no open messaging integration {id}"))
                })
            }
            ("POST", "/api/v2/notifications/channels") => {
                Some(full(StatusCode::OK, hub.create_channel(owner).to_string()))
            }
            ("HEAD", "/api/v2/notifications/channels/{channelId}") => {
                let status = if hub.is_valid(&param("channelId")?) { StatusCode::OK } else { StatusCode::NOT_FOUND };
                Some(full(status, Bytes::new()))
            }
            ("GET", "/api/v2/notifications/channels/{channelId}/subscriptions") => {
                Some(match hub.topics(&param("channelId")?) {
                    Some(t) => topics_reply(t),
                    None => error(StatusCode::NOT_FOUND, "not.found", "no such channel"),
                })
            }
            ("DELETE", "/api/v2/notifications/channels/{channelId}/subscriptions") => {
                Some(if hub.unsubscribe_all(&param("channelId")?) {
                    full(StatusCode::OK, Bytes::new())
                } else {
                    error(StatusCode::NOT_FOUND, "not.found", "no such channel")
                })
            }
            ("PUT" | "POST", "/api/v2/notifications/channels/{channelId}/subscriptions") => {
                let topics = match crate::notify::topics_of(body) {
                    Ok(t) => t,
                    Err(m) => return Some(error(StatusCode::BAD_REQUEST, "bad.request", &m)),
                };
                Some(match hub.subscribe(&param("channelId")?, topics, route.method == "PUT") {
                    Ok(t) => topics_reply(t),
                    Err((404, m)) => error(StatusCode::NOT_FOUND, "not.found", &m),
                    Err((_, m)) => error(StatusCode::BAD_REQUEST, "bad.request", &m),
                })
            }
            ("GET", "/api/v2/users/me") => {
                let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
                Some(match users.by_id.get("mock-user-me") {
                    Some(me) => full(StatusCode::OK, me.to_string()),
                    None => error(StatusCode::NOT_FOUND, "not.found", "the signed-in user was deleted"),
                })
            }
            ("POST", "/api/v2/users") => {
                let created: Value = serde_json::from_slice(body).ok()?;
                // A `User` from the `CreateUser`: the fields both declare, and the division.
                let declared = self.doc.definition("User").and_then(|d| d.get("properties")).and_then(Value::as_object);
                let mut user = json!({});
                for (k, v) in created.as_object()?.iter().filter(|(k, _)| declared.is_some_and(|d| d.contains_key(*k)))
                {
                    user[k.as_str()] = v.clone();
                }
                if let Some(division) = created.get("divisionId").and_then(Value::as_str) {
                    user["division"] = json!({"id": division});
                }
                let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
                // The service refuses a second user with an email in use (any case), as a 409.
                if let Some(email) = user.get("email").and_then(Value::as_str) {
                    let taken = users
                        .by_id
                        .values()
                        .any(|u| u.get("email").and_then(Value::as_str).is_some_and(|e| e.eq_ignore_ascii_case(email)));
                    if taken {
                        return Some(error(
                            StatusCode::CONFLICT,
                            "general.conflict",
                            &format!("A user with the email {email} already exists"),
                        ));
                    }
                }
                let id = format!("mock-user-{:06}", self.next());
                user["id"] = Value::String(id.clone());
                user["version"] = json!(1);
                user["state"] = json!("active");
                if let Some(delay) = self.options.eventual_consistency {
                    users.visible_at.insert(id.clone(), Instant::now() + delay);
                }
                users.by_id.insert(id, user.clone());
                Some(full(StatusCode::OK, user.to_string()))
            }
            ("GET", "/api/v2/users/{userId}") => {
                let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
                let id = param("userId")?;
                let visible = users.visible_at.get(&id).is_none_or(|at| *at <= Instant::now());
                Some(match users.by_id.get(&id).filter(|_| visible) {
                    Some(u) => full(StatusCode::OK, u.to_string()),
                    None => error(StatusCode::NOT_FOUND, "not.found", &format!("The user {id} could not be found")),
                })
            }
            ("PATCH", "/api/v2/users/{userId}") => {
                let id = param("userId")?;
                let patch: Value = serde_json::from_slice(body).ok()?;
                let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
                let Some(user) = users.by_id.get_mut(&id) else {
                    return Some(error(
                        StatusCode::NOT_FOUND,
                        "not.found",
                        &format!("The user {id} could not be found"),
                    ));
                };
                let current = user["version"].as_i64().unwrap_or(1);
                if patch.get("version").and_then(Value::as_i64) != Some(current) {
                    return Some(error(
                        StatusCode::CONFLICT,
                        "general.conflict",
                        &format!("The version supplied does not match the current version {current}"),
                    ));
                }
                for (k, v) in patch.as_object()?.iter().filter(|(k, _)| k.as_str() != "version") {
                    user[k.as_str()] = v.clone();
                }
                user["version"] = json!(current + 1);
                Some(full(StatusCode::OK, user.to_string()))
            }
            ("DELETE", "/api/v2/users/{userId}") => {
                let id = param("userId")?;
                let removed = self.users.lock().unwrap_or_else(|e| e.into_inner()).by_id.remove(&id);
                Some(match removed {
                    Some(_) => full(StatusCode::OK, "{}"),
                    None => error(StatusCode::NOT_FOUND, "not.found", &format!("The user {id} could not be found")),
                })
            }
            ("GET", "/api/v2/users") => {
                let page = crate::Page::of(query);
                let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                // `id` (repeated or comma-separated) picks users; `expand` adds their presence
                // and routing status, as the platform does.
                let values = |name: &str| -> Vec<String> {
                    query.iter().filter(|(k, _)| k == name).flat_map(|(_, v)| v.split(',')).map(str::to_owned).collect()
                };
                let (ids, expand) = (values("id"), values("expand"));
                let listed: Vec<&Value> = users
                    .by_id
                    .iter()
                    .filter(|(id, _)| users.visible_at.get(*id).is_none_or(|at| *at <= now))
                    .filter(|(id, _)| ids.is_empty() || ids.contains(id))
                    .map(|(_, u)| u)
                    .collect();
                let entities: Vec<Value> = page
                    .range(listed.len())
                    .map(|i| {
                        let mut user = listed[i].clone();
                        self.live.expand_user(&mut user, &expand);
                        user
                    })
                    .collect();
                Some(full(StatusCode::OK, page.listing(entities, listed.len(), "/api/v2/users").to_string()))
            }
            ("POST", "/api/v2/analytics/conversations/aggregates/query") => {
                let query: Value = serde_json::from_slice(body).ok()?;
                Some(match crate::report::aggregate(&query, &self.queue_ids(), self.options.job_items) {
                    Ok(answer) => full(StatusCode::OK, answer.to_string()),
                    Err(why) => error(StatusCode::BAD_REQUEST, "bad.request", &why),
                })
            }
            ("POST", "/api/v2/routing/queues") => {
                let sent: Value = serde_json::from_slice(body).ok()?;
                let created = self.create_kept(&self.queues, &sent, "Queue", "queue", |q| {
                    q["memberCount"] = json!(0);
                    if q.get("division").is_none() {
                        q["division"] = json!({"id": "home", "name": "Home"});
                    }
                });
                Some(created)
            }
            ("GET", "/api/v2/routing/queues/{queueId}") => {
                Some(self.read_kept(&self.queues, &param("queueId")?, "queue"))
            }
            ("PUT", "/api/v2/routing/queues/{queueId}") => {
                let sent: Value = serde_json::from_slice(body).ok()?;
                Some(self.update_kept(&self.queues, &param("queueId")?, &sent, "Queue", "queue"))
            }
            ("DELETE", "/api/v2/routing/queues/{queueId}") => {
                Some(self.delete_kept(&self.queues, &param("queueId")?, "queue"))
            }
            ("GET", "/api/v2/routing/queues") => Some(self.list_kept(&self.queues, query, "/api/v2/routing/queues")),
            ("POST", "/api/v2/routing/skills") => {
                let sent: Value = serde_json::from_slice(body).ok()?;
                Some(self.create_kept(&self.skills, &sent, "RoutingSkill", "skill", |s| s["state"] = json!("active")))
            }
            ("GET", "/api/v2/routing/skills/{skillId}") => {
                Some(self.read_kept(&self.skills, &param("skillId")?, "skill"))
            }
            ("DELETE", "/api/v2/routing/skills/{skillId}") => {
                Some(self.delete_kept(&self.skills, &param("skillId")?, "skill"))
            }
            ("GET", "/api/v2/routing/skills") => Some(self.list_kept(&self.skills, query, "/api/v2/routing/skills")),
            _ => None,
        }
    }
}
