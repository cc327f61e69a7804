//! How-to pages: each is a module whose documentation is the page, and whose code blocks are
//! compiled with the crate's doc tests.
//!
//! - [`client`]: calls, listings, per-call options, errors, auth, transport, logging, tower
//!   layers, configuration.
//! - [`models`]: building bodies, JSON in and out, unknown values kept, explicit `null`.
//! - [`conflicts`]: a duplicate, a version conflict and a read right after a create.
//! - [`bulk`]: pacing under rate limits, token pools, concurrent pages, analytics jobs.
//! - [`notifications`]: typed event streams that heal themselves.
//! - [`fleet`]: processes of one integration that share a token on Redis.
//! - [`open_messaging`]: Open Messaging webhooks, verified and typed.
//! - [`job_shapes`]: every job of the spec, by shape (generated).
//! - [`mock`]: the local Genesys Cloud the examples and tests run against, and what it keeps.
//! - [`build`]: Cargo features, the crates, build times and speed.

#[doc = include_str!("../guide/client.md")]
pub mod client {}

#[doc = include_str!("../guide/models.md")]
pub mod models {}

#[doc = include_str!("../guide/bulk.md")]
pub mod bulk {}

#[doc = include_str!("../guide/notifications.md")]
pub mod notifications {}

#[doc = include_str!("../guide/fleet.md")]
pub mod fleet {}

#[doc = include_str!("../guide/open_messaging.md")]
pub mod open_messaging {}

#[doc = include_str!("generated/job_shapes.md")]
pub mod job_shapes {}

#[doc = include_str!("../guide/mock.md")]
pub mod mock {}

#[doc = include_str!("../guide/build.md")]
pub mod build {}

/// # Conflicts, duplicates and a read right after a create
///
/// Three answers every provisioning job meets, and how to tell them apart with the error's
/// predicates (they answer for the cause, also after the retry loop gave up):
///
/// - **A duplicate.** Creating a user whose email is in use, or a queue whose name is taken, is
///   a 409 with the Genesys code `general.conflict`. Look the existing one up instead.
/// - **A version conflict.** Most entities with a `version` refuse a write that carries a stale
///   one with a 409. Read again, apply the change again, and write with the new version.
/// - **A read right after a create.** The platform is eventually consistent: a `GET` of what
///   was just created can answer 404 for a while. Ask that call to wait it out with
///   [`RetryOverride::eventually_consistent`](crate::RetryOverride::eventually_consistent) (up
///   to five minutes) or a bound of your own with `not_found_for`.
///
/// ```no_run
/// use genesys_cloud::models::{CreateUser, UpdateUser, User};
/// use genesys_cloud::{Client, RetryOverride};
///
/// async fn provision(client: &Client, email: &str) -> genesys_cloud::Result<User> {
///     let body = CreateUser::default().name("Ann Lee").email(email).division_id("home");
///     let user = match client.users().post_users(body).send().await {
///         Ok(user) => user,
///         // A duplicate: the user is there already; find it (in a large org, search with
///         // `post_users_search` instead of reading the first page).
///         Err(e) if e.is_conflict() => {
///             let found = client.users().get_users().send().await?;
///             let existing = found.entities.into_iter().flatten().find(|u| u.email.as_deref() == Some(email));
///             return existing.ok_or(e);
///         }
///         Err(e) => return Err(e),
///     };
///     let id = user.id.clone().unwrap_or_default();
///
///     // A read right after the create may answer 404 for a while: wait it out.
///     let mut current =
///         client.users().get_user(&id).with_retry(RetryOverride::eventually_consistent()).send().await?;
///
///     // A version conflict: read again and apply the change again, a bounded number of times.
///     for _ in 0..5 {
///         let patch = UpdateUser::default().department("Support").version(current.version.unwrap_or(1));
///         match client.users().patch_user(&id, patch).send().await {
///             Ok(updated) => return Ok(updated),
///             Err(e) if e.is_conflict() => current = client.users().get_user(&id).send().await?,
///             Err(e) => return Err(e),
///         }
///     }
///     Ok(current)
/// }
/// ```
///
/// **The helper for the version conflict.** `client.modify()` does that loop for every
/// operation pair of the spec that reads an entity with a `version` and writes it back with it
/// (60 helpers, each behind its tags' features; [`Modify`](crate::modify::Modify)):
/// `client.modify().user(&id, |u| u.department = Some("Support".into())).await?` reads the
/// user, applies the closure, converts the `User` to the `UpdateUser` the write takes (fields
/// only the read declares left out, fields the SDK does not know kept), writes with the version
/// read, and on a conflict (409, or a 400 naming the version) waits a jittered moment and does
/// it again, at most 10 times (`.attempts(n)`). `Modified::attempts` says how many it took.
/// Ten tasks adding one to a counter ten times each end at 100 through it; by hand as above
/// without the loop, at about 20 (`cargo run -p genesys-cloud-examples --example
/// read_modify_write`; figures in BENCHMARKS.md).
///
/// Other predicates for triage: `is_bad_request()` (the body or a parameter was refused;
/// [`Error::api_error`](crate::Error::api_error) has the server's message and the fields),
/// `is_forbidden()` (a permission, scope or product the token lacks: retrying does not help),
/// `is_not_found()`, `is_rate_limited()`, `is_status(u16)` for any other status, and
/// [`Error::code`](crate::Error::code) for the Genesys error code.
pub mod conflicts {}
