//! Read-modify-write with the entity's version: `client.modify().user(id, |u| …)` reads the
//! entity, applies the closure, and writes it back with the version it read; when another
//! writer got there first (a version conflict), it reads again and applies again.

use crate::{Client, Error, ErrorKind, Result};
use std::future::Future;
use std::time::Duration;

/// How many times a helper reads and writes at most by default.
pub const DEFAULT_ATTEMPTS: u32 = 10;

/// The read-modify-write helpers of a client: one per operation pair of the spec that reads an
/// entity with a `version` and writes it back with it (68 in the vendored spec; generated, each
/// behind its tags' features). Get it with [`Client::modify`].
///
/// Each helper:
/// - reads the entity (`GET`), calls `apply` on it, and writes it back (`PUT` or `PATCH`) with
///   the version it read. When the write type differs from the read type (`User` →
///   `UpdateUser`), the value read is converted field by field: fields only the read type
///   declares (read-only ones, like `selfUri`) are left out; fields the SDK does not know
///   (a newer API's) are kept.
/// - on a version conflict (409, or a 400 whose code or message names the version), waits a
///   jittered moment (up to 1 s) and reads and applies again: `apply` may run more than once,
///   each time on the current entity.
/// - stops after [`attempts`](Self::attempts) reads (default 10) with the last conflict; every
///   read and write has the client's timeouts and retries, so the whole is bounded.
///
/// ```no_run
/// # async fn demo(client: genesys_cloud::Client) -> genesys_cloud::Result<()> {
/// let done = client.modify().user("user-id", |user| user.title = Some("Team lead".into())).await?;
/// println!("written at version {:?} after {} attempt(s)", done.value.version, done.attempts);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use = "a helper does nothing until one of its methods is awaited"]
pub struct Modify<'a> {
    pub(crate) client: &'a Client,
    attempts: u32,
}

/// What a read-modify-write wrote: the write's answer, and how many reads it took.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Modified<T> {
    /// The write's answer (the entity as written, for most).
    pub value: T,
    /// Reads and writes made: 1 without a conflict.
    pub attempts: u32,
}

impl Client {
    /// The read-modify-write helpers ([`Modify`]).
    pub fn modify(&self) -> Modify<'_> {
        Modify { client: self, attempts: DEFAULT_ATTEMPTS }
    }
}

/// Whether `e` says the version written was not the current one: a 409, or a 400 whose code or
/// message names the version (some APIs answer a stale version so).
pub fn is_version_conflict(e: &Error) -> bool {
    if e.is_conflict() {
        return true;
    }
    let names_version = |text: &str| text.to_ascii_lowercase().contains("version");
    e.is_bad_request()
        && (e.code().is_some_and(names_version)
            || e.api_error().and_then(|a| a.message.as_deref()).is_some_and(names_version))
}

/// The write body from the value read: its JSON without the fields only the read type declares.
fn write_body<R: serde::Serialize, W: serde::de::DeserializeOwned>(read: &R, read_only: &[&str]) -> Result<W> {
    let mut value = serde_json::to_value(read)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("the entity read could not be written back: {e}")))?;
    if let Some(fields) = value.as_object_mut() {
        for field in read_only {
            fields.remove(*field);
        }
    }
    serde_json::from_value(value)
        .map_err(|e| Error::new(ErrorKind::Decode, format!("the entity read does not fit the write's body: {e}")))
}

impl Modify<'_> {
    /// Reads at most `attempts` times (at least 1).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The loop every generated helper runs.
    pub(crate) async fn run<R, W, O, G, GF, P, PF, F>(
        &self,
        mut get: G,
        read_only: &[&str],
        mut put: P,
        mut apply: F,
    ) -> Result<Modified<O>>
    where
        R: serde::Serialize,
        W: serde::de::DeserializeOwned,
        G: FnMut() -> GF,
        GF: Future<Output = Result<R>>,
        P: FnMut(W) -> PF,
        PF: Future<Output = Result<O>>,
        F: FnMut(&mut R),
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut entity = get().await?;
            apply(&mut entity);
            let body: W = write_body(&entity, read_only)?;
            match put(body).await {
                Ok(value) => return Ok(Modified { value, attempts: attempt }),
                Err(e) if is_version_conflict(&e) && attempt < self.attempts => {
                    let wait = genesys_cloud_transport::__workspace::full_jitter_backoff(
                        Duration::from_millis(25),
                        Duration::from_secs(1),
                        attempt,
                    );
                    tracing::debug!(attempt, wait_ms = wait.as_millis() as u64, "version conflict: reading again");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

// The helpers, one per pair of the spec.
#[rustfmt::skip]
#[allow(clippy::all)]
#[path = "generated/modify.rs"]
mod generated;

#[cfg(all(test, feature = "users"))]
mod tests {
    use super::*;

    #[test]
    fn the_write_body_leaves_out_read_only_fields_and_keeps_unknown_ones() {
        let read: crate::models::User = serde_json::from_value(serde_json::json!({
            "id": "u-1", "name": "Ann", "version": 7, "selfUri": "/api/v2/users/u-1",
            "title": "Lead", "aFieldOfANewerApi": {"kept": true},
        }))
        .unwrap();
        let body: crate::models::UpdateUser = write_body(&read, &["id", "selfUri"]).unwrap();
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["version"], 7);
        assert_eq!(json["title"], "Lead");
        assert_eq!(json["aFieldOfANewerApi"], serde_json::json!({"kept": true}));
        assert!(json.get("selfUri").is_none() && json.get("id").is_none(), "{json}");
    }

    #[test]
    fn a_stale_version_is_a_409_or_a_400_that_names_the_version() {
        let conflict = Error::new(ErrorKind::Api, "conflict").with_status(crate::StatusCode::CONFLICT);
        assert!(is_version_conflict(&conflict));
        let bad = Error::new(ErrorKind::Api, "bad").with_status(crate::StatusCode::BAD_REQUEST);
        assert!(!is_version_conflict(&bad), "a 400 that does not name the version");
    }
}
