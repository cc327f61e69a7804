//! Runnable examples of genesys-cloud-rs; see the `[[example]]` targets in `Cargo.toml`.
