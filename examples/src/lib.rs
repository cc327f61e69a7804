//! Runnable examples of genesys-cloud-rs; see the `[[example]]` targets in `Cargo.toml`.
//!
//! Examples run against `genesys-cloud-mock` (a local Genesys Cloud built from the spec)
//! unless credentials for the real cloud are set.
