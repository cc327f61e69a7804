//! The retry layer: which answers are retried, how long to wait, and the budget retries share.

use super::auth::Reauthorize;
use super::context::{clone_request, deadline, is_idempotent, options, CallContext, Deadline};
use super::service::SdkService;
use crate::body::Body;
use crate::budget::RetryBudget;
use crate::live::Live;
use genesys_cloud_config::Retry;
use genesys_cloud_core::error::parse_retry_after;
use genesys_cloud_core::executor::Attempts;
use genesys_cloud_core::http::{Request, Response};
use genesys_cloud_core::{Error, ErrorKind};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use tower::{Layer, Service};

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
    /// still has the original, through a copy of the service below made for it and held
    /// until the attempt is sent (a service may be ready for one request only).
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
                crate::metrics::retry();
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
                crate::metrics::retry_refused();
                tracing::warn!(attempt, "not retrying: the client's retry budget is spent (calls keep failing)");
                return Settled::Done(with_attempts(result, attempt));
            }
            self.paid += cost;
        }
        tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "retrying");
        crate::metrics::retry();
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
