//! Operations generated from `xtask/golden/constructs.json`: the generator's golden output
//! for the api crate, compiled and tested like the real one.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use genesys_cloud_core as core;
pub use models;

#[rustfmt::skip]
#[allow(clippy::all, unused_imports, deprecated, missing_docs)]
mod generated;

// Empty when no feature is on.
#[allow(unused_imports)]
pub use generated::*;
