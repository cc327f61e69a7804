//! What the client reports through the [`metrics`](https://docs.rs/metrics) facade crate, with
//! the feature `metrics`: install any recorder (Prometheus, StatsD, OpenTelemetry's bridge)
//! and these appear. Without the feature nothing is recorded and nothing is linked.
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | [`RATE_REMAINING`] | gauge | `scope` = `token` (and `token`, a per-process hash, never the token) or `client` | requests left in the window, as the last answer's `inin-ratelimit-*` headers said; for `client`, summed over the client's tokens |
//! | [`RATE_LIMITED`] | counter | | answers with status 429 |
//! | [`PACE_WAITS`] | counter | | attempts the pacer held back |
//! | [`PACE_WAIT_SECONDS`] | histogram | | how long each of them waited |
//! | [`RETRIES`] | counter | | attempts sent again by the retry layer |
//! | [`RETRIES_REFUSED`] | counter | | retries the retry budget refused |
//! | [`TOKEN_REQUESTS`](genesys_cloud_auth::metrics::TOKEN_REQUESTS) | counter | `outcome` = `ok` or `error` | token requests (the auth crate's) |

/// Gauge: requests left in the current window (`scope` `token` or `client`).
pub const RATE_REMAINING: &str = "genesys_cloud_rate_remaining";
/// Counter: answers with status 429.
pub const RATE_LIMITED: &str = "genesys_cloud_rate_limited_total";
/// Counter: attempts the pacer held back.
pub const PACE_WAITS: &str = "genesys_cloud_pace_waits_total";
/// Histogram: how long each held attempt waited, in seconds.
pub const PACE_WAIT_SECONDS: &str = "genesys_cloud_pace_wait_seconds";
/// Counter: attempts sent again by the retry layer.
pub const RETRIES: &str = "genesys_cloud_retries_total";
/// Counter: retries the retry budget refused.
pub const RETRIES_REFUSED: &str = "genesys_cloud_retries_refused_total";

#[cfg(feature = "metrics")]
mod record {
    use std::time::Duration;

    pub(crate) fn rate_limited() {
        metrics::counter!(super::RATE_LIMITED).increment(1);
    }
    pub(crate) fn pace_wait(waited: Duration) {
        metrics::counter!(super::PACE_WAITS).increment(1);
        metrics::histogram!(super::PACE_WAIT_SECONDS).record(waited.as_secs_f64());
    }
    pub(crate) fn remaining(token: &str, left: u32, client: u64) {
        metrics::gauge!(super::RATE_REMAINING, "scope" => "token", "token" => token.to_owned()).set(f64::from(left));
        metrics::gauge!(super::RATE_REMAINING, "scope" => "client").set(client as f64);
    }
    pub(crate) fn retry() {
        metrics::counter!(super::RETRIES).increment(1);
    }
    pub(crate) fn retry_refused() {
        metrics::counter!(super::RETRIES_REFUSED).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod record {
    use std::time::Duration;

    pub(crate) fn rate_limited() {}
    pub(crate) fn pace_wait(_: Duration) {}
    pub(crate) fn remaining(_: &str, _: u32, _: u64) {}
    pub(crate) fn retry() {}
    pub(crate) fn retry_refused() {}
}

pub(crate) use record::*;
