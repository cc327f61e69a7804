//! The SDK's layers. Each is a tower [`Layer`] over any service of [`Body`] requests and
//! responses that fails with the SDK's [`Error`] ([`SdkService`]), so the client's stack is their
//! composition, and a user can compose, reorder or replace them the same way.
//!
//! What a layer needs to know about a call travels in the request's extensions as one
//! [`CallContext`], filled in as the call goes down: the operation and the call's own options
//! (put there by the transport), the call's [`Deadline`] (set by [`CallTimeoutLayer`]) and the
//! attempt number (set by [`RetryLayer`]). A request without one (built by
//! `RequestParts::into_request`, which puts the operation and options in the extensions one by
//! one) is read the same way.

use crate::body::Body;
use crate::budget::RetryBudget;
use crate::live::Live;
use genesys_cloud_auth::TokenProvider;
use genesys_cloud_config::{Retry, Timeouts};
use genesys_cloud_core::error::parse_retry_after;
use genesys_cloud_core::executor::Attempts;
use genesys_cloud_core::http::uri::{Authority, Scheme};
use genesys_cloud_core::http::{header, HeaderName, HeaderValue, Request, Response, StatusCode};
use genesys_cloud_core::meta::is_idempotent_method;
use genesys_cloud_core::{BoxFuture, CallOptions, Error, ErrorKind, OperationMeta};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service};

/// The one erased service type of the stack: a request with a whole body in, a response with
/// a whole body (any status) or an SDK error out. The extension points of the builder hand
/// layers this type, and [`TransportBuilder::http_service`](crate::TransportBuilder::http_service)
/// takes any service that converts to it.
pub type HttpService = BoxCloneSyncService<Request<Body>, Response<Body>, Error>;

/// A service the SDK's layers can wrap: [`Body`] in and out, the SDK's [`Error`], cloneable
/// (the retry and auth layers send more than once). Implemented for every such service.
pub trait SdkService:
    Service<Request<Body>, Response = Response<Body>, Error = Error, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<S> SdkService for S where
    S: Service<Request<Body>, Response = Response<Body>, Error = Error, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

/// Sends one request through `service` once it is ready (the same service may send again).
async fn send_when_ready<S: SdkService>(service: &mut S, req: Request<Body>) -> Result<Response<Body>, Error> {
    std::future::poll_fn(|cx| service.poll_ready(cx)).await?;
    service.call(req).await
}

/// Room in a copy's header map for the headers the layers below add (token, `User-Agent`,
/// `purecloud-sdk`, `Accept-Encoding`, `Host`), so none of them grows it again.
const HEADER_ROOM: usize = 5;

/// A copy of a request: bodies are whole and shared, so every attempt can be replayed.
pub fn clone_request(req: &Request<Body>) -> Request<Body> {
    let mut out = Request::new(req.body().clone());
    *out.method_mut() = req.method().clone();
    *out.uri_mut() = req.uri().clone();
    *out.version_mut() = req.version();
    // A clone of the map would have room for its own headers only.
    let headers = out.headers_mut();
    headers.reserve(req.headers().len() + HEADER_ROOM);
    for (name, value) in req.headers() {
        headers.append(name.clone(), value.clone());
    }
    *out.extensions_mut() = req.extensions().clone();
    out
}

/// What the SDK's layers know of a call: one entry in its request's extensions, filled in
/// as the call goes down the stack, and copied with each attempt as one piece.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CallContext {
    /// The operation (`None` for a request no operation builder made).
    pub operation: Option<&'static OperationMeta>,
    /// The call's own options, when it has any (`with_timeout`, `with_retry`, headers).
    pub options: Option<Arc<CallOptions>>,
    /// When the whole call must be over: set by [`CallTimeoutLayer`].
    pub deadline: Option<Deadline>,
    /// The attempt this request is, from 1: set by [`RetryLayer`] (0 above it).
    pub attempt: u32,
    /// Whether this attempt is the replay after a 401 with a fresh token ([`Reauthorize`]):
    /// a 401 to it stands.
    pub reauthorized: bool,
}

impl CallContext {
    /// A context for this operation with these options (`None` when it has none).
    pub fn new(operation: Option<&'static OperationMeta>, options: Option<CallOptions>) -> Self {
        Self { operation, options: options.map(Arc::new), ..Self::default() }
    }

    /// The context of `req`, if it has one.
    pub fn of<B>(req: &Request<B>) -> Option<&CallContext> {
        req.extensions().get::<CallContext>()
    }

    /// The context of `req`, made from the operation and options in its extensions when it
    /// has none yet.
    pub fn of_mut<B>(req: &mut Request<B>) -> &mut CallContext {
        if Self::of(req).is_none() {
            let made = Self::new(meta(req), options(req).cloned());
            req.extensions_mut().insert(made);
        }
        req.extensions_mut().get_or_insert_default()
    }
}

/// The operation of `req`: its context's, else the one `into_request` put there.
pub(crate) fn meta<B>(req: &Request<B>) -> Option<&'static OperationMeta> {
    match CallContext::of(req) {
        Some(c) => c.operation,
        None => req.extensions().get::<&'static OperationMeta>().copied(),
    }
}

/// The call's own options: its context's, else the ones `into_request` put there.
fn options<B>(req: &Request<B>) -> Option<&CallOptions> {
    match CallContext::of(req) {
        Some(c) => c.options.as_deref(),
        None => req.extensions().get::<CallOptions>(),
    }
}

/// The deadline of `req`'s call, if it has one.
pub(crate) fn deadline<B>(req: &Request<B>) -> Option<Deadline> {
    CallContext::of(req).and_then(|c| c.deadline)
}

/// The attempt `req` is (0 above the retry layer).
pub(crate) fn attempt<B>(req: &Request<B>) -> u32 {
    CallContext::of(req).map_or(0, |c| c.attempt)
}

/// Whether `req` may be sent twice: its operation says, else its method.
fn is_idempotent<B>(req: &Request<B>) -> bool {
    meta(req).map_or_else(|| is_idempotent_method(req.method()), |m| m.idempotent)
}

/// A stage that sends each request on once: ready when its inner service is (a concurrency
/// limit below holds the stage, as with tower's own middleware).
macro_rules! ready_when_inner_is {
    () => {
        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.inner.poll_ready(cx)
        }
    };
}

// ---------------------------------------------------------------------------------------------

/// When a call must be over: set by [`CallTimeoutLayer`] in the request's [`CallContext`], read by
/// [`RetryLayer`] (no wait past it), [`AttemptTimeoutLayer`] (an attempt's timer fires at
/// its own limit or at the deadline, whichever is first), and [`AuthLayer`] and
/// [`PaceLayer`](crate::PaceLayer) (no wait for a token or a turn past it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    /// The instant.
    pub at: Instant,
    /// The whole-call limit it came from (for the error message).
    pub limit: Duration,
}

/// The error of an attempt that ran past `limit`.
fn attempt_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the attempt took longer than {limit:?}"))
}

/// The error of a call that ran past `limit`.
fn call_timeout(limit: Duration) -> Error {
    Error::new(ErrorKind::Timeout, format!("the call took longer than {limit:?}"))
}

pin_project_lite::pin_project! {
    /// The future of [`CallTimeout`] and [`AttemptTimeout`]: the inner future under one timer;
    /// when the timer fires first, the error says which limit it was.
    pub struct TimeLimited<F> {
        #[pin]
        inner: tokio::time::Timeout<F>,
        limit: Duration,
        whole_call: bool,
    }
}

impl<F: std::future::Future<Output = Result<Response<Body>, Error>>> std::future::Future for TimeLimited<F> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.inner.poll(cx) {
            Poll::Ready(Ok(result)) => Poll::Ready(result),
            Poll::Ready(Err(_)) if *this.whole_call => Poll::Ready(Err(call_timeout(*this.limit))),
            Poll::Ready(Err(_)) => Poll::Ready(Err(attempt_timeout(*this.limit))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Limits the whole call, retries included: the call's own `with_timeout`, else the
/// current default (`timeouts.call`, read per call).
#[derive(Clone, Debug)]
pub struct CallTimeoutLayer {
    timeouts: Live<Timeouts>,
}

impl CallTimeoutLayer {
    /// Calls without their own limit get `default`.
    pub fn new(default: Duration) -> Self {
        Self::live(Live::new(Timeouts::default().call(default)))
    }

    /// Calls without their own limit get the `call` limit of the current `timeouts`.
    pub fn live(timeouts: Live<Timeouts>) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for CallTimeoutLayer {
    type Service = CallTimeout<S>;
    fn layer(&self, inner: S) -> CallTimeout<S> {
        CallTimeout { inner, timeouts: self.timeouts.clone() }
    }
}

/// The service of [`CallTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct CallTimeout<S> {
    inner: S,
    timeouts: Live<Timeouts>,
}

impl<S: SdkService> Service<Request<Body>> for CallTimeout<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = TimeLimited<S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let context = CallContext::of_mut(&mut req);
        let own = context.options.as_ref().and_then(|o| o.timeout);
        let limit = own.unwrap_or_else(|| self.timeouts.with(|t| t.call));
        let at = Instant::now() + limit;
        context.deadline = Some(Deadline { at, limit });
        // The stages below stop at the deadline too, so the error passes the retry layer and
        // has the attempt count: the attempt timer fires there when it comes first, the
        // retry layer starts no wait past it, and the auth and pace layers give up a wait for
        // a token or a turn there. This one stands for what a stage of the application's
        // waits (a concurrency limit), and for stacks without those layers.
        TimeLimited { inner: tokio::time::timeout_at(at, self.inner.call(req)), limit, whole_call: true }
    }
}

/// `wait`, given up at the call's deadline (when it has one) with the call's timeout error:
/// for the waits of a stage outside any attempt's timer (a token, a turn of the pacer), so
/// the error reaches the retry layer, which counts the attempt, before the call's timer fires.
pub(crate) async fn until_deadline<T>(
    deadline: Option<Deadline>,
    wait: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.at, wait).await.unwrap_or_else(|_| Err(call_timeout(d.limit))),
        None => wait.await,
    }
}

// ---------------------------------------------------------------------------------------------

/// Retries: 429 always; 502, 503, 504, timeouts and broken connections only for idempotent
/// operations; connection failures (nothing was sent) always; 404s for a bounded time when
/// the call asks ([`RetryOverride::not_found_for`](genesys_cloud_core::RetryOverride::not_found_for)). Waits what `Retry-After` says
/// (seconds or HTTP-date) up to a cap, else full-jitter exponential backoff; stops at the
/// attempt or elapsed-time budget and never waits past the call's [`Deadline`]. The policy
/// is read per call, so a reload applies to the next call. Retries after failures draw on a
/// [`RetryBudget`] that every call through this layer shares, so an outage is not met with
/// a multiple of the load.
#[derive(Clone, Debug)]
pub struct RetryLayer {
    config: Live<Retry>,
    budget: Arc<RetryBudget>,
}

impl RetryLayer {
    /// Retries as `config` says.
    pub fn new(config: Retry) -> Self {
        Self::live(Live::new(config))
    }

    /// Retries as the current value of `config` says, with a budget of its own.
    pub fn live(config: Live<Retry>) -> Self {
        Self { config, budget: Arc::default() }
    }

    /// Retries draw on `budget` (to share one, or to read what it refused).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = budget;
        self
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = RetryService<S>;
    fn layer(&self, inner: S) -> RetryService<S> {
        RetryService { inner: Arc::new(inner), config: self.config.clone(), budget: self.budget.clone() }
    }
}

/// The service of [`RetryLayer`].
#[derive(Clone, Debug)]
pub struct RetryService<S> {
    /// Shared by the clones of this service and their calls: it is never called itself,
    /// each attempt goes through a copy of it, so a clone of the stack above does not copy
    /// the attempt layers once more.
    inner: Arc<S>,
    config: Live<Retry>,
    budget: Arc<RetryBudget>,
}

impl<S: SdkService> Service<Request<Body>> for RetryService<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Retrying<S, S::Future>;

    /// Always ready: each attempt waits for the inner service on its own (inside the call's
    /// time limits).
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let policy = RetryPolicy::of(self.config.with(Retry::clone), &req, self.budget.clone());
        let state = RetryState::Ready { service: S::clone(&self.inner) };
        Retrying { inner: self.inner.clone(), req, policy, attempt: 0, replay: Replay::None, state }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`RetryService`]: the call's attempts and the waits between them. Each
    /// attempt sends a copy of the request (with its attempt number), so the next one
    /// still has the original, through a copy of the service below made for it (held only
    /// until the attempt is sent: the future stays small enough for the allocator's fast path).
    pub struct Retrying<S, F> {
        inner: Arc<S>,
        req: Request<Body>,
        policy: RetryPolicy,
        attempt: u32,
        // The one replay after a 401 with a fresh token ([`Reauthorize`]).
        replay: Replay,
        #[pin]
        state: RetryState<F, S>,
    }
}

pin_project_lite::pin_project! {
    #[project = RetryStateProj]
    enum RetryState<F, S> {
        // The next attempt waits for its copy of the inner service to be ready.
        Ready { service: S },
        Sending { #[pin] pending: F },
        // Between attempts (boxed: most calls never wait).
        Waiting { sleep: std::pin::Pin<Box<tokio::time::Sleep>> },
        Done,
    }
}

impl<S: SdkService> std::future::Future for Retrying<S, S::Future> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let result = match this.state.as_mut().project() {
                RetryStateProj::Ready { service } => match std::task::ready!(service.poll_ready(cx)) {
                    Ok(()) => {
                        *this.attempt += 1;
                        let mut one = clone_request(this.req);
                        let context = CallContext::of_mut(&mut one);
                        context.attempt = *this.attempt;
                        if *this.replay == Replay::Next {
                            // The replay says so: the auth layer lets a 401 to it stand.
                            context.reauthorized = true;
                            *this.replay = Replay::Sent;
                        }
                        let pending = service.call(one);
                        this.state.set(RetryState::Sending { pending });
                        continue;
                    }
                    Err(e) => {
                        *this.attempt += 1;
                        Err(e)
                    }
                },
                RetryStateProj::Sending { pending } => std::task::ready!(pending.poll(cx)),
                RetryStateProj::Waiting { sleep } => {
                    std::task::ready!(sleep.as_mut().poll(cx));
                    this.state.set(RetryState::Ready { service: S::clone(this.inner) });
                    continue;
                }
                RetryStateProj::Done => {
                    return Poll::Ready(Err(Error::new(ErrorKind::Transport, "polled after completion")))
                }
            };
            if *this.replay == Replay::None && matches!(&result, Ok(r) if r.extensions().get::<Reauthorize>().is_some())
            {
                // The auth layer replaced the token this 401 rejected: send once more at once
                // (through every attempt layer, so they see the replay too).
                *this.replay = Replay::Next;
                this.state.set(RetryState::Ready { service: S::clone(this.inner) });
                continue;
            }
            match this.policy.settle(*this.attempt, result) {
                Settled::Done(result) => {
                    this.state.set(RetryState::Done);
                    return Poll::Ready(result);
                }
                Settled::Wait(wait) => {
                    this.state.set(RetryState::Waiting { sleep: Box::pin(tokio::time::sleep(wait)) });
                }
            }
        }
    }
}

/// Where a call is with its replay after a 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replay {
    None,
    Next,
    Sent,
}

/// In a response's extensions: the [`AuthLayer`] answered a 401 by dropping the token it
/// rejected and taking a fresh one, so the request should be sent once more. The
/// [`RetryLayer`] above it does that at once (the replay is one more attempt, seen by every
/// attempt layer; [`CallContext::reauthorized`] marks it), so a 401 to the fresh token stands;
/// an auth layer with no retry layer above it replays on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reauthorize;

/// Full-jitter exponential backoff: a random wait between zero and `min(max, base × 2^attempt)`
/// (the whole ceiling when no randomness is to be had). The retry loop's, and the one other
/// reconnecting parts of the SDK (the notification socket) use.
pub fn full_jitter_backoff(base: Duration, max: Duration, attempt: u32) -> Duration {
    let cap = base.saturating_mul(1u32 << attempt.min(20)).min(max);
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() || cap.is_zero() {
        return cap;
    }
    Duration::from_nanos(u64::from_le_bytes(bytes) % (cap.as_nanos().min(u64::MAX as u128) as u64).max(1))
}

enum Decision {
    Done,
    RetryAfter(Duration),
    /// A retry after a failure: drawn on the budget, at this cost.
    Charged(Duration, u32),
    /// A 404 the call asked to wait out: bounded by its own time, not the attempt budget.
    NotFoundYet(Duration),
}

/// The retry policy of one call.
pub(crate) struct RetryPolicy {
    /// The current policy, with the call's own attempt and elapsed-time budgets in it.
    config: Retry,
    idempotent: bool,
    /// 404s are retried for this long (the call's own option).
    not_found_for: Option<Duration>,
    started: Instant,
    deadline: Option<Deadline>,
    budget: Arc<RetryBudget>,
    /// What this call's retries took from the budget (given back if it succeeds).
    paid: u32,
}

/// What follows an attempt.
enum Settled {
    /// The call's outcome (attempts recorded).
    Done(Result<Response<Body>, Error>),
    /// Another attempt after this wait.
    Wait(Duration),
}

impl RetryPolicy {
    /// The policy for `req` (its operation's idempotency, its own retry options, its
    /// deadline), starting now.
    fn of(mut config: Retry, req: &Request<Body>, budget: Arc<RetryBudget>) -> Self {
        let over = options(req).and_then(|o| o.retry);
        config.max_attempts = over.and_then(|o| o.max_attempts).unwrap_or(config.max_attempts).max(1);
        config.max_elapsed = over.and_then(|o| o.max_elapsed).unwrap_or(config.max_elapsed);
        let deadline = deadline(req);
        Self {
            idempotent: is_idempotent(req),
            not_found_for: over.and_then(|o| o.not_found_for),
            config,
            // The call started when its deadline was set (no second read of the clock).
            started: deadline.and_then(|d| d.at.checked_sub(d.limit)).unwrap_or_else(Instant::now),
            deadline,
            budget,
            paid: 0,
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        full_jitter_backoff(self.config.base_delay, self.config.max_delay, attempt)
    }

    fn decide(&self, attempt: u32, result: &Result<Response<Body>, Error>) -> Decision {
        let config = &self.config;
        match result {
            Ok(resp) => match resp.status().as_u16() {
                429 => match parse_retry_after(resp.headers(), SystemTime::now()) {
                    // A wait past the cap is not worth holding the call for: the caller
                    // gets the error at once, with `retry_after()` set.
                    Some(wait) if wait > config.max_retry_after => Decision::Done,
                    Some(wait) => Decision::RetryAfter(wait),
                    None => Decision::RetryAfter(self.backoff(attempt)),
                },
                404 if self.not_found_for.is_some() => Decision::NotFoundYet(self.backoff(attempt)),
                502..=504 if self.idempotent => Decision::Charged(
                    parse_retry_after(resp.headers(), SystemTime::now())
                        .filter(|w| *w <= config.max_retry_after)
                        .unwrap_or_else(|| self.backoff(attempt)),
                    RetryBudget::RETRY_COST,
                ),
                _ => Decision::Done,
            },
            Err(e) => match e.kind() {
                ErrorKind::Connect => Decision::Charged(self.backoff(attempt), RetryBudget::RETRY_COST),
                ErrorKind::Transport if self.idempotent => {
                    Decision::Charged(self.backoff(attempt), RetryBudget::RETRY_COST)
                }
                ErrorKind::Timeout if self.idempotent => {
                    Decision::Charged(self.backoff(attempt), RetryBudget::TIMEOUT_COST)
                }
                _ => Decision::Done,
            },
        }
    }

    /// After attempt number `attempt` gave `result`: the call's outcome, or the wait before
    /// the next attempt.
    fn settle(&mut self, attempt: u32, result: Result<Response<Body>, Error>) -> Settled {
        let deadline = self.deadline;
        let decision = self.decide(attempt, &result);
        if matches!(decision, Decision::Done) {
            if matches!(&result, Ok(r) if r.status().is_success()) {
                // A success gives back what its retries took, or 1.
                self.budget.deposit(self.paid.max(1));
            }
            return Settled::Done(with_attempts(result, attempt));
        }
        // The clock is read only when another attempt may follow.
        let now = Instant::now();
        let (wait, cost) = match decision {
            Decision::Done => return Settled::Done(with_attempts(result, attempt)),
            Decision::RetryAfter(wait) => (wait, 0),
            Decision::Charged(wait, cost) => (wait, cost),
            Decision::NotFoundYet(wait) => {
                let limit = self.not_found_for.unwrap_or_default();
                if (now - self.started) + wait > limit || deadline.is_some_and(|d| now + wait >= d.at) {
                    return Settled::Done(with_attempts(result, attempt));
                }
                tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "404, retrying as the call asked");
                return Settled::Wait(wait);
            }
        };
        if deadline.is_some_and(|d| now >= d.at) && matches!(&result, Err(e) if e.kind() == ErrorKind::Timeout) {
            // The whole call's time is up: no attempt may follow.
            return Settled::Done(with_attempts(result, attempt));
        }
        // A wait that would end past the call's deadline is not worth starting.
        let past_deadline = deadline.is_some_and(|d| now + wait >= d.at);
        if attempt >= self.config.max_attempts || (now - self.started) + wait > self.config.max_elapsed || past_deadline
        {
            return Settled::Done(match result {
                Err(e) if attempt > 1 => Err(e.into_retries_exhausted(attempt)),
                other => with_attempts(other, attempt),
            });
        }
        if cost > 0 {
            if !self.budget.withdraw(cost) {
                tracing::warn!(attempt, "not retrying: the client's retry budget is spent (calls keep failing)");
                return Settled::Done(with_attempts(result, attempt));
            }
            self.paid += cost;
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
        Settled::Wait(wait)
    }
}

fn with_attempts(result: Result<Response<Body>, Error>, attempts: u32) -> Result<Response<Body>, Error> {
    match result {
        // One attempt is what a response without the extension means.
        Ok(mut r) => {
            if attempts > 1 {
                r.extensions_mut().insert(Attempts(attempts));
            }
            Ok(r)
        }
        Err(e) => Err(e.with_attempts(attempts)),
    }
}

// ---------------------------------------------------------------------------------------------

/// Limits each attempt (the current `timeouts.attempt`, read per attempt); the timer fires at
/// the call's [`Deadline`] instead when that comes first. An expired attempt is an
/// [`ErrorKind::Timeout`] error (retried for idempotent operations), never a response.
#[derive(Clone, Debug)]
pub struct AttemptTimeoutLayer {
    timeouts: Live<Timeouts>,
}

impl AttemptTimeoutLayer {
    /// Each attempt gets at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self::live(Live::new(Timeouts::default().attempt(timeout)))
    }

    /// Each attempt gets at most the `attempt` limit of the current `timeouts`.
    pub fn live(timeouts: Live<Timeouts>) -> Self {
        Self { timeouts }
    }
}

impl<S> Layer<S> for AttemptTimeoutLayer {
    type Service = AttemptTimeout<S>;
    fn layer(&self, inner: S) -> AttemptTimeout<S> {
        AttemptTimeout { inner, timeouts: self.timeouts.clone() }
    }
}

/// The service of [`AttemptTimeoutLayer`].
#[derive(Clone, Debug)]
pub struct AttemptTimeout<S> {
    inner: S,
    timeouts: Live<Timeouts>,
}

impl<S: SdkService> Service<Request<Body>> for AttemptTimeout<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = TimeLimited<S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let limit = self.timeouts.with(|t| t.attempt);
        let own = Instant::now() + limit;
        let (at, limit, whole_call) = match deadline(&req) {
            Some(d) if d.at <= own => (d.at, d.limit, true),
            _ => (own, limit, false),
        };
        TimeLimited { inner: tokio::time::timeout_at(at, self.inner.call(req)), limit, whole_call }
    }
}

// ---------------------------------------------------------------------------------------------

/// Adds the bearer token; on a 401 drops that token, takes a fresh one and replays once:
/// through the [`RetryLayer`] above it when there is one (the replay is one more attempt, seen
/// by every attempt layer; see [`Reauthorize`]), else on its own.
///
/// The token goes only where the client's calls go: to a request whose URI is a path (the
/// [`BaseUrlLayer`] below puts it on the API host), or an absolute URI on one of the hosts
/// given to [`to_hosts`](Self::to_hosts) (the transport gives its API and login hosts, a
/// gateway's included). A request for any other host (a `selfUri` elsewhere, a download
/// link) is sent without it.
#[derive(Clone)]
pub struct AuthLayer {
    bearer: Bearer,
}

impl std::fmt::Debug for AuthLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthLayer")
    }
}

impl AuthLayer {
    /// Tokens from `provider`, for requests whose URI is a path.
    pub fn new(provider: Arc<dyn TokenProvider>) -> Self {
        Self { bearer: Bearer::new(provider, Vec::new()) }
    }

    /// Also sends the token with absolute URIs on these hosts (scheme, host and port alike).
    pub fn to_hosts<'a>(self, hosts: impl IntoIterator<Item = &'a crate::region::Base>) -> Self {
        let hosts = hosts.into_iter().map(|b| (b.scheme().clone(), b.authority().clone())).collect();
        Self { bearer: Bearer::new(self.bearer.provider.clone(), hosts) }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth { inner, bearer: self.bearer.clone() }
    }
}

/// The service of [`AuthLayer`].
#[derive(Clone)]
pub struct Auth<S> {
    inner: S,
    bearer: Bearer,
}

impl<S> std::fmt::Debug for Auth<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth")
    }
}

impl<S: SdkService> Service<Request<Body>> for Auth<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = Authorized<S, S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let state = if !meta(&req).is_none_or(|m| m.needs_auth) || !self.bearer.goes_to(&req) {
            AuthState::Sending { pending: self.inner.call(req), check: None }
        } else if let Some(token) = self.bearer.provider.ready() {
            // The common case: a token is at hand.
            match self.bearer.set(&mut req, &token) {
                Ok(()) => {
                    let check = Check::of(&self.bearer, token, &req, &self.inner);
                    AuthState::Sending { pending: self.inner.call(req), check }
                }
                Err(e) => AuthState::Failed { error: Some(e) },
            }
        } else {
            // The token is being fetched: the ready service waits with the request; a clone
            // stays for the next call.
            let clone = self.inner.clone();
            let service = std::mem::replace(&mut self.inner, clone);
            let bearer = self.bearer.clone();
            AuthState::Boxed { pending: Box::pin(async move { bearer.authorize(service, req).await }) }
        };
        Authorized { state }
    }
}

/// What an answer of 401 to an authorized attempt needs.
struct Check<S> {
    bearer: Bearer,
    token: genesys_cloud_auth::Secret,
    // The call's deadline: the fresh token is not waited for past it.
    deadline: Option<Deadline>,
    // Boxed: it is there only without a retry layer above, and the future stays small.
    replay: Option<Box<(Request<Body>, S)>>,
}

impl<S: SdkService> Check<S> {
    /// What a 401 to `req` (sent with `token`, through a clone of `service`) will need; none
    /// when `req` is itself the replay, whose 401 stands. The replay is this layer's to send
    /// (a copy of the request and a service) only without a retry layer above: with one, the
    /// request has its attempt number and the replay is the retry layer's ([`Reauthorize`]).
    fn of(bearer: &Bearer, token: genesys_cloud_auth::Secret, req: &Request<Body>, service: &S) -> Option<Self> {
        let context = CallContext::of(req);
        if context.is_some_and(|c| c.reauthorized) {
            return None;
        }
        let attempt = context.map_or(0, |c| c.attempt);
        let replay = (attempt == 0).then(|| Box::new((clone_request(req), service.clone())));
        Some(Self { bearer: bearer.clone(), token, deadline: context.and_then(|c| c.deadline), replay })
    }

    /// After the 401 `response`: drops the token it rejected and takes a fresh one. Then
    /// sends the replay once with the fresh token, or (with no replay here) marks the 401
    /// [`Reauthorize`]. When the provider cannot mint another token, the 401 stands.
    async fn after_401(self, mut response: Response<Body>) -> Result<Response<Body>, Error> {
        let Self { bearer, token, deadline, replay } = self;
        bearer.provider.invalidate(&token);
        let fresh = until_deadline(deadline, bearer.provider.token()).await?;
        if fresh == token {
            return Ok(response);
        }
        match replay.map(|r| *r) {
            Some((mut req, mut service)) => {
                bearer.set(&mut req, &fresh)?;
                send_when_ready(&mut service, req).await
            }
            None => {
                response.extensions_mut().insert(Reauthorize);
                Ok(response)
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Auth`]: the attempt, and after a 401 the fresh token (and the replay,
    /// when this layer sends it).
    pub struct Authorized<S, F> {
        #[pin]
        state: AuthState<S, F>,
    }
}

pin_project_lite::pin_project! {
    #[project = AuthStateProj]
    enum AuthState<S, F> {
        Sending { #[pin] pending: F, check: Option<Check<S>> },
        // The rare paths: waiting for a token, or answering a 401.
        Boxed { pending: BoxFuture<'static, Result<Response<Body>, Error>> },
        Failed { error: Option<Error> },
    }
}

impl<S: SdkService> std::future::Future for Authorized<S, S::Future> {
    type Output = Result<Response<Body>, Error>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                AuthStateProj::Sending { pending, check } => {
                    let result = std::task::ready!(pending.poll(cx));
                    match (result, check.take()) {
                        (Ok(response), Some(check)) if response.status() == StatusCode::UNAUTHORIZED => {
                            this.state.set(AuthState::Boxed { pending: Box::pin(check.after_401(response)) });
                        }
                        (other, _) => return Poll::Ready(other),
                    }
                }
                AuthStateProj::Boxed { pending } => return pending.as_mut().poll(cx),
                AuthStateProj::Failed { error } => {
                    let e = error.take().unwrap_or_else(|| Error::new(ErrorKind::Auth, "polled after completion"));
                    return Poll::Ready(Err(e));
                }
            }
        }
    }
}

/// The token provider and the header of the last token, shared (a copy for each attempt is
/// one reference count).
#[derive(Clone)]
struct Bearer(Arc<BearerState>);

struct BearerState {
    provider: Arc<dyn TokenProvider>,
    /// The hosts an absolute URI may name and still get the token.
    hosts: Vec<(Scheme, Authority)>,
    /// The header of the last token, so each call does not format and validate it again.
    last: arc_swap::ArcSwapOption<(genesys_cloud_auth::Secret, HeaderValue)>,
}

impl std::ops::Deref for Bearer {
    type Target = BearerState;
    fn deref(&self) -> &BearerState {
        &self.0
    }
}

impl Bearer {
    fn new(provider: Arc<dyn TokenProvider>, hosts: Vec<(Scheme, Authority)>) -> Self {
        Self(Arc::new(BearerState { provider, hosts, last: Default::default() }))
    }

    /// Whether `req` may carry the token: its URI is a path, or names one of the hosts.
    fn goes_to(&self, req: &Request<Body>) -> bool {
        let uri = req.uri();
        match (uri.scheme(), uri.authority()) {
            (None, None) => true,
            (Some(scheme), Some(authority)) => self.hosts.iter().any(|(s, a)| s == scheme && a == authority),
            _ => false,
        }
    }

    /// A token valid now: the provider's ready one, else its (possibly refreshing) future.
    async fn token(&self) -> Result<genesys_cloud_auth::Secret, Error> {
        match self.provider.ready() {
            Some(token) => Ok(token),
            None => self.provider.token().await,
        }
    }

    /// Puts `token` in `req`'s `Authorization` header (marked sensitive).
    fn set(&self, req: &mut Request<Body>, token: &genesys_cloud_auth::Secret) -> Result<(), Error> {
        let value = match &*self.last.load() {
            Some(last) if last.0 == *token => last.1.clone(),
            _ => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
                    .map_err(|_| Error::new(ErrorKind::Auth, "the access token is not a valid header value"))?;
                value.set_sensitive(true);
                self.last.store(Some(Arc::new((token.clone(), value.clone()))));
                value
            }
        };
        req.headers_mut().insert(header::AUTHORIZATION, value);
        Ok(())
    }

    /// Waits for a token, then sends `req` through `service` (ready) with it; after a 401,
    /// as [`Check::after_401`].
    async fn authorize<S: SdkService>(&self, mut service: S, mut req: Request<Body>) -> Result<Response<Body>, Error> {
        let token = until_deadline(deadline(&req), self.token()).await?;
        self.set(&mut req, &token)?;
        let check = Check::of(self, token, &req, &service);
        let response = service.call(req).await?;
        match check {
            Some(check) if response.status() == StatusCode::UNAUTHORIZED => check.after_401(response).await,
            _ => Ok(response),
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// Sets the SDK's headers (`User-Agent: genesys-cloud-rs/<version>`, `purecloud-sdk`) where
/// the request has none, with tower-http's `SetRequestHeaderLayer`.
#[derive(Clone, Debug)]
pub struct HeadersLayer {
    user_agent: HeaderValue,
    sdk: HeaderValue,
}

impl Default for HeadersLayer {
    fn default() -> Self {
        // Static values: a copy of the layer for each call counts no references.
        Self {
            user_agent: HeaderValue::from_static(concat!("genesys-cloud-rs/", env!("CARGO_PKG_VERSION"))),
            sdk: HeaderValue::from_static(concat!("rust-", env!("CARGO_PKG_VERSION"))),
        }
    }
}

/// The service of [`HeadersLayer`]: two of tower-http's header setters.
pub type Headers<S> =
    tower_http::set_header::SetRequestHeader<tower_http::set_header::SetRequestHeader<S, HeaderValue>, HeaderValue>;

impl<S> Layer<S> for HeadersLayer {
    type Service = Headers<S>;
    fn layer(&self, inner: S) -> Headers<S> {
        use tower_http::set_header::SetRequestHeaderLayer;
        let sdk = SetRequestHeaderLayer::if_not_present(HeaderName::from_static("purecloud-sdk"), self.sdk.clone());
        let agent = SetRequestHeaderLayer::if_not_present(header::USER_AGENT, self.user_agent.clone());
        agent.layer(sdk.layer(inner))
    }
}

// ---------------------------------------------------------------------------------------------

/// Makes origin-form request URIs absolute on a base URL, so the layers inside (logging) see
/// the full URL.
#[derive(Clone, Debug)]
pub struct BaseUrlLayer {
    base: Arc<crate::region::Base>,
}

impl BaseUrlLayer {
    /// Requests go to `base`.
    pub fn new(base: crate::region::Base) -> Self {
        Self { base: Arc::new(base) }
    }
}

impl<S> Layer<S> for BaseUrlLayer {
    type Service = BaseUrl<S>;
    fn layer(&self, inner: S) -> BaseUrl<S> {
        BaseUrl { inner, base: self.base.clone() }
    }
}

/// The service of [`BaseUrlLayer`].
#[derive(Clone, Debug)]
pub struct BaseUrl<S> {
    inner: S,
    base: Arc<crate::region::Base>,
}

impl<S: SdkService> Service<Request<Body>> for BaseUrl<S> {
    type Response = Response<Body>;
    type Error = Error;
    type Future = futures_util::future::Either<std::future::Ready<Result<Response<Body>, Error>>, S::Future>;
    ready_when_inner_is!();

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        if req.uri().scheme().is_none() {
            match self.base.join_uri(req.uri()) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(e) => return futures_util::future::Either::Left(std::future::ready(Err(e))),
            }
        }
        futures_util::future::Either::Right(self.inner.call(req))
    }
}
