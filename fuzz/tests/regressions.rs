//! Replays the seed inputs and every input a fuzzer crashed on (`fuzz/regressions/<target>/`)
//! through the same checks the fuzz targets run, in the ordinary `cargo test`.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn every_target_has_seeds_and_they_pass() {
    for target in genesys_cloud_fuzz::TARGETS {
        let seeds = inputs("seeds", target);
        assert!(seeds.len() >= 3, "{target} has {} seeds", seeds.len());
        for path in seeds {
            let data = std::fs::read(&path).unwrap();
            genesys_cloud_fuzz::run(target, &data);
        }
    }
}

#[test]
fn inputs_that_once_crashed_pass_now() {
    let mut replayed = 0;
    for target in genesys_cloud_fuzz::TARGETS {
        for path in inputs("regressions", target) {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| genesys_cloud_fuzz::run(target, &data));
            assert!(outcome.is_ok(), "{target}: {} crashes again", path.display());
            replayed += 1;
        }
    }
    println!("{replayed} regression inputs replayed");
}

/// The checks are not vacuous: a model that decodes is round-tripped, a bad config names
/// the file, and a valid config applies.
#[test]
fn the_checks_see_real_inputs() {
    let user =
        br#"{"id":"u1","name":"Ada","state":"somethingNew","addresses":[{"address":"+1555","mediaType":"PHONE"}]}"#;
    let decoded = genesys_cloud_models::User::from_json(std::str::from_utf8(user).unwrap()).unwrap();
    assert_eq!(decoded.name.as_deref(), Some("Ada"));
    genesys_cloud_fuzz::models(user);

    let bad = genesys_cloud_config::apply_file(
        &Default::default(),
        "[retry]\nretry_max = lots\n",
        Some(Path::new("/x/fuzzed.ini")),
    );
    assert!(bad.unwrap_err().to_string().contains("fuzzed.ini"));
    genesys_cloud_fuzz::config(b"[retry]\nretry_max = lots\n", genesys_cloud_config::Format::Ini);
    genesys_cloud_fuzz::config(br#"{"logging": {"log_level": "debug"}}"#, genesys_cloud_config::Format::Json);
}
