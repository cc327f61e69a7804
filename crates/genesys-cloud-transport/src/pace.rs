//! Pacing: each token kept under the API's rate limit, which the client learns from the
//! `inin-ratelimit-*` headers of the responses.
//!
//! Genesys Cloud counts each token's requests in a window (300 a minute for a client-credentials
//! token by default) and says in every response how many the token may make
//! (`inin-ratelimit-allowed`), how many it has made (`inin-ratelimit-count`) and how long until
//! the count starts again (`inin-ratelimit-reset`, seconds). [`PaceLayer`] keeps, per token:
//!
//! - the window: its end, from the first answer in it (`reset`, rounded up, so never before the
//!   server's), and the attempts sent in it, counted as they go out (so calls in flight count
//!   before their answers come) and raised to the server's count (another client of the same
//!   token counts too); once they reach `allowed`, no call on that token goes out until the
//!   window turns;
//! - a GCRA limiter (the `governor` crate) at the learned rate, `allowed` per window with a
//!   burst of `allowed`: no more than the limit in any stretch of a window's length, even
//!   where the server's windows are not where the client thinks;
//! - a hold: when an answer's count says the token is used up, until its `reset`.
//!
//! A 429 that still comes is the retry layer's, as without pacing: that call waits out its
//! `Retry-After` (a 429 can be one endpoint's limit, so it does not hold the whole token).
//!
//! So a few calls are never slowed down, and steady bulk work makes `allowed` calls a window,
//! the most the limit allows, without a 429. A token whose responses carry no such headers
//! is not paced.
//!
//! Calls on different tokens (a [`TokenPool`](genesys_cloud_auth::TokenPool)'s, or one client
//! per user) are paced apart. Waits count against the call's time limit, not the attempt's.

use crate::body::Body;
use crate::fleet::{FleetPace, FleetPaceStats, RateStore};
use crate::layers::SdkService;
use crate::live::Live;
use genesys_cloud_config::RateLimits;
use genesys_cloud_core::error::parse_retry_after;
use genesys_cloud_core::http::{header, HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use genesys_cloud_core::{BoxFuture, Error};
use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;
use tower::{Layer, Service};

/// Governor's clock on Tokio's time, so pacing follows paused time in tests.
#[derive(Clone, Copy, Debug, Default)]
struct TokioClock;

impl Clock for TokioClock {
    type Instant = std::time::Instant;
    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<std::time::Instant>>;

/// What a response says of its token's rate limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitStatus {
    /// `inin-ratelimit-allowed`: the requests the token may make per window.
    pub allowed: u32,
    /// `inin-ratelimit-count`: the requests it has made in this window.
    pub count: u32,
    /// `inin-ratelimit-reset`: how long until the window starts again.
    pub reset: Duration,
}

impl RateLimitStatus {
    /// The status in `headers`, when all three headers are there and are numbers.
    pub fn of(headers: &HeaderMap) -> Option<Self> {
        // Names made at compile time: a lookup by name text would parse it for every response.
        const ALLOWED: HeaderName = HeaderName::from_static("inin-ratelimit-allowed");
        const COUNT: HeaderName = HeaderName::from_static("inin-ratelimit-count");
        const RESET: HeaderName = HeaderName::from_static("inin-ratelimit-reset");
        let number =
            |name: HeaderName| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|n| *n >= 0.0);
        let allowed = number(ALLOWED)?;
        let count = number(COUNT)?;
        let reset = number(RESET)?;
        Some(Self {
            allowed: (allowed as u32).max(1),
            count: count.min(u32::MAX as f64) as u32,
            reset: Duration::try_from_secs_f64(reset).ok()?.min(Duration::from_secs(3600)),
        })
    }
}

/// What pacing has done so far, over every token of a client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaceStats {
    /// Attempts sent through the pacer.
    pub requests: u64,
    /// Answers with status 429 among them.
    pub rate_limited: u64,
    /// Attempts that had to wait before going out.
    pub held: u64,
    /// Their waits, added up.
    pub held_for: Duration,
    /// Tokens seen.
    pub tokens: usize,
    /// What the fleet's rate governor did, when the client is one of a fleet.
    pub fleet: Option<FleetPaceStats>,
}

/// The pacing of one token.
struct TokenPace {
    state: Mutex<PaceState>,
    /// A name for metrics: a hash of the token (with this process's random seed), never the
    /// token.
    label: String,
}

struct PaceState {
    /// Once the headers have told the limit.
    limiter: Option<Limiter>,
    /// The limit the limiter was built for (0: not learned yet).
    allowed: u32,
    window: Duration,
    /// The longest `reset` seen: the window's length, once a response came at its start.
    longest_reset: Duration,
    /// When the current window ends, as the first answer in it said (rounded up, so never
    /// before the server's).
    window_end: Option<Instant>,
    /// When the current window's first attempt went out. Until an answer says when the window
    /// ends, it ends one learned window (or [`UNKNOWN_WINDOW`]) after this: attempts that never
    /// get an answer (an outage, timeouts) cannot hold the token forever.
    window_start: Option<Instant>,
    /// Which window this is (answers to attempts of an earlier one do not count in it).
    epoch: u64,
    /// Attempts sent in this window, at least what the server counted.
    sent: u32,
    /// Attempts let out and not answered yet (of any window).
    in_flight: u32,
    /// No call goes out before this.
    hold_until: Option<Instant>,
    last_used: Instant,
}

/// A limiter of `allowed` calls per `window`, all of them at once if need be.
fn limiter(allowed: u32, window: Duration) -> Limiter {
    let allowed = NonZeroU32::new(allowed).unwrap_or(NonZeroU32::MIN);
    let period = (window / allowed.get()).max(Duration::from_micros(1));
    let quota = Quota::with_period(period).unwrap_or_else(|| Quota::per_second(allowed)).allow_burst(allowed);
    RateLimiter::direct_with_clock(quota, TokioClock)
}

impl PaceState {
    /// When the current window ends: as its first answer said, else one learned window after
    /// its first attempt (the answers may never come).
    fn end_of_window(&self) -> Option<Instant> {
        let assumed = if self.window.is_zero() { UNKNOWN_WINDOW } else { self.window };
        self.window_end.or_else(|| self.window_start.map(|start| start + assumed))
    }
}

/// How long a window is taken to be when no answer has told its length: the longest the
/// platform uses (its limits are per minute).
const UNKNOWN_WINDOW: Duration = Duration::from_secs(60);

impl TokenPace {
    fn new(label: String) -> Self {
        Self {
            label,
            state: Mutex::new(PaceState {
                limiter: None,
                allowed: 0,
                window: Duration::ZERO,
                longest_reset: Duration::ZERO,
                window_end: None,
                window_start: None,
                epoch: 0,
                sent: 0,
                in_flight: 0,
                hold_until: None,
                last_used: Instant::now(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The budget the token's answers stated: requests per window, once one has.
    fn learned(&self) -> Option<(u32, Duration)> {
        let s = self.lock();
        (s.allowed > 0).then_some((s.allowed, s.window))
    }

    /// The window of an attempt that may go out now, else how long to wait.
    fn try_acquire(&self) -> Result<u64, Duration> {
        let mut s = self.lock();
        let now = Instant::now();
        s.last_used = now;
        if s.end_of_window().is_some_and(|end| now >= end) {
            s.window_end = None;
            s.epoch += 1;
            // Attempts still in flight may arrive after the server's window turned: they
            // count in the new one, which starts now if so.
            s.sent = s.in_flight;
            s.window_start = (s.in_flight > 0).then_some(now);
        }
        if let Some(until) = s.hold_until {
            if until > now {
                return Err(until - now);
            }
            s.hold_until = None;
        }
        if s.allowed > 0 && s.sent >= s.allowed {
            // The window's allowance is used: wait for it to turn (or, before its first
            // answer has said when, for that answer, at most until the window's assumed end).
            let wait = match (s.window_end, s.end_of_window()) {
                (Some(end), _) => end - now,
                (None, Some(end)) => (end - now).min(Duration::from_millis(20)),
                (None, None) => Duration::from_millis(20),
            };
            return Err(wait.max(Duration::from_millis(1)));
        }
        match s.limiter.as_ref().map_or(Ok(()), |l| l.check()) {
            Ok(()) => {
                s.window_start.get_or_insert(now);
                s.sent += 1;
                s.in_flight += 1;
                Ok(s.epoch)
            }
            Err(not_until) => Err(not_until.wait_time_from(TokioClock.now()).max(Duration::from_millis(1))),
        }
    }

    /// Learns from the headers of the answer to an attempt sent in window `epoch`.
    fn observe(&self, epoch: u64, limit: RateLimitStatus) {
        let mut s = self.lock();
        // The header has whole seconds: a window of 10 s says 10 at its start, at most.
        let reset = Duration::from_secs(limit.reset.as_secs_f64().ceil() as u64);
        s.longest_reset = s.longest_reset.max(reset);
        let window = s.longest_reset.max(Duration::from_secs(1));
        if epoch == s.epoch {
            if s.window_end.is_none() {
                s.window_end = Some(Instant::now() + reset.max(Duration::from_millis(250)));
            }
            // Another client of the same token counts too.
            s.sent = s.sent.max(limit.count);
        }
        if limit.allowed != s.allowed || window != s.window {
            let fresh = limiter(limit.allowed, window);
            if let Some(used) = NonZeroU32::new(s.sent.min(limit.allowed)) {
                let _ = fresh.check_n(used);
            }
            s.limiter = Some(fresh);
            s.allowed = limit.allowed;
            s.window = window;
        }
        let counted_here = epoch == s.epoch && s.window_end.is_some();
        if limit.count >= limit.allowed && !counted_here {
            // The server says the token is used up until its window turns, and the client's
            // own count does not know that window (within a known window, the count holds
            // calls back until its end, which is sooner than a rounded-up reset).
            let until = Instant::now() + reset.max(Duration::from_millis(250));
            s.hold_until = Some(s.hold_until.map_or(until, |h| h.max(until)));
        }
    }
}

/// The pacers of a client's tokens, and what they have done.
pub struct Pacer {
    settings: Live<RateLimits>,
    tokens: Mutex<HashMap<u64, Arc<TokenPace>>>,
    /// The newest token's header and pacer.
    newest: arc_swap::ArcSwapOption<(HeaderValue, Arc<TokenPace>)>,
    hasher: RandomState,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    held: AtomicU64,
    held_nanos: AtomicU64,
    /// The fleet's governor, when the client is one of a fleet.
    fleet: Option<Arc<FleetPace>>,
    /// What each token had left, as its last answer said (for the client's gauge).
    remaining: Mutex<HashMap<String, u32>>,
    /// The limit a token is paced under before its answers state one ([`Pacer::seed`]).
    seed: Mutex<Option<(u32, Duration)>>,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer").field("settings", &self.settings).field("stats", &self.stats()).finish()
    }
}

impl Pacer {
    /// Pacers with these settings (read per call: pacing can be switched off and on).
    pub fn new(settings: Live<RateLimits>) -> Self {
        Self {
            settings,
            tokens: Mutex::default(),
            newest: arc_swap::ArcSwapOption::empty(),
            hasher: RandomState::new(),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            held: AtomicU64::new(0),
            held_nanos: AtomicU64::new(0),
            fleet: None,
            remaining: Mutex::default(),
            seed: Mutex::default(),
        }
    }

    /// Paces every token not yet paced under `allowed` requests per `window` until its
    /// answers state its limit (which then replaces this): the org's `token.rate.per.minute`
    /// from its limits, so even a burst of first calls keeps under it.
    pub fn seed(&self, allowed: u32, window: Duration) {
        let seed = (allowed.max(1), window.max(Duration::from_millis(1)));
        *self.seed.lock().unwrap_or_else(PoisonError::into_inner) = Some(seed);
    }

    /// Also takes each attempt's turn from a fleet's `store`, under keys that start with
    /// `prefix` (see [`RateStore`]).
    pub(crate) fn with_fleet(mut self, store: Arc<dyn RateStore>, prefix: String) -> Self {
        self.fleet = Some(Arc::new(FleetPace::new(store, prefix)));
        self
    }

    /// What the fleet's rate governor has done for this client, when it is one of a fleet.
    pub fn fleet_stats(&self) -> Option<FleetPaceStats> {
        self.fleet.as_ref().map(|f| f.stats())
    }

    /// What pacing has done so far.
    pub fn stats(&self) -> PaceStats {
        PaceStats {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            held: self.held.load(Ordering::Relaxed),
            held_for: Duration::from_nanos(self.held_nanos.load(Ordering::Relaxed)),
            tokens: self.tokens.lock().unwrap_or_else(PoisonError::into_inner).len(),
            fleet: self.fleet_stats(),
        }
    }

    /// The pacer of the token `req` carries (its hash, never the token, is the key).
    fn of<B>(&self, req: &Request<B>) -> Arc<TokenPace> {
        self.of_token(req.headers().get(header::AUTHORIZATION))
    }

    /// The pacer of a token, by its `Authorization` header.
    fn of_token(&self, authorization: Option<&HeaderValue>) -> Arc<TokenPace> {
        if let (Some(header), Some(newest)) = (authorization, &*self.newest.load()) {
            if newest.0 == *header {
                return newest.1.clone();
            }
        }
        let key = self.hasher.hash_one(authorization.map(|v| v.as_bytes()));
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = !tokens.contains_key(&key);
        if tokens.len() >= 1024 && fresh {
            // Tokens not used for ten minutes are long replaced.
            let old = Instant::now().checked_sub(Duration::from_secs(600));
            tokens.retain(|_, p| old.is_none_or(|old| p.lock().last_used > old));
        }
        let seed = *self.seed.lock().unwrap_or_else(PoisonError::into_inner);
        let pace = tokens
            .entry(key)
            .or_insert_with(|| {
                let pace = TokenPace::new(format!("{key:016x}"));
                if let Some((allowed, window)) = seed {
                    let mut s = pace.lock();
                    s.limiter = Some(limiter(allowed, window));
                    s.allowed = allowed;
                    s.window = window;
                }
                Arc::new(pace)
            })
            .clone();
        if let Some(header) = authorization.filter(|_| fresh || tokens.len() == 1) {
            // The newest token (a client's one token, after each refresh) is found without
            // the map; the turns of a pool's older tokens go through it.
            self.newest.store(Some(Arc::new((header.clone(), pace.clone()))));
        }
        pace
    }

    fn count(&self, status: Option<StatusCode>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if status == Some(StatusCode::TOO_MANY_REQUESTS) {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            crate::metrics::rate_limited();
        }
    }

    /// Reports what `token` has left, and the client's total over its tokens.
    fn report_remaining(&self, token: &str, left: u32) {
        let mut remaining = self.remaining.lock().unwrap_or_else(PoisonError::into_inner);
        if remaining.len() >= 1024 && !remaining.contains_key(token) {
            // Long-replaced tokens are forgotten, as the pacers are.
            remaining.clear();
        }
        remaining.insert(token.to_owned(), left);
        let client = remaining.values().map(|n| u64::from(*n)).sum();
        crate::metrics::remaining(token, left, client);
    }
}

/// Paces each attempt on its token, under the limit the answers state
/// (`inin-ratelimit-allowed`, `-count`, `-reset`): it counts the attempts of each token's
/// window as they go out (raised to the server's count) and, once the allowance is used,
/// holds the next until the window turns; a `governor` limiter at the learned rate lies
/// underneath, and an answer saying the token is used up holds it until its `reset`. A few
/// calls are never slowed; a server that sends no such headers is not paced.
///
/// On by default, switched by [`RateLimits::pacing`], read per call. It sits inside the auth
/// layer, where the token is known, and outside the attempt timeout, so a wait is not a slow
/// attempt (it ends at the call's [`Deadline`](crate::Deadline), as a timeout); a 429 that
/// still comes is the retry layer's.
#[derive(Clone, Debug)]
pub struct PaceLayer {
    pacer: Arc<Pacer>,
}

impl PaceLayer {
    /// Pacing with these settings.
    pub fn new(settings: Live<RateLimits>) -> Self {
        Self::shared(Arc::new(Pacer::new(settings)))
    }

    /// Pacing through a shared [`Pacer`] (to read its [`stats`](Pacer::stats)).
    pub fn shared(pacer: Arc<Pacer>) -> Self {
        Self { pacer }
    }
}

impl<S> Layer<S> for PaceLayer {
    type Service = Paced<S>;
    fn layer(&self, inner: S) -> Paced<S> {
        Paced { inner, pacer: self.pacer.clone() }
    }
}

/// The service of [`PaceLayer`].
#[derive(Clone, Debug)]
pub struct Paced<S> {
    inner: S,
    pacer: Arc<Pacer>,
}

impl<S: SdkService> Service<Request<Body>> for Paced<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future =
        futures_util::future::Either<PaceFuture<S::Future>, BoxFuture<'static, Result<Response<Body>, Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        use futures_util::future::Either;
        let watch = |permit, pending| PaceFuture { pending, permit };
        if !self.pacer.settings.with(|s| s.pacing) {
            return Either::Left(watch(None, self.inner.call(req)));
        }
        // Every attempt is counted on its token from the first, before any limit is known:
        // the count is then exact when the first answer tells the limit.
        let pacer = self.pacer.clone();
        let pace = pacer.of(&req);
        if let Some(fleet) = pacer.fleet.clone() {
            // One of a fleet: this process's pacing, then the fleet's turn.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let deadline = crate::layers::deadline(&req);
            return Either::Right(Box::pin(async move {
                let permit = match pace.try_acquire() {
                    Ok(epoch) => Permit { pace, epoch },
                    Err(first_wait) => {
                        let turn = async { Ok(Permit::after(&pacer, pace, first_wait).await) };
                        crate::layers::until_deadline(deadline, turn).await?
                    }
                };
                let authorization = req.headers().get(header::AUTHORIZATION).cloned();
                fleet.turn(authorization.as_ref(), permit.pace.learned(), deadline).await?;
                let result = inner.call(req).await;
                if let Ok(response) = &result {
                    let retry_after = (response.status() == StatusCode::TOO_MANY_REQUESTS)
                        .then(|| parse_retry_after(response.headers(), std::time::SystemTime::now()))
                        .flatten();
                    if let Some(wait) = retry_after {
                        fleet.hold(authorization.as_ref(), wait).await;
                    }
                }
                settle(&pacer, permit, &result);
                result
            }));
        }
        match pace.try_acquire() {
            // The common case: the attempt goes out now, through the ready service.
            Ok(epoch) => Either::Left(watch(Some((pacer, Permit { pace, epoch })), self.inner.call(req))),
            // The ready service waits with the attempt; a clone stays for the next call.
            Err(first_wait) => {
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let deadline = crate::layers::deadline(&req);
                Either::Right(Box::pin(async move {
                    // No turn is waited for past the call's deadline.
                    let turn = async { Ok(Permit::after(&pacer, pace, first_wait).await) };
                    let permit = crate::layers::until_deadline(deadline, turn).await?;
                    let result = inner.call(req).await;
                    settle(&pacer, permit, &result);
                    result
                }))
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of an attempt [`Paced`] let out at once: the inner future, then what its
    /// answer says of the token's limit.
    pub struct PaceFuture<F> {
        #[pin]
        pending: F,
        // With pacing on: the pacer and the attempt's permit.
        permit: Option<(Arc<Pacer>, Permit)>,
    }
}

impl<F: std::future::Future<Output = Result<Response<Body>, Error>>> std::future::Future for PaceFuture<F> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.pending.poll(cx));
        if let Some((pacer, permit)) = this.permit.take() {
            settle(&pacer, permit, &result);
        }
        Poll::Ready(result)
    }
}

/// Counts an attempt's outcome and lets its token's pacer learn from the answer.
fn settle(pacer: &Pacer, permit: Permit, result: &Result<Response<Body>, Error>) {
    pacer.count(result.as_ref().ok().map(|r| r.status()));
    if let Some(limit) = result.as_ref().ok().and_then(|r| RateLimitStatus::of(r.headers())) {
        permit.pace.observe(permit.epoch, limit);
        if cfg!(feature = "metrics") {
            pacer.report_remaining(&permit.pace.label, limit.allowed.saturating_sub(limit.count));
        }
    }
}

/// An attempt let out by a token's pacer, in its window: in flight until dropped (answered,
/// failed or cancelled).
struct Permit {
    pace: Arc<TokenPace>,
    epoch: u64,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = self.pace.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
    }
}

impl Permit {
    /// Waits until `pace` lets an attempt out, starting with `first_wait`; counts the wait.
    async fn after(pacer: &Pacer, pace: Arc<TokenPace>, first_wait: Duration) -> Self {
        let started = Instant::now();
        let mut wait = first_wait;
        let epoch = loop {
            tokio::time::sleep(wait).await;
            match pace.try_acquire() {
                Ok(epoch) => break epoch,
                Err(more) => wait = more,
            }
        };
        pacer.held.fetch_add(1, Ordering::Relaxed);
        crate::metrics::pace_wait(started.elapsed());
        let waited = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        pacer.held_nanos.fetch_add(waited, Ordering::Relaxed);
        Permit { pace, epoch }
    }
}
