//! Configuration for genesys-cloud-rs: the official SDKs' INI and JSON files (sections
//! `[logging]`, `[general]`, `[reauthentication]`, `[gateway]`, `[retry]`, `[proxy]`, plus
//! `[timeouts]` and `[rate_limits]`), environment variables, and code, held as `arc-swap` snapshots and reloaded
//! live when the file changes.
//!
//! - [`Config`]: every setting, with the official SDKs' defaults.
//! - [`ConfigHandle`]: the current snapshot ([`load`](ConfigHandle::load) once per call), the
//!   watcher (the file's directory, not recursive; debounced; editors that save by rename,
//!   files that appear later and files that are removed are handled), and change listeners.
//! - Precedence: code > environment > file > defaults.
//! - Bad values are errors naming the file, section and key; an invalid file is never half
//!   applied, and on reload the last good snapshot stays in force.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod handle;
mod model;
mod parse;

pub use handle::{default_path, ConfigBuilder, ConfigHandle, Listening, ReloadEvent};
pub use model::{
    Config, Credentials, Gateway, LogFormat, LogLevel, Logging, Proxy, RateLimits, Reauthentication, Retry, Timeouts,
};
pub use parse::{apply_env, apply_file, detect, ConfigError, Format, ENV_VARS};
