//! The package of the `quickstart` example (`cargo run --example quickstart`): see
//! `quickstart.rs`. It depends on what a user's crate would, and nothing else.
