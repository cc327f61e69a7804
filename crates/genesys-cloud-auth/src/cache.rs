//! Token providers: a fixed token, and a cache that refreshes once for everyone.

use crate::grant::{request_token, Grant, TokenInfo};
use crate::secret::Secret;
use crate::store::{FleetLink, FleetTokenStats, TokenStore};
use futures_util::future::{FutureExt, Shared};
use genesys_cloud_core::{BoxFuture, Error, ErrorKind, SharedExecutor};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Gives the bearer token of each request. Object-safe, so users can bring their own.
pub trait TokenProvider: Send + Sync + 'static {
    /// A token valid now (fetching or refreshing it if needed).
    fn token(&self) -> BoxFuture<'_, Result<Secret, Error>>;

    /// Tells the provider the API rejected `token` (a 401): a provider that can mint a new
    /// one drops it, so the next [`token`](TokenProvider::token) fetches a fresh one. Only
    /// that token is dropped: a newer one, fetched meanwhile by another call, is kept.
    fn invalidate(&self, token: &Secret) {
        let _ = token;
    }

    /// The token, when the provider has one valid now and need not wait for anything: the
    /// fast path of each request, which then skips [`token`](TokenProvider::token)'s future.
    /// The default (`None`) always goes through `token`.
    fn ready(&self) -> Option<Secret> {
        None
    }
}

/// A token the user manages: always the same, never refreshed.
#[derive(Clone, Debug)]
pub struct StaticToken(Secret);

impl StaticToken {
    /// A provider that always gives `token`.
    pub fn new(token: impl Into<Secret>) -> Self {
        Self(token.into())
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> BoxFuture<'_, Result<Secret, Error>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }

    fn ready(&self) -> Option<Secret> {
        Some(self.0.clone())
    }
}

/// How a [`TokenCache`] refreshes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CacheOptions {
    /// Refresh this long before the token expires (at most half its lifetime). Default 60 s.
    pub refresh_margin: Duration,
    /// Refresh up to this much earlier still, at random, so many clients do not refresh at
    /// the same instant. Default 30 s (at most a quarter of the lifetime).
    pub max_jitter: Duration,
    /// How long a call waits for a refresh in progress before failing with an auth error
    /// (the official SDKs' `refresh_token_wait_time`). Default 10 s.
    pub wait_limit: Duration,
    /// Whether the cache refreshes at all (`should_refresh_access_token`). When off, the
    /// first token is kept until [`TokenCache::set_token`] replaces it. Default on.
    pub refresh_enabled: bool,
    /// How long one token request may run. The request is not tied to the calls waiting for
    /// it: it goes on when they give up at [`wait_limit`](Self::wait_limit) and stores its
    /// token (and a rotated refresh token) when it arrives, so later calls join it instead of
    /// sending another. Past this limit it is abandoned and the next call starts a new one.
    /// Default 60 s.
    pub request_limit: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(60),
            max_jitter: Duration::from_secs(30),
            wait_limit: Duration::from_secs(10),
            refresh_enabled: true,
            request_limit: Duration::from_secs(60),
        }
    }
}

impl CacheOptions {
    /// Sets [`refresh_margin`](Self::refresh_margin).
    pub fn refresh_margin(mut self, margin: Duration) -> Self {
        self.refresh_margin = margin;
        self
    }

    /// Sets [`max_jitter`](Self::max_jitter).
    pub fn max_jitter(mut self, jitter: Duration) -> Self {
        self.max_jitter = jitter;
        self
    }

    /// Sets [`wait_limit`](Self::wait_limit).
    pub fn wait_limit(mut self, limit: Duration) -> Self {
        self.wait_limit = limit;
        self
    }

    /// Sets [`refresh_enabled`](Self::refresh_enabled).
    pub fn refresh_enabled(mut self, enabled: bool) -> Self {
        self.refresh_enabled = enabled;
        self
    }

    /// Sets [`request_limit`](Self::request_limit).
    pub fn request_limit(mut self, limit: Duration) -> Self {
        self.request_limit = limit;
        self
    }
}

#[derive(Clone)]
struct Cached {
    token: Secret,
    refresh_at: Instant,
    expires_at: Option<Instant>,
}

/// The token request in flight, as every waiting call sees it.
type Refresh = Shared<BoxFuture<'static, Result<Secret, Arc<Error>>>>;

struct State {
    grant: Grant,
    current: Option<Cached>,
    /// The token request in flight: its id, when it is abandoned, and its outcome.
    inflight: Option<(u64, Instant, Refresh)>,
    next_id: u64,
    /// The last token the API rejected: a fleet's store may still hold it, and it is not
    /// taken from there again.
    rejected: Option<Secret>,
}

/// A token cache over a [`Grant`]: one token request however many calls wait for it
/// (single-flight; waiters are woken when it completes, not polling), a refresh a margin
/// before expiry with jitter, a waiting limit, refresh-token rotation, and re-minting after
/// a 401 for grants that can.
///
/// The token request commits its own result: it runs as a task of its own, stores the token
/// and the rotated refresh token when they arrive, whether or not any call is still waiting,
/// and callers that gave up at the waiting limit lose nothing but their own call.
pub struct TokenCache {
    executor: SharedExecutor,
    /// Swappable: a configuration reload changes the refresh toggle and the wait limit.
    options: arc_swap::ArcSwap<CacheOptions>,
    state: Arc<Mutex<State>>,
    /// The fleet this cache shares its token with, if any.
    fleet: Option<Arc<FleetLink>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("TokenCache")
            .field("grant", &state.grant)
            .field("has_token", &state.current.is_some())
            .field("refreshing", &state.inflight.is_some())
            .field("options", &*self.options.load())
            .field("fleet", &self.fleet.as_ref().map(|f| f.stats()))
            .finish()
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

fn random_below(limit: Duration) -> Duration {
    let mut bytes = [0u8; 8];
    if limit.is_zero() || getrandom::getrandom(&mut bytes).is_err() {
        return Duration::ZERO;
    }
    let nanos = limit.as_nanos().min(u64::MAX as u128) as u64;
    Duration::from_nanos(u64::from_le_bytes(bytes) % nanos.max(1))
}

/// When a fresh token should be refreshed: a margin (and some jitter) before it expires.
fn schedule(options: &CacheOptions, info: &TokenInfo) -> Cached {
    let now = Instant::now();
    match info.expires_in {
        Some(lifetime) => {
            let margin = options.refresh_margin.min(lifetime / 2);
            let jitter = random_below(options.max_jitter.min(lifetime / 4));
            Cached {
                token: info.access_token.clone(),
                refresh_at: now + lifetime.saturating_sub(margin + jitter),
                expires_at: Some(now + lifetime),
            }
        }
        // No lifetime given: keep it until the API rejects it.
        None => Cached {
            token: info.access_token.clone(),
            refresh_at: now + Duration::from_secs(86_400 * 365),
            expires_at: None,
        },
    }
}

impl TokenCache {
    /// A cache that obtains tokens with `grant` through `login` (an executor for the login
    /// host, without the auth layer).
    pub fn new(login: SharedExecutor, grant: Grant, options: CacheOptions) -> Self {
        let state = State { grant, current: None, inflight: None, next_id: 0, rejected: None };
        Self {
            executor: login,
            options: arc_swap::ArcSwap::from_pointee(options),
            state: Arc::new(Mutex::new(state)),
            fleet: None,
        }
    }

    /// Shares the token with the other processes of a fleet through `store`, at `key`: the
    /// token is taken from the store when another process minted it, and minted by one
    /// process at a time (the others wait for it) when it is missing or about to expire, so
    /// the fleet sends one token request per expiry. A 401 drops the token for the whole
    /// fleet, and one process mints the next. When the store fails or is slower than
    /// 500 ms, this process mints on its own, logs a warning and counts it
    /// ([`fleet_stats`](Self::fleet_stats)); the next refresh tries the store again.
    ///
    /// Only tokens of an OAuth client belong in a fleet's store: a grant with a refresh token
    /// (a user's) keeps its tokens to this cache, whatever the store.
    pub fn shared_through(mut self, store: Arc<dyn TokenStore>, key: impl Into<String>) -> Self {
        if matches!(lock(&self.state).grant, Grant::ClientCredentials(_)) {
            self.fleet = Some(Arc::new(FleetLink::new(store, key.into())));
        }
        self
    }

    /// What the fleet's store has done for this cache, when it shares its token.
    pub fn fleet_stats(&self) -> Option<FleetTokenStats> {
        self.fleet.as_ref().map(|f| f.stats())
    }

    /// Replaces the options (a configuration reload): the next token request and the next
    /// wait use them.
    pub fn set_options(&self, options: CacheOptions) {
        self.options.store(Arc::new(options));
    }

    /// The options in force.
    pub fn options(&self) -> CacheOptions {
        CacheOptions::clone(&self.options.load())
    }

    /// Requests a token with the grant right now (not waiting for the first call), stores it
    /// and returns everything the endpoint said: refresh token, lifetime. For flows such as
    /// authorization code, where the caller wants the token info at once.
    pub async fn fetch_now(&self) -> Result<TokenInfo, Error> {
        let grant = self.lock().grant.clone();
        let info = request_token(&*self.executor, &grant).await?;
        self.set_token(info.clone());
        Ok(info)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Replaces the token (for users who obtain tokens themselves); its refresh token, if any,
    /// is used for the next refresh. A token request in flight is superseded: its answer is
    /// not stored.
    pub fn set_token(&self, info: TokenInfo) {
        let cached = schedule(&self.options.load(), &info);
        let mut st = self.lock();
        commit(&mut st, cached, info.refresh_token);
        st.inflight = None;
    }

    /// The current token when it needs no refresh yet.
    fn fresh(&self, st: &State, now: Instant) -> Option<Secret> {
        st.current
            .as_ref()
            .filter(|c| now < c.refresh_at || !self.options.load().refresh_enabled)
            .map(|c| c.token.clone())
    }

    /// Starts the token request as a task of its own, which stores its result in the state
    /// when it arrives (if it is still the request in flight then).
    fn start_refresh(&self, st: &mut State, now: Instant) -> Refresh {
        let id = st.next_id;
        st.next_id += 1;
        let grant = st.grant.clone();
        let executor = self.executor.clone();
        let options = self.options.load_full();
        let state = Arc::downgrade(&self.state);
        let (fleet, rejected) = (self.fleet.clone(), st.rejected.clone());
        let request = async move {
            let fetch = async {
                match &fleet {
                    Some(fleet) => {
                        fleet.obtain(&*executor, &grant, options.refresh_margin, options.request_limit, rejected).await
                    }
                    None => request_token(&*executor, &grant).await,
                }
            };
            let outcome = match tokio::time::timeout(options.request_limit, fetch).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::new(
                    ErrorKind::Auth,
                    format!("the token endpoint did not answer within {:?}", options.request_limit),
                )
                .with_operation("oauthToken")),
            };
            // Stored here, whoever still waits: the token, and the rotated refresh token that
            // the next refresh must send.
            if let Some(state) = state.upgrade() {
                let mut st = lock(&state);
                if st.inflight.as_ref().is_some_and(|(i, _, _)| *i == id) {
                    st.inflight = None;
                    if let Ok(info) = &outcome {
                        commit(&mut st, schedule(&options, info), info.refresh_token.clone());
                    }
                }
            }
            outcome.map(|info| info.access_token).map_err(Arc::new)
        };
        let shared: Refresh = match tokio::runtime::Handle::try_current() {
            // A task of its own: it runs to the end even when every waiter has given up.
            Ok(runtime) => {
                // In the span of the call that started it, so its log and trace events sit
                // with that call.
                let task = runtime.spawn(tracing::Instrument::in_current_span(request));
                let joined: BoxFuture<'static, _> = Box::pin(async move {
                    task.await.unwrap_or_else(|e| {
                        Err(Arc::new(Error::new(ErrorKind::Auth, format!("the token request task failed: {e}"))))
                    })
                });
                joined.shared()
            }
            // The cache's timers need a Tokio runtime anyway: without one there is no request.
            Err(_) => {
                let refused: BoxFuture<'static, _> = Box::pin(std::future::ready(Err(Arc::new(Error::new(
                    ErrorKind::Auth,
                    "the token cache needs a Tokio runtime",
                )))));
                refused.shared()
            }
        };
        st.inflight = Some((id, now + self.options.load().request_limit, shared.clone()));
        shared
    }

    async fn get(&self) -> Result<Secret, Error> {
        let (refresh, fallback) = {
            let mut st = self.lock();
            let now = Instant::now();
            if let Some(token) = self.fresh(&st, now) {
                return Ok(token);
            }
            // Inside the refresh margin the current token still works while we refresh.
            let fallback =
                st.current.as_ref().filter(|c| c.expires_at.is_none_or(|e| now < e)).map(|c| c.token.clone());
            let refresh = match &st.inflight {
                Some((_, abandon_at, f)) if now < *abandon_at => f.clone(),
                _ => self.start_refresh(&mut st, now),
            };
            (refresh, fallback)
        };
        match tokio::time::timeout(self.options.load().wait_limit, refresh).await {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(e)) => match fallback {
                Some(t) => Ok(t),
                None => {
                    // Every waiter gets its own error; the shared one stays reachable as the cause.
                    let mut err = Error::new(ErrorKind::Auth, e.message().to_owned())
                        .with_operation("oauthToken")
                        .with_source(e.clone());
                    if let Some(s) = e.status() {
                        err = err.with_status(s);
                    }
                    Err(err)
                }
            },
            // The request goes on and stores its token when it comes; only this call gives up.
            Err(_) => match fallback {
                Some(t) => Ok(t),
                None => Err(Error::new(
                    ErrorKind::Auth,
                    format!(
                        "waited {:?} for the access token without an answer from the token endpoint",
                        self.options.load().wait_limit
                    ),
                )
                .with_operation("oauthToken")
                .with_source(Error::new(ErrorKind::Timeout, "the wait for the token request timed out"))),
            },
        }
    }
}

/// Stores a token and moves the grant on to the refresh token that came with it.
fn commit(st: &mut State, cached: Cached, refresh_token: Option<Secret>) {
    if let Some(rt) = refresh_token {
        if let Some(next) = st.grant.refresh_with(rt) {
            st.grant = next;
        }
    }
    st.current = Some(cached);
}

impl TokenProvider for TokenCache {
    fn token(&self) -> BoxFuture<'_, Result<Secret, Error>> {
        Box::pin(self.get())
    }

    fn ready(&self) -> Option<Secret> {
        self.fresh(&self.lock(), Instant::now())
    }

    fn invalidate(&self, token: &Secret) {
        let mut st = self.lock();
        if st.current.as_ref().is_some_and(|c| &c.token == token) {
            st.current = None;
        }
        st.rejected = Some(token.clone());
    }
}

/// Several tokens of one grant, handed out in turn: Genesys Cloud limits each token on its own
/// (300 requests a minute for client credentials by default), so `n` tokens let bulk work go
/// `n` times as fast, each token paced on its own by the transport. Each token has its own
/// [`TokenCache`] (single-flight, refreshed before expiry); a 401 drops only the token it hit,
/// so only that one is minted again.
pub struct TokenPool {
    caches: Vec<Arc<TokenCache>>,
    next: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for TokenPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPool").field("size", &self.caches.len()).finish_non_exhaustive()
    }
}

impl TokenPool {
    /// `size` tokens (at least one) obtained with `grant` through `login`.
    pub fn new(login: SharedExecutor, grant: Grant, options: CacheOptions, size: usize) -> Self {
        let caches = (0..size.max(1))
            .map(|_| Arc::new(TokenCache::new(login.clone(), grant.clone(), options.clone())))
            .collect();
        Self { caches, next: std::sync::atomic::AtomicUsize::new(0) }
    }

    /// Shares the pool with the other processes of a fleet through `store`: token `i` at
    /// `{key}:{i}`, so the fleet's pool is `size` tokens, not `size` per process (see
    /// [`TokenCache::shared_through`]).
    pub fn shared_through(self, store: Arc<dyn TokenStore>, key: &str) -> Self {
        let caches = self
            .caches
            .into_iter()
            .enumerate()
            .map(|(i, cache)| match Arc::try_unwrap(cache) {
                Ok(cache) => Arc::new(cache.shared_through(store.clone(), format!("{key}:{i}"))),
                Err(shared) => shared,
            })
            .collect();
        Self { caches, next: self.next }
    }

    /// The caches, one per token.
    pub fn caches(&self) -> &[Arc<TokenCache>] {
        &self.caches
    }

    /// The cache whose turn it is.
    fn turn(&self) -> &TokenCache {
        let i = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        &self.caches[i % self.caches.len()]
    }
}

impl TokenProvider for TokenPool {
    fn token(&self) -> BoxFuture<'_, Result<Secret, Error>> {
        self.turn().token()
    }

    /// The next token when it is ready; when it is not, the turn stays with it, so the
    /// [`token`](TokenProvider::token) that follows mints that one. Each ready token is
    /// handed out on a turn of its own, so calls are spread evenly however many race.
    fn ready(&self) -> Option<Secret> {
        use std::sync::atomic::Ordering;
        let mut turn = self.next.load(Ordering::Relaxed);
        loop {
            let token = self.caches[turn % self.caches.len()].ready()?;
            match self.next.compare_exchange_weak(turn, turn.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return Some(token),
                Err(now) => turn = now,
            }
        }
    }

    fn invalidate(&self, token: &Secret) {
        for cache in &self.caches {
            cache.invalidate(token);
        }
    }
}
