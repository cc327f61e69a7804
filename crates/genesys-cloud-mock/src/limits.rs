//! Rate limits, as Genesys Cloud counts them: a fixed window per token that starts with the
//! token's first request in it, and optionally one per OAuth client across all its tokens (the
//! platform's `org.app.user.rate.per.minute`); `inin-ratelimit-*` headers on every answer, and a
//! 429 with `Retry-After` (code `too.many.requests.retry.after`) past either allowance.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// A token's allowance: `allowed` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a token may make per window (Genesys Cloud: 300 for client credentials).
    pub allowed: u32,
    /// The window (Genesys Cloud: a minute).
    pub window: Duration,
}

impl RateLimit {
    /// `allowed` requests per `window` and token.
    pub fn new(allowed: u32, window: Duration) -> Self {
        Self { allowed: allowed.max(1), window: window.max(Duration::from_millis(1)) }
    }

    /// Genesys Cloud's default for a client-credentials token: 300 a minute.
    pub fn genesys_default() -> Self {
        Self::new(300, Duration::from_secs(60))
    }
}

/// Where one request stands: what its headers say, and whether it is refused.
pub(crate) struct Verdict {
    pub(crate) allowed: u32,
    pub(crate) count: u32,
    /// Whole seconds until the window starts again (rounded up, so never early).
    pub(crate) reset_secs: u64,
    pub(crate) refused: bool,
}

#[derive(Default)]
pub(crate) struct Limits {
    /// Windows by token, and (under `client:`) by OAuth client.
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    refused: AtomicUsize,
    refused_by_client: AtomicUsize,
    counted: AtomicUsize,
}

/// The window of `key` at `now` under `limit`, turned when it is over: its start and count.
fn window<'a>(
    windows: &'a mut HashMap<String, (Instant, u32)>,
    key: &str,
    limit: RateLimit,
    now: Instant,
) -> &'a mut (Instant, u32) {
    let entry = windows.entry(key.to_owned()).or_insert((now, 0));
    if now >= entry.0 + limit.window {
        *entry = (now, 0);
    }
    entry
}

fn verdict(limit: RateLimit, (start, count): (Instant, u32), now: Instant, refused: bool) -> Verdict {
    let left = (start + limit.window).saturating_duration_since(now);
    Verdict { allowed: limit.allowed, count, reset_secs: left.as_nanos().div_ceil(1_000_000_000) as u64, refused }
}

impl Limits {
    /// Counts a request of `token` (issued to `client`) against the token's `limit` and the
    /// client's `client_limit`. A request past either is refused and counted in neither. The
    /// headers are those of the allowance closer to its end: the client's when it refuses or
    /// has fewer requests left, else the token's.
    pub(crate) fn admit(
        &self,
        limit: Option<RateLimit>,
        client_limit: Option<RateLimit>,
        token: &str,
        client: &str,
    ) -> Option<Verdict> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let client_key = format!("client:{client}");
        let token_state = limit.map(|l| *window(&mut windows, token, l, now));
        let client_state = client_limit.map(|l| *window(&mut windows, &client_key, l, now));
        let token_full = limit.zip(token_state).is_some_and(|(l, (_, c))| c >= l.allowed);
        let client_full = client_limit.zip(client_state).is_some_and(|(l, (_, c))| c >= l.allowed);
        let refused = token_full || client_full;
        if refused {
            self.refused.fetch_add(1, Ordering::SeqCst);
            if client_full && !token_full {
                self.refused_by_client.fetch_add(1, Ordering::SeqCst);
            }
        } else {
            if let Some(l) = limit {
                window(&mut windows, token, l, now).1 += 1;
            }
            if let Some(l) = client_limit {
                window(&mut windows, &client_key, l, now).1 += 1;
            }
            self.counted.fetch_add(1, Ordering::SeqCst);
        }
        let of_token = limit.map(|l| verdict(l, *window(&mut windows, token, l, now), now, refused));
        let of_client = client_limit.map(|l| verdict(l, *window(&mut windows, &client_key, l, now), now, refused));
        match (of_token, of_client) {
            (Some(t), Some(c)) => {
                let left = |v: &Verdict| v.allowed.saturating_sub(v.count);
                Some(if (client_full && !token_full) || left(&c) < left(&t) { c } else { t })
            }
            (t, c) => t.or(c),
        }
    }

    /// Requests refused by an OAuth client's allowance (its tokens had room).
    pub(crate) fn refused_by_client(&self) -> usize {
        self.refused_by_client.load(Ordering::SeqCst)
    }

    /// Requests refused with a 429.
    pub(crate) fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Requests counted against a limit.
    pub(crate) fn counted(&self) -> usize {
        self.counted.load(Ordering::SeqCst)
    }
}
