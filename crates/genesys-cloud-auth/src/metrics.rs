//! What token requests report through the [`metrics`](https://docs.rs/metrics) facade crate,
//! with the feature `metrics` (nothing without it).

/// Counter: token requests sent, labelled `outcome` = `ok` or `error`.
pub const TOKEN_REQUESTS: &str = "genesys_cloud_token_requests_total";

/// Counts one token request.
pub(crate) fn token_request(ok: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!(TOKEN_REQUESTS, "outcome" => if ok { "ok" } else { "error" }).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = ok;
}
