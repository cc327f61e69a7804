//! Per-token rate limits, as Genesys Cloud counts them: a fixed window per token that starts
//! with the token's first request in it, `inin-ratelimit-*` headers on every answer, and a 429
//! with `Retry-After` (code `too.many.requests.retry.after`) past the allowance.

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
    windows: Mutex<HashMap<String, (Instant, u32)>>,
    refused: AtomicUsize,
    counted: AtomicUsize,
}

impl Limits {
    /// Counts a request of `token` against `limit`.
    pub(crate) fn admit(&self, limit: RateLimit, token: &str) -> Verdict {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let (start, count) = windows.entry(token.to_owned()).or_insert((now, 0));
        if now >= *start + limit.window {
            *start = now;
            *count = 0;
        }
        let refused = *count >= limit.allowed;
        if refused {
            self.refused.fetch_add(1, Ordering::SeqCst);
        } else {
            *count += 1;
            self.counted.fetch_add(1, Ordering::SeqCst);
        }
        let left = (*start + limit.window).saturating_duration_since(now);
        Verdict {
            allowed: limit.allowed,
            count: *count,
            reset_secs: left.as_nanos().div_ceil(1_000_000_000) as u64,
            refused,
        }
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
