//! What the fuzz targets check, as plain functions: `cargo fuzz` drives them with generated
//! inputs (see `fuzz_targets/`), and `tests/regressions.rs` replays the seeds and every input a
//! fuzzer ever crashed on, so a fixed crash stays fixed in the ordinary test run.
//!
//! Each function panics only when a property the SDK promises is broken; malformed input on
//! its own must come back as a typed error.

use genesys_cloud_config::{apply_file, detect, Config, Format};
use genesys_cloud_core::error::{parse_retry_after, BODY_EXCERPT_LIMIT, RETRY_AFTER_CLAMP};
use genesys_cloud_core::http::{HeaderMap, HeaderValue, StatusCode};
use genesys_cloud_core::{ApiErrorBody, Error};
use genesys_cloud_models::Model;
use std::path::Path;
use std::time::SystemTime;

/// The body of a target's binary: the libFuzzer entry point under `cargo fuzz` (which sets
/// `--cfg fuzzing`), otherwise a `main` that replays the files named on its command line.
#[macro_export]
macro_rules! fuzz_main {
    ($name:literal) => {
        #[cfg(fuzzing)]
        libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::run($name, data));

        #[cfg(not(fuzzing))]
        fn main() {
            let mut count = 0;
            for path in std::env::args_os().skip(1) {
                let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
                $crate::run($name, &data);
                count += 1;
            }
            println!("{}: {count} inputs replayed", $name);
        }
    };
}

/// The fuzz targets, by the name `cargo fuzz` knows them by.
pub const TARGETS: &[&str] = &["models", "error_body", "config_ini", "config_json"];

/// Runs the target called `name` on one input. Unknown names panic (a programming error).
pub fn run(name: &str, data: &[u8]) {
    match name {
        "models" => models(data),
        "error_body" => error_body(data),
        "config_ini" => config(data, Format::Ini),
        "config_json" => config(data, Format::Json),
        other => panic!("no fuzz target named {other}"),
    }
}

/// Decodes `data` as a JSON body into large generated models and open enums. Whatever decodes
/// must encode, decode again to an equal value and encode to the same text, and its `Debug`
/// output must not panic.
pub fn models(data: &[u8]) {
    roundtrip::<genesys_cloud_models::AnalyticsConversationQueryResponse>(data);
    roundtrip::<genesys_cloud_models::ViewFilter>(data);
    roundtrip::<genesys_cloud_models::User>(data);
    roundtrip::<genesys_cloud_models::Queue>(data);
    roundtrip::<genesys_cloud_models::FlowVersion>(data);
    enum_roundtrip::<genesys_cloud_models::UserStateEnum>(data);
    enum_roundtrip::<genesys_cloud_models::QueueScoringMethod>(data);
    enum_roundtrip::<genesys_cloud_models::ViewFilterDashboardType>(data);
}

fn roundtrip<M: Model + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(first) = serde_json::from_slice::<M>(data) else { return };
    let text = first.to_json().unwrap_or_else(|e| panic!("{} decoded but does not encode: {e}", M::NAME));
    let second =
        M::from_json(&text).unwrap_or_else(|e| panic!("{} does not decode its own output {text}: {e}", M::NAME));
    assert_eq!(first, second, "{} changed across a round trip through {text}", M::NAME);
    let again = second.to_json().expect("encoded once already");
    assert_eq!(text, again, "{} encodes differently the second time", M::NAME);
    let _ = format!("{first:?}");
}

fn enum_roundtrip<E>(data: &[u8])
where
    E: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(first) = serde_json::from_slice::<E>(data) else { return };
    let text = serde_json::to_string(&first).expect("an enum always encodes");
    let second: E = serde_json::from_str(&text).unwrap_or_else(|e| panic!("enum does not decode {text}: {e}"));
    assert_eq!(first, second, "enum value changed across a round trip through {text}");
}

/// Treats `data` as a response: the first byte picks a status from 400 to 599, the bytes up
/// to the first newline are the `Retry-After` and correlation id value, the rest is the body.
/// Building the error, parsing the Genesys body and `Retry-After`, and printing the error must
/// not panic; the excerpt stays within its limit.
pub fn error_body(data: &[u8]) {
    let Some((&first, rest)) = data.split_first() else { return };
    let status = StatusCode::from_u16(400 + u16::from(first) % 200).expect("400..600 is a valid status");
    let (header, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (&rest[..0], rest),
    };
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(header) {
        headers.insert("retry-after", value.clone());
        headers.insert("inin-correlation-id", value);
    }
    let _ = ApiErrorBody::parse(body);
    if let Some(wait) = parse_retry_after(&headers, SystemTime::now()) {
        // Whatever the header says, the wait can be added to the clock.
        assert!(wait <= RETRY_AFTER_CLAMP, "Retry-After {header:?} gave {wait:?}");
        assert!(std::time::Instant::now().checked_add(wait).is_some());
    }
    let error = Error::from_response(status, headers.clone(), body);
    assert_eq!(error.status(), Some(status));
    if let Some(excerpt) = error.body_excerpt() {
        // At most the limit in bytes of the body, each shown as one character at most.
        assert!(excerpt.chars().count() <= BODY_EXCERPT_LIMIT + 1, "excerpt of {} chars", excerpt.chars().count());
    }
    let _ = (error.to_string(), format!("{error:?}"), error.retry_after(), error.correlation_id());
    if let Err(source) = serde_json::from_slice::<genesys_cloud_models::User>(body) {
        let decode = Error::decode(StatusCode::OK, headers, body, source);
        let _ = (decode.to_string(), format!("{decode:?}"), decode.body_excerpt());
    }
}

/// Applies `data` as a configuration file of the given format (inputs detected as the other
/// format are skipped). A rejected file is a [`genesys_cloud_config::ConfigError`] naming the
/// file and leaves the base untouched; an accepted one applies again to the same result.
pub fn config(data: &[u8], format: Format) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if detect(text) != format {
        return;
    }
    let base = Config::default();
    let file = Path::new("/etc/genesys/fuzzed.ini");
    match apply_file(&base, text, Some(file)) {
        Ok((config, _unknown)) => {
            let (again, _) = apply_file(&config, text, Some(file)).expect("a file that applied once applies again");
            assert_eq!(config, again, "applying the same file twice gave two configurations");
            let _ = format!("{config:?}");
        }
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("fuzzed.ini"), "the error does not name the file: {message}");
        }
    }
    assert_eq!(base, Config::default());
}
