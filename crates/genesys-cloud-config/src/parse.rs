//! Reading INI and JSON configuration files and environment variables, with type checks that
//! name the file, section and key of every bad value. A file is applied whole or not at all.

use crate::model::{Config, Gateway, Proxy};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration that could not be read; nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, when the problem is in one.
    pub file: Option<PathBuf>,
    /// The section (`logging`).
    pub section: Option<String>,
    /// The key (`log_level`), or the environment variable.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    fn at(file: Option<&Path>, section: &str, key: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            section: Some(section.to_owned()),
            key: Some(key.to_owned()),
            message: message.into(),
        }
    }

    fn file(file: Option<&Path>, message: impl Into<String>) -> Self {
        Self { file: file.map(Path::to_path_buf), section: None, key: None, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        match (&self.section, &self.key) {
            (Some(s), Some(k)) => write!(f, "[{s}] {k}: ")?,
            (None, Some(k)) => write!(f, "{k}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// INI sections (`[logging]`), as the Python SDK writes them.
    Ini,
    /// A JSON object of sections.
    Json,
}

/// Detects the format from the content: a JSON object starts with `{`.
pub fn detect(text: &str) -> Format {
    if text.trim_start_matches('\u{feff}').trim_start().starts_with('{') {
        Format::Json
    } else {
        Format::Ini
    }
}

/// One raw value from a file.
enum Raw<'a> {
    Ini(&'a str),
    Json(&'a Value),
}

impl Raw<'_> {
    fn describe(&self) -> String {
        match self {
            Raw::Ini(s) => format!("{s:?}"),
            Raw::Json(v) => format!("{v}"),
        }
    }

    fn string(&self) -> Result<String, String> {
        match self {
            Raw::Ini(s) => Ok(s.trim().to_owned()),
            Raw::Json(Value::String(s)) => Ok(s.clone()),
            Raw::Json(other) => Err(format!("expected a string, found {other}")),
        }
    }

    fn bool(&self) -> Result<bool, String> {
        match self {
            Raw::Ini(s) => match s.trim().to_ascii_lowercase().as_str() {
                "1" | "yes" | "true" | "on" => Ok(true),
                "0" | "no" | "false" | "off" => Ok(false),
                _ => Err(format!("expected a boolean (true/false, yes/no, on/off, 1/0), found {}", self.describe())),
            },
            Raw::Json(Value::Bool(b)) => Ok(*b),
            // The Python SDK takes "false" in JSON as truthy; here it is an error.
            Raw::Json(other) => Err(format!("expected a JSON boolean (true or false), found {other}")),
        }
    }

    fn int(&self) -> Result<i64, String> {
        match self {
            Raw::Ini(s) => s.trim().parse().map_err(|_| format!("expected a whole number, found {}", self.describe())),
            Raw::Json(v) => v.as_i64().ok_or_else(|| format!("expected a JSON whole number, found {v}")),
        }
    }

    fn seconds(&self) -> Result<Duration, String> {
        let n = self.int()?;
        u64::try_from(n).map(Duration::from_secs).map_err(|_| format!("expected a number of seconds >= 0, found {n}"))
    }

    fn millis(&self) -> Result<Duration, String> {
        let n = self.int()?;
        u64::try_from(n)
            .map(Duration::from_millis)
            .map_err(|_| format!("expected a number of milliseconds >= 0, found {n}"))
    }

    fn port(&self) -> Result<Option<u16>, String> {
        match self.int()? {
            // As in the official SDKs, a negative port means "no port in the URL".
            n if n < 0 => Ok(None),
            n @ 1..=65535 => Ok(Some(n as u16)),
            n => Err(format!("expected a port from 1 to 65535, found {n}")),
        }
    }
}

fn gateway(c: &mut Config) -> &mut Gateway {
    c.gateway.get_or_insert_with(|| Gateway::new(String::new()))
}

fn proxy(c: &mut Config) -> &mut Proxy {
    c.proxy.get_or_insert_with(|| Proxy::new(String::new()))
}

/// Applies one `(section, key) = value` to `config`. Unknown keys are reported to `unknown`.
fn apply(
    config: &mut Config,
    section: &str,
    key: &str,
    raw: &Raw<'_>,
    unknown: &mut Vec<String>,
) -> Result<(), String> {
    let section_l = section.to_ascii_lowercase();
    let key_l = key.to_ascii_lowercase();
    match (section_l.as_str(), key_l.as_str()) {
        ("logging", "log_level") => config.logging.level = raw.string()?.parse()?,
        ("logging", "log_format") => config.logging.format = raw.string()?.parse()?,
        ("logging", "log_to_console") => config.logging.to_console = raw.bool()?,
        ("logging", "log_file_path") => {
            let p = raw.string()?;
            config.logging.file = (!p.is_empty()).then(|| PathBuf::from(p));
        }
        ("logging", "log_request_body") => config.logging.request_body = raw.bool()?,
        ("logging", "log_response_body") => config.logging.response_body = raw.bool()?,
        ("general", "host") => config.base_url = Some(raw.string()?).filter(|s| !s.is_empty()),
        ("general", "region") => config.region = Some(raw.string()?).filter(|s| !s.is_empty()),
        ("general", "live_reload_config") => config.live_reload = raw.bool()?,
        ("reauthentication", "refresh_access_token") => config.reauthentication.refresh_access_token = raw.bool()?,
        ("reauthentication", "refresh_token_wait_max") => {
            config.reauthentication.refresh_token_wait_max = raw.seconds()?
        }
        ("gateway", "host") => gateway(config).host = raw.string()?,
        ("gateway", "protocol") => {
            let p = raw.string()?;
            if !p.is_empty() && p != "http" && p != "https" {
                return Err(format!("expected http or https, found {p:?}"));
            }
            gateway(config).protocol = if p.is_empty() { "https".into() } else { p };
        }
        ("gateway", "port") => gateway(config).port = raw.port()?,
        ("gateway", "path_params_login") => {
            gateway(config).path_params_login = raw.string()?.trim_end_matches('/').to_owned()
        }
        ("gateway", "path_params_api") => {
            gateway(config).path_params_api = raw.string()?.trim_end_matches('/').to_owned()
        }
        // Present in the Python SDK's files and documented there as unused.
        ("gateway", "username" | "password") => {}
        ("retry", "retry_max" | "max_attempts") => {
            let n = raw.int()?;
            config.retry.max_attempts =
                u32::try_from(n).ok().filter(|n| *n >= 1).ok_or(format!("expected at least 1 attempt, found {n}"))?;
        }
        ("retry", "retry_wait_max" | "max_elapsed") => config.retry.max_elapsed = raw.seconds()?,
        ("retry", "retry_after_max" | "max_retry_after") => config.retry.max_retry_after = raw.seconds()?,
        ("retry", "backoff_base_ms") => config.retry.base_delay = raw.millis()?,
        ("retry", "backoff_max_ms") => config.retry.max_delay = raw.millis()?,
        ("rate_limits", "pacing") => config.rate_limits.pacing = raw.bool()?,
        ("rate_limits", "token_pool") => {
            let n = raw.int()?;
            config.rate_limits.token_pool = usize::try_from(n)
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or(format!("expected a pool of 1 to 64 tokens, found {n}"))?;
        }
        ("timeouts", "connect") => config.timeouts.connect = raw.seconds()?,
        ("timeouts", "attempt") => config.timeouts.attempt = raw.seconds()?,
        ("timeouts", "call") => config.timeouts.call = raw.seconds()?,
        ("proxy", "host") => proxy(config).host = raw.string()?,
        ("proxy", "port") => proxy(config).port = raw.port()?,
        ("proxy", "protocol") => proxy(config).protocol = raw.string()?,
        ("proxy", "username" | "auth-username") => proxy(config).username = Some(raw.string()?),
        ("proxy", "password" | "auth-password") => proxy(config).password = Some(raw.string()?),
        ("proxy", "no_proxy") => proxy(config).no_proxy = Some(raw.string()?),
        ("proxy", "from_env") => proxy(config).from_env = raw.bool()?,
        _ => unknown.push(format!("[{section}] {key}")),
    }
    Ok(())
}

/// Reads file text (either format) onto `base`, returning the new configuration; `base` is
/// untouched when anything is wrong. Unknown keys are returned for the caller to report.
pub fn apply_file(base: &Config, text: &str, file: Option<&Path>) -> Result<(Config, Vec<String>), ConfigError> {
    let mut config = base.clone();
    let mut unknown = Vec::new();
    match detect(text) {
        Format::Json => {
            let root: Value =
                serde_json::from_str(text).map_err(|e| ConfigError::file(file, format!("invalid JSON: {e}")))?;
            let Value::Object(sections) = root else {
                return Err(ConfigError::file(file, "the JSON must be an object of sections"));
            };
            for (section, keys) in &sections {
                let Value::Object(keys) = keys else {
                    return Err(ConfigError::at(
                        file,
                        section,
                        "",
                        format!("a section must be a JSON object, found {keys}"),
                    ));
                };
                for (key, value) in keys {
                    apply(&mut config, section, key, &Raw::Json(value), &mut unknown)
                        .map_err(|m| ConfigError::at(file, section, key, m))?;
                }
            }
        }
        Format::Ini => {
            let ini =
                ini::Ini::load_from_str(text).map_err(|e| ConfigError::file(file, format!("invalid INI: {e}")))?;
            for (section, props) in ini.iter() {
                let Some(section) = section else {
                    if let Some((key, _)) = props.iter().next() {
                        return Err(ConfigError::file(file, format!("the key {key:?} is outside any [section]")));
                    }
                    continue;
                };
                for (key, value) in props.iter() {
                    apply(&mut config, section, key, &Raw::Ini(value), &mut unknown)
                        .map_err(|m| ConfigError::at(file, section, key, m))?;
                }
            }
        }
    }
    Ok((config, unknown))
}

/// The environment variables read, with the setting each overrides.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("GENESYS_CLOUD_REGION", "region"),
    ("GENESYS_CLOUD_BASE_URL", "[general] host"),
    ("GENESYS_CLOUD_CLIENT_ID", "client id"),
    ("GENESYS_CLOUD_CLIENT_SECRET", "client secret"),
    ("GENESYS_CLOUD_CONFIG_PATH", "the config file's path"),
    ("GENESYS_CLOUD_LOG_LEVEL", "[logging] log_level"),
    ("GENESYS_CLOUD_LOG_FORMAT", "[logging] log_format"),
    ("GENESYS_CLOUD_LOG_FILE", "[logging] log_file_path"),
    ("GENESYS_CLOUD_LOG_TO_CONSOLE", "[logging] log_to_console"),
    ("GENESYS_CLOUD_LOG_REQUEST_BODY", "[logging] log_request_body"),
    ("GENESYS_CLOUD_LOG_RESPONSE_BODY", "[logging] log_response_body"),
];

/// Applies the environment (through `get`, so tests need not touch the process) onto
/// `config`; a bad value is an error naming the variable.
pub fn apply_env(config: &mut Config, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
    let bad =
        |name: &str, message: String| ConfigError { file: None, section: None, key: Some(name.to_owned()), message };
    if let Some(v) = var("GENESYS_CLOUD_REGION") {
        config.region = Some(v);
    }
    if let Some(v) = var("GENESYS_CLOUD_BASE_URL") {
        config.base_url = Some(v);
    }
    if let Some(v) = var("GENESYS_CLOUD_CLIENT_ID") {
        config.credentials.client_id = Some(v);
    }
    if let Some(v) = var("GENESYS_CLOUD_CLIENT_SECRET") {
        config.credentials.client_secret = Some(v);
    }
    if let Some(v) = var("GENESYS_CLOUD_LOG_LEVEL") {
        config.logging.level = v.parse().map_err(|m| bad("GENESYS_CLOUD_LOG_LEVEL", m))?;
    }
    if let Some(v) = var("GENESYS_CLOUD_LOG_FORMAT") {
        config.logging.format = v.parse().map_err(|m| bad("GENESYS_CLOUD_LOG_FORMAT", m))?;
    }
    if let Some(v) = var("GENESYS_CLOUD_LOG_FILE") {
        config.logging.file = Some(PathBuf::from(v));
    }
    let flag = |name: &str| var(name).map(|v| Raw::Ini(&v).bool().map_err(|m| bad(name, m))).transpose();
    if let Some(on) = flag("GENESYS_CLOUD_LOG_TO_CONSOLE")? {
        config.logging.to_console = on;
    }
    if let Some(on) = flag("GENESYS_CLOUD_LOG_REQUEST_BODY")? {
        config.logging.request_body = on;
    }
    if let Some(on) = flag("GENESYS_CLOUD_LOG_RESPONSE_BODY")? {
        config.logging.response_body = on;
    }
    Ok(())
}
