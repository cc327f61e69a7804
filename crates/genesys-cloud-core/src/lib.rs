//! The runtime contract between the generated operations of genesys-cloud-rs and the
//! transport that sends them.
//!
//! A call goes: operation builder → [`RequestParts`] (method, filled path, query, headers,
//! body, [`OperationMeta`], [`CallOptions`]) → [`Executor`] (the transport's tower stack)
//! → a success response decoded into a model, or one [`Error`].
//!
//! This crate has no HTTP client, no async runtime and no tower: the generated code depends on
//! it alone, so it compiles in parallel with the network stack.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod checkpoint;
pub mod encode;
pub mod error;
pub mod executor;
pub mod meta;
pub mod pagination;
pub mod redact;
pub mod request;

pub use bytes;
pub use http;

pub use checkpoint::{Checkpoint, CheckpointStore, MemoryCheckpointStore};
pub use encode::{encode_path_segment, CollectionFormat, Query};
pub use error::{ApiErrorBody, Error, ErrorKind};
pub use executor::{execute, send_as, send_json, BoxFuture, Call, CallWithResponse, Executor, SharedExecutor};
pub use meta::{OperationMeta, PaginationKind};
pub use request::{CallOptions, Operation, RequestParts, Response, RetryOverride};

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
