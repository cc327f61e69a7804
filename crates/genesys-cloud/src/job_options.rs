//! How a job is waited for: the options both job helpers take.

use std::time::Duration;

/// How a job is waited for and read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JobOptions {
    /// The first wait between two polls. Default 1 s.
    pub poll_first: Duration,
    /// The longest wait between two polls (each wait is half again the last). Default 10 s.
    pub poll_max: Duration,
    /// How long a job may take to be fulfilled before the helper gives up on it (and cancels
    /// it). Default 30 min.
    pub time_limit: Duration,
    /// How long a 404 on a status is taken for a job not visible yet. Default 60 s.
    pub not_found_for: Duration,
    /// Items per results page, for the families that take a `pageSize`. Default: the API's.
    pub page_size: Option<u32>,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            poll_first: Duration::from_secs(1),
            poll_max: Duration::from_secs(10),
            time_limit: Duration::from_secs(1800),
            not_found_for: Duration::from_secs(60),
            page_size: None,
        }
    }
}

impl JobOptions {
    /// Sets the polling waits ([`poll_first`](Self::poll_first), [`poll_max`](Self::poll_max)).
    pub fn poll(mut self, first: Duration, max: Duration) -> Self {
        self.poll_first = first;
        self.poll_max = max.max(first);
        self
    }

    /// Sets [`time_limit`](Self::time_limit).
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// Sets [`page_size`](Self::page_size).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

/// The waits between the status polls of one job, for both job helpers: half again the last
/// from [`JobOptions::poll_first`] to [`JobOptions::poll_max`], an answer's `Retry-After`
/// instead when it has one, and none past [`JobOptions::time_limit`] from the job's start.
pub(crate) struct Waits {
    started: tokio::time::Instant,
    next: Duration,
    max: Duration,
    limit: Duration,
}

impl Waits {
    /// The waits of a job started at `started`.
    pub(crate) fn since(started: tokio::time::Instant, options: &JobOptions) -> Self {
        Self { started, next: options.poll_first, max: options.poll_max, limit: options.time_limit }
    }

    /// The pause before the next poll (`retry_after` when the answer had one); `None` when
    /// waiting it out would pass the time limit.
    pub(crate) fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let pause = retry_after.unwrap_or(self.next);
        if self.started.elapsed() + pause > self.limit {
            return None;
        }
        self.next = (self.next + self.next / 2).min(self.max).max(Duration::from_millis(1));
        Some(pause)
    }
}

/// One status poll of a job at `path`: the status, and the answer's `Retry-After`. A 404 is
/// taken for a job not visible yet for `not_found_for` (the client's retries wait it out).
pub(crate) async fn poll_status<T: serde::de::DeserializeOwned>(
    raw: &crate::Raw,
    path: String,
    not_found_for: Duration,
) -> crate::Result<(T, Option<Duration>)> {
    let retry = genesys_cloud_core::RetryOverride::default().not_found_for(not_found_for);
    let response = raw
        .request(genesys_cloud_core::http::Method::GET, path)
        .with_retry(retry)
        .send_json_with_response::<T>()
        .await?;
    let retry_after = genesys_cloud_core::error::parse_retry_after(&response.headers, std::time::SystemTime::now());
    Ok((response.value, retry_after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn waits_grow_take_retry_after_and_end_at_the_time_limit() {
        let options = JobOptions::default()
            .poll(Duration::from_secs(2), Duration::from_secs(4))
            .time_limit(Duration::from_secs(12));
        let mut waits = Waits::since(tokio::time::Instant::now(), &options);
        assert_eq!(waits.next(None), Some(Duration::from_secs(2)));
        assert_eq!(waits.next(None), Some(Duration::from_secs(3)));
        assert_eq!(waits.next(Some(Duration::from_secs(7))), Some(Duration::from_secs(7)), "Retry-After wins");
        assert_eq!(waits.next(None), Some(Duration::from_secs(4)), "capped at poll_max");
        tokio::time::advance(Duration::from_secs(9)).await;
        assert_eq!(waits.next(None), None, "9 s gone and 4 s more would pass the 12 s limit");
    }
}
