//! Serde types for every definition of the Genesys Cloud Platform API v2.
//!
//! This crate is generated from the vendored Swagger file (`spec/platform-api-v2.json`) by
//! `cargo xtask codegen`. It has no HTTP and no async runtime: use it alone to read and write
//! Genesys Cloud JSON, or through the `genesys-cloud` client.
//!
//! # Shape of a model
//!
//! - One Rust type per Swagger definition, named after it (`User`, `Queue`, `ErrorBody`).
//! - Struct fields are `snake_case`; the JSON names are kept on the wire. Every field is an
//!   `Option`, because the server omits fields, even ones the spec calls required.
//! - Structs are `#[non_exhaustive]` and implement `Default`. Build one outside the crate with
//!   `Default` and field assignment, or in one expression with [`Model::with`].
//! - Inline enums are named after their parent and property (`User.state` is `UserStateEnum`
//!   when the `users` feature is on). Enums are *open*: an unknown value is kept in
//!   `Unknown(String)` and written back verbatim.
//! - Unknown JSON fields (the API adds some with nearly every release) are kept too, in the
//!   order received, and written back verbatim after the known ones
//!   ([`Model::unknown_fields`]). Together with open enums this is what keeps GET → modify →
//!   PUT from erasing on the server what this SDK version does not know.
//! - A `None` field is omitted from the JSON; to send an explicit `null` (a PATCH that clears a
//!   value) use [`Model::set_null`], which refuses a field name the type does not have. Nulls
//!   received from the server are remembered the same way, so a value read and written back
//!   says `null` where the server did.
//! - Dates use `chrono`: `date-time` is `DateTime<Utc>` (any offset and any number of fraction
//!   digits accepted), `date` is `NaiveDate`, `local-date-time` is `NaiveDateTime`, and
//!   `year-month` is [`YearMonth`].
//! - `Debug` shows present fields only and never shows secret-looking fields (`secret`,
//!   `password`, `token`, …).
//!
//! # Features
//!
//! One feature per API tag (`users`, `routing`, `analytics`, …) turns on exactly the
//! definitions that tag's operations reach, transitively. `unreferenced` turns on the
//! definitions no operation reaches (mostly notification topic payloads), and `full` turns on
//! everything. With no feature the crate builds and holds only the shared support types.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod support;

pub use support::{Base64Bytes, Extras, Model, UnknownField, YearMonth};

/// `use genesys_cloud_models::prelude::*;` brings the [`Model`] helpers into scope.
pub mod prelude {
    pub use crate::support::Model;
}

#[rustfmt::skip]
#[allow(clippy::all, unused_imports, deprecated)]
mod generated;

// Empty when no feature is on.
#[allow(unused_imports)]
pub use generated::*;
