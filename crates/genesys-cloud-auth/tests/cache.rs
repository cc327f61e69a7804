//! The token cache against a fake token endpoint, on tokio's paused clock.

use genesys_cloud_auth::{CacheOptions, ClientCredentials, Grant, Secret, TokenCache, TokenProvider};
use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http;
use genesys_cloud_core::{BoxFuture, Error, ErrorKind, Executor};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    Down,
    Hang,
    /// Answers (like `Ok`) after this many seconds.
    Slow(u64),
}

/// A token endpoint: counts requests, records their forms, answers `tok-N` (and `refresh-N`).
struct Endpoint {
    calls: AtomicUsize,
    mode: Mutex<Mode>,
    forms: Mutex<Vec<Vec<(String, String)>>>,
    lifetime: u64,
}

impl Endpoint {
    fn new(lifetime: u64) -> Arc<Self> {
        Arc::new(Self {
            calls: AtomicUsize::new(0),
            mode: Mutex::new(Mode::Ok),
            forms: Mutex::new(Vec::new()),
            lifetime,
        })
    }
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Executor for Endpoint {
    fn execute(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.forms.lock().unwrap().push(form_urlencoded_parse(request.body()));
        let mode = *self.mode.lock().unwrap();
        let lifetime = self.lifetime;
        Box::pin(async move {
            // The endpoint takes a moment, so concurrent callers pile up behind one request.
            tokio::time::sleep(Duration::from_millis(50)).await;
            if let Mode::Slow(secs) = mode {
                tokio::time::sleep(Duration::from_secs(secs)).await;
            }
            let (status, body) = match mode {
                Mode::Ok | Mode::Slow(_) => (
                    200,
                    format!(
                        r#"{{"access_token":"tok-{n}","token_type":"bearer","expires_in":{lifetime},"refresh_token":"refresh-{n}"}}"#
                    ),
                ),
                Mode::Down => (500, r#"{"error":"server_error","description":"token service unavailable"}"#.to_owned()),
                Mode::Hang => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    (500, String::new())
                }
            };
            let mut response = http::Response::new(Bytes::from(body));
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok(response)
        })
    }
}

fn form_urlencoded_parse(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.replace("%2F", "/"))))
        .collect()
}

fn cache(endpoint: &Arc<Endpoint>, grant: Grant, options: CacheOptions) -> Arc<TokenCache> {
    Arc::new(TokenCache::new(endpoint.clone(), grant, options))
}

fn cc() -> Grant {
    Grant::client_credentials("client-id", "client-secret-value")
}

async fn token(c: &TokenCache) -> Result<String, Error> {
    c.token().await.map(|s| s.expose().to_owned())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_thousand_calls_at_expiry_make_one_token_request() {
    let endpoint = Endpoint::new(3600);
    let c = cache(&endpoint, cc(), CacheOptions::default());
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    assert_eq!(endpoint.calls(), 1);
    tokio::time::advance(Duration::from_secs(3600)).await;
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { token(&c).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "tok-2");
    }
    assert_eq!(endpoint.calls(), 2, "one request for a thousand waiting calls");
    // And the fresh token is served from the cache.
    assert_eq!(token(&c).await.unwrap(), "tok-2");
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_holds_across_threads() {
    let endpoint = Endpoint::new(3600);
    let c = cache(&endpoint, cc(), CacheOptions::default());
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { token(&c).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap(), "tok-1");
    }
    assert_eq!(endpoint.calls(), 1);
}

/// Ten-minute tokens, refreshed a minute (no jitter) before they expire.
fn ten_minutes_with_a_minute_margin() -> (Arc<Endpoint>, Arc<TokenCache>) {
    let endpoint = Endpoint::new(600);
    let options = CacheOptions::default().refresh_margin(Duration::from_secs(60)).max_jitter(Duration::ZERO);
    let c = cache(&endpoint, cc(), options);
    (endpoint, c)
}

#[tokio::test(start_paused = true)]
async fn refreshes_a_margin_before_expiry() {
    let (_, c) = ten_minutes_with_a_minute_margin();
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    tokio::time::advance(Duration::from_secs(530)).await;
    assert_eq!(token(&c).await.unwrap(), "tok-1", "still outside the margin");
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(token(&c).await.unwrap(), "tok-2", "inside the margin: refreshed before expiry");
}

#[tokio::test(start_paused = true)]
async fn ready_gives_a_fresh_token_without_waiting_and_nothing_inside_the_margin() {
    let (endpoint, c) = ten_minutes_with_a_minute_margin();
    assert!(c.ready().is_none(), "no token yet: the caller must wait for one");
    assert_eq!(endpoint.calls(), 0, "ready() never fetches");
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    assert_eq!(c.ready().map(|t| t.expose().to_owned()).as_deref(), Some("tok-1"));
    tokio::time::advance(Duration::from_secs(550)).await;
    assert!(c.ready().is_none(), "inside the margin the refresh goes through token()");
    assert_eq!(token(&c).await.unwrap(), "tok-2");
    c.invalidate(&Secret::new("tok-2"));
    assert!(c.ready().is_none(), "an invalidated token is not handed out");
    assert_eq!(endpoint.calls(), 2);
    let fixed = genesys_cloud_auth::StaticToken::new("fixed");
    assert_eq!(fixed.ready().map(|t| t.expose().to_owned()).as_deref(), Some("fixed"));
}

#[tokio::test(start_paused = true)]
async fn token_endpoint_down_is_a_typed_auth_error_and_recovers() {
    let endpoint = Endpoint::new(600);
    endpoint.set(Mode::Down);
    let c = cache(&endpoint, cc(), CacheOptions::default());
    let e = token(&c).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert_eq!(e.status(), Some(http::StatusCode::INTERNAL_SERVER_ERROR));
    assert!(e.to_string().contains("token service unavailable"), "{e}");
    assert!(!e.to_string().contains("client-secret-value"));
    endpoint.set(Mode::Ok);
    assert_eq!(token(&c).await.unwrap(), "tok-2");
}

#[tokio::test(start_paused = true)]
async fn a_failed_refresh_inside_the_margin_keeps_the_valid_token() {
    let endpoint = Endpoint::new(600);
    let c = cache(&endpoint, cc(), CacheOptions::default().max_jitter(Duration::ZERO));
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    tokio::time::advance(Duration::from_secs(560)).await;
    endpoint.set(Mode::Down);
    assert_eq!(token(&c).await.unwrap(), "tok-1", "still valid for 40 s: used while the endpoint is down");
    endpoint.set(Mode::Ok);
    assert_eq!(token(&c).await.unwrap(), "tok-3");
}

#[tokio::test(start_paused = true)]
async fn waiting_is_limited_and_a_hung_request_is_abandoned_at_its_own_limit() {
    let endpoint = Endpoint::new(600);
    endpoint.set(Mode::Hang);
    let options = CacheOptions::default().wait_limit(Duration::from_secs(10)).request_limit(Duration::from_secs(60));
    let c = cache(&endpoint, cc(), options);
    let started = tokio::time::Instant::now();
    let e = token(&c).await.unwrap_err();
    assert!(e.is_auth() && e.is_timeout(), "{e:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    endpoint.set(Mode::Ok);
    // The hung request is still the one in flight: the next caller joins it, not a new one.
    assert!(token(&c).await.is_err());
    assert_eq!(endpoint.calls(), 1);
    // Past its own limit it is abandoned, and the next call starts a fresh request.
    tokio::time::advance(Duration::from_secs(41)).await;
    assert_eq!(token(&c).await.unwrap(), "tok-2");
    assert_eq!(endpoint.calls(), 2);
}

/// The review's case: the token endpoint answers a refresh after 12 s (rotating the refresh
/// token) while 50 calls wait with a 10 s limit.
#[tokio::test(start_paused = true)]
async fn a_refresh_answered_after_every_waiter_gave_up_is_stored_with_its_rotated_refresh_token() {
    let endpoint = Endpoint::new(600);
    let grant = Grant::AuthorizationCode {
        client: ClientCredentials::new("id", "secret"),
        code: Secret::new("the-code"),
        redirect_uri: "https://app.example/cb".into(),
    };
    let c =
        cache(&endpoint, grant, CacheOptions::default().wait_limit(Duration::from_secs(10)).max_jitter(Duration::ZERO));
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    // tok-1 expires; its refresh (with refresh-1) takes 12 s.
    tokio::time::advance(Duration::from_secs(600)).await;
    endpoint.set(Mode::Slow(12));
    let waiters: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.token().await })
        })
        .collect();
    for w in waiters {
        let e = w.await.unwrap().unwrap_err();
        assert!(e.is_auth() && e.is_timeout(), "a typed auth timeout: {e:?}");
    }
    assert_eq!(endpoint.calls(), 2, "one token request for the 50 calls (after the first token's)");
    // Every waiter has gone; the request goes on and its answer is stored when it comes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    endpoint.set(Mode::Ok);
    assert_eq!(c.ready().map(|t| t.expose().to_owned()).as_deref(), Some("tok-2"), "stored with nobody waiting");
    assert_eq!(token(&c).await.unwrap(), "tok-2");
    assert_eq!(endpoint.calls(), 2, "the next call makes no token request");
    // The next refresh sends the rotated refresh token, not the spent one.
    tokio::time::advance(Duration::from_secs(600)).await;
    assert_eq!(token(&c).await.unwrap(), "tok-3");
    let forms = endpoint.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 3);
    assert_eq!(
        forms[1],
        vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "refresh-1".into())]
    );
    assert_eq!(
        forms[2],
        vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "refresh-2".into())],
        "the rotated refresh token is the one sent next"
    );
}

#[tokio::test(start_paused = true)]
async fn a_401_re_mints_only_the_rejected_token() {
    let endpoint = Endpoint::new(3600);
    let c = cache(&endpoint, cc(), CacheOptions::default());
    let first = c.token().await.unwrap();
    c.invalidate(&first);
    let second = c.token().await.unwrap();
    assert_eq!(second.expose(), "tok-2");
    // A late 401 for the old token does not throw away the new one.
    c.invalidate(&first);
    assert_eq!(c.token().await.unwrap().expose(), "tok-2");
    assert_eq!(endpoint.calls(), 2);
}

#[tokio::test(start_paused = true)]
async fn refresh_tokens_rotate() {
    let endpoint = Endpoint::new(600);
    let grant = Grant::AuthorizationCode {
        client: ClientCredentials::new("id", "secret"),
        code: Secret::new("the-code"),
        redirect_uri: "https://app.example/cb".into(),
    };
    let c = cache(&endpoint, grant, CacheOptions::default());
    for expected in ["tok-1", "tok-2", "tok-3"] {
        assert_eq!(token(&c).await.unwrap(), expected);
        tokio::time::advance(Duration::from_secs(600)).await;
    }
    let forms = endpoint.forms.lock().unwrap().clone();
    assert_eq!(forms[0][0], ("grant_type".into(), "authorization_code".into()));
    assert_eq!(
        forms[1],
        vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "refresh-1".into())]
    );
    assert_eq!(
        forms[2],
        vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), "refresh-2".into())]
    );
}

#[tokio::test(start_paused = true)]
async fn refresh_can_be_turned_off() {
    let endpoint = Endpoint::new(60);
    let c = cache(&endpoint, cc(), CacheOptions::default().refresh_enabled(false));
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    assert_eq!(endpoint.calls(), 1);
    c.set_token(genesys_cloud_auth::TokenInfo {
        access_token: Secret::new("user-supplied"),
        token_type: "bearer".into(),
        expires_in: Some(Duration::from_secs(60)),
        refresh_token: None,
    });
    assert_eq!(token(&c).await.unwrap(), "user-supplied");
}

#[tokio::test(start_paused = true)]
async fn debug_output_has_no_secrets() {
    let endpoint = Endpoint::new(600);
    let c = cache(&endpoint, cc(), CacheOptions::default());
    let t = token(&c).await.unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("client-secret-value") && !shown.contains(&t), "{shown}");
}

/// A store that never answers a read (Redis stalled) and refuses everything else (Redis
/// down).
struct DownStore;

impl genesys_cloud_auth::TokenStore for DownStore {
    fn get<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<Option<genesys_cloud_auth::StoredToken>, Error>> {
        Box::pin(std::future::pending())
    }
    fn lock<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Connect, "connection refused")) })
    }
    fn put<'a>(
        &'a self,
        _: &'a str,
        _: &'a str,
        _: &'a Secret,
        _: Duration,
        _: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Connect, "connection refused")) })
    }
    fn unlock<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Connect, "connection refused")) })
    }
    fn remove<'a>(&'a self, _: &'a str, _: &'a Secret) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async { Err(Error::new(ErrorKind::Connect, "connection refused")) })
    }
}

/// Eight caches (eight processes of one fleet) over one store: one token request for all of
/// them, whoever asks first and however many ask at once; at expiry one more, not eight.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_fleet_of_caches_sends_one_token_request_per_expiry() {
    let endpoint = Endpoint::new(600);
    let store: Arc<dyn genesys_cloud_auth::TokenStore> = Arc::new(genesys_cloud_auth::MemoryTokenStore::default());
    let fleet: Vec<Arc<TokenCache>> = (0..8)
        .map(|_| {
            Arc::new(
                TokenCache::new(endpoint.clone(), cc(), CacheOptions::default())
                    .shared_through(store.clone(), "ns:t:0"),
            )
        })
        .collect();
    let firsts = futures_util::future::join_all(fleet.iter().map(|c| token(c))).await;
    assert!(firsts.iter().all(|t| t.as_ref().is_ok_and(|t| t == "tok-1")), "{firsts:?}");
    assert_eq!(endpoint.calls(), 1, "one token request for the fleet");
    let stats: Vec<_> = fleet.iter().map(|c| c.fleet_stats().unwrap()).collect();
    assert_eq!(stats.iter().map(|s| s.minted).sum::<u64>(), 1);
    assert_eq!(stats.iter().map(|s| s.read).sum::<u64>(), 7, "the others read it");
    // Past the refresh point of every cache (lifetime 600 s, margin 60 s, jitter up to 30 s).
    tokio::time::advance(Duration::from_secs(545)).await;
    let seconds = futures_util::future::join_all(fleet.iter().map(|c| token(c))).await;
    assert!(seconds.iter().all(|t| t.as_ref().is_ok_and(|t| t == "tok-2")), "{seconds:?}");
    assert_eq!(endpoint.calls(), 2, "one more for the fleet at expiry");
}

/// A 401 drops the token for the whole fleet: every cache that saw it rejected asks again,
/// and one token request serves them all.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_rejected_token_is_minted_again_once_for_the_fleet() {
    let endpoint = Endpoint::new(3600);
    let store: Arc<dyn genesys_cloud_auth::TokenStore> = Arc::new(genesys_cloud_auth::MemoryTokenStore::default());
    let fleet: Vec<Arc<TokenCache>> = (0..4)
        .map(|_| {
            Arc::new(
                TokenCache::new(endpoint.clone(), cc(), CacheOptions::default())
                    .shared_through(store.clone(), "ns:t:0"),
            )
        })
        .collect();
    for c in &fleet {
        assert_eq!(token(c).await.unwrap(), "tok-1");
    }
    let rejected = Secret::new("tok-1");
    for c in &fleet {
        c.invalidate(&rejected);
    }
    let after = futures_util::future::join_all(fleet.iter().map(|c| token(c))).await;
    assert!(after.iter().all(|t| t.as_ref().is_ok_and(|t| t == "tok-2")), "{after:?}");
    assert_eq!(endpoint.calls(), 2);
    // A cache that learns of the 401 late drops only the token it saw, not the new one.
    fleet[0].invalidate(&rejected);
    assert_eq!(token(&fleet[0]).await.unwrap(), "tok-2");
    assert_eq!(endpoint.calls(), 2);
}

/// A store that is down (or never answers) does not stop the cache: each cache mints on its
/// own within the store's bound, counts it, and calls go on.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_failed_store_falls_back_to_minting_alone() {
    let endpoint = Endpoint::new(3600);
    let store: Arc<dyn genesys_cloud_auth::TokenStore> = Arc::new(DownStore);
    let a = TokenCache::new(endpoint.clone(), cc(), CacheOptions::default()).shared_through(store.clone(), "ns:t:0");
    let b = TokenCache::new(endpoint.clone(), cc(), CacheOptions::default()).shared_through(store, "ns:t:0");
    let started = tokio::time::Instant::now();
    assert_eq!(token(&a).await.unwrap(), "tok-1");
    assert_eq!(token(&b).await.unwrap(), "tok-2");
    assert_eq!(a.fleet_stats().unwrap().fallbacks, 1);
    assert_eq!(b.fleet_stats().unwrap().fallbacks, 1);
    a.invalidate(&Secret::new("tok-1"));
    assert_eq!(token(&a).await.unwrap(), "tok-3");
    assert_eq!(a.fleet_stats().unwrap().fallbacks, 2);
    // Each read waited for the store's bound (500 ms), then minted: three of them.
    assert_eq!(started.elapsed().as_millis() / 100, 16, "{:?}", started.elapsed());
}

/// A user's tokens (a grant with a refresh token) stay with their cache, whatever the store.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn only_an_oauth_clients_tokens_go_to_the_fleet() {
    let endpoint = Endpoint::new(3600);
    let store: Arc<dyn genesys_cloud_auth::TokenStore> = Arc::new(genesys_cloud_auth::MemoryTokenStore::default());
    let user = Grant::RefreshToken {
        client_id: "client-id".into(),
        client_secret: Some(Secret::new("client-secret-value")),
        refresh_token: Secret::new("refresh-0"),
    };
    let c = TokenCache::new(endpoint.clone(), user, CacheOptions::default()).shared_through(store.clone(), "ns:t:0");
    assert!(c.fleet_stats().is_none());
    assert_eq!(token(&c).await.unwrap(), "tok-1");
    assert!(store.get("ns:t:0").await.unwrap().is_none(), "nothing stored");
}
