//! Models generated from `xtask/golden/constructs.json`, a small Swagger 2.0 file with every
//! construct the generator handles. The generated files are the generator's golden output:
//! `cargo test -p xtask` fails when they differ from what the generator writes, and this
//! crate's tests check that the output compiles and behaves.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The golden crate uses the models crate's own runtime support, file for file.
#[path = "../../../../../crates/genesys-cloud-models/src/support.rs"]
pub mod support;

pub use support::{Base64Bytes, Extras, Model, UnknownField, YearMonth};

#[rustfmt::skip]
#[allow(clippy::all, unused_imports, deprecated)]
mod generated;

// Empty when no feature is on.
#[allow(unused_imports)]
pub use generated::*;
