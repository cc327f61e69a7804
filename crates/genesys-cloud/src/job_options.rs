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
