//! Transport settings and their defaults.

use std::time::Duration;

/// How calls are retried.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// At most this many attempts per call (1 = no retry). Default 4.
    pub max_attempts: u32,
    /// No retry starts once this much time has passed since the first attempt. Default 60 s.
    pub max_elapsed: Duration,
    /// The longest `Retry-After` the SDK waits for; a longer one returns the 429 at once, with
    /// `retry_after()` set (the Java and .NET SDKs' cap). Default 180 s.
    pub max_retry_after: Duration,
    /// The first backoff step when the server gives no `Retry-After`. Default 200 ms.
    pub base_delay: Duration,
    /// The largest backoff step. Default 10 s.
    pub max_delay: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(180),
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
        }
    }
}

impl RetryConfig {
    /// No retries at all.
    pub fn disabled() -> Self {
        Self { max_attempts: 1, ..Self::default() }
    }

    /// Sets [`max_attempts`](Self::max_attempts).
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets [`max_elapsed`](Self::max_elapsed).
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// Sets [`max_retry_after`](Self::max_retry_after).
    pub fn max_retry_after(mut self, d: Duration) -> Self {
        self.max_retry_after = d;
        self
    }

    /// Sets the backoff steps.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max;
        self
    }
}

pub use genesys_cloud_config::Timeouts;
