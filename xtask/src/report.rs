//! `check-features` and `compile-report`: build the models crate under feature sets.

use crate::{get, parse_options};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

const MODELS: &str = "genesys-cloud-models";
const FACADE: &str = "genesys-cloud";

/// The features declared in a generated `Cargo.toml` (tags, and `unreferenced` for models).
fn declared_features(root: &Path, package: &str) -> Result<Vec<String>, String> {
    let path = root.join("crates").join(package).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut in_features = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_features = line == "[features]";
            continue;
        }
        if let Some((name, _)) = line.split_once(" = [").filter(|_| in_features) {
            if name != "default" && name != "full" {
                out.push(name.trim().to_owned());
            }
        }
    }
    Ok(out)
}

/// The ten tags with the most operations, as feature names.
pub fn top_tags(root: &Path, n: usize) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(root.join("spec/platform-api-v2.json")).map_err(|e| e.to_string())?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for item in doc["paths"].as_object().into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            for tag in op["tags"].as_array().into_iter().flatten().filter_map(|t| t.as_str()) {
                *counts.entry(crate::names::feature(tag)).or_default() += 1;
            }
        }
    }
    let mut sorted: Vec<(String, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(sorted.into_iter().take(n).map(|(t, _)| t).collect())
}

fn cargo(root: &Path, args: &[&str], target_dir: &Path) -> Result<bool, String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .env("CARGO_TARGET_DIR", target_dir)
        // A dependency is built without incremental state; measure what users get.
        .env("CARGO_INCREMENTAL", "0")
        .current_dir(root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    Ok(status.success())
}

/// `cargo` as [`cargo`] does, and the seconds it took.
fn timed_cargo(dir: &Path, args: &[&str], target_dir: &Path) -> Result<(bool, f64), String> {
    let start = Instant::now();
    let ok = cargo(dir, args, target_dir)?;
    Ok((ok, start.elapsed().as_secs_f64()))
}

fn feature_args(package: &str, features: &str) -> Vec<String> {
    let mut v = vec!["-p".to_owned(), package.to_owned(), "--no-default-features".to_owned()];
    if !features.is_empty() {
        v.push("--features".into());
        v.push(features.to_owned());
    }
    v
}

/// `cargo check` with no feature, each feature alone, and `full`.
pub fn check_features(root: &Path, args: &[String]) -> Result<bool, String> {
    let (values, _) = parse_options(args, &["--only", "--package"], &[])?;
    let package = get(&values, "--package").unwrap_or(MODELS);
    let mut sets: Vec<String> = vec![String::new()];
    match get(&values, "--only") {
        Some(only) => sets.extend(only.split(',').map(str::to_owned)),
        None => sets.extend(declared_features(root, package)?),
    }
    sets.push("full".into());
    let target = root.join("target/check-features");
    let mut failed = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let label = if set.is_empty() { "(none)" } else { set };
        eprintln!("[{}/{}] cargo check -p {package} --features {label}", i + 1, sets.len());
        let mut a = vec!["check".to_owned(), "--quiet".to_owned()];
        a.extend(feature_args(package, set));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        if !cargo(root, &a, &target)? {
            failed.push(label.to_owned());
        }
    }
    println!("{} passed, {} failed", sets.len() - failed.len(), failed.len());
    if !failed.is_empty() {
        println!("failed: {}", failed.join(", "));
    }
    Ok(failed.is_empty())
}

/// Clean debug builds of the main feature sets, timed.
pub fn compile_report(root: &Path, args: &[String]) -> Result<bool, String> {
    let (values, flags) = parse_options(args, &["--sets"], &["--dependent"])?;
    if flags.contains("--dependent") {
        return dependent_report(root);
    }
    let top10 = top_tags(root, 10)?.join(",");
    // (label, package, features; None = the package's default features)
    let sets: Vec<(String, &str, Option<String>)> = match get(&values, "--sets") {
        Some(list) => list.split(';').map(|s| (format!("{MODELS} {s}"), MODELS, Some(s.to_owned()))).collect(),
        None => vec![
            ("models, no feature".into(), MODELS, Some(String::new())),
            ("models, `users`".into(), MODELS, Some("users".into())),
            (format!("models, top 10 tags ({top10})"), MODELS, Some(top10.clone())),
            ("models, `full`".into(), MODELS, Some("full".into())),
            ("facade `genesys-cloud`, default features".into(), FACADE, None),
            ("facade `genesys-cloud`, `full`".into(), FACADE, Some("full".into())),
        ],
    };
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("Clean debug builds ({jobs} cores, incremental off as for a dependency). `total` includes every dependency; `crate` rebuilds the package alone with its dependencies built.\n");
    println!("| build | total s | crate s |");
    println!("|---|---:|---:|");
    let mut ok = true;
    for (label, package, features) in sets {
        let target = root.join("target/compile-report");
        let _ = std::fs::remove_dir_all(&target);
        let mut a = vec!["build".to_owned(), "--quiet".to_owned(), "-p".to_owned(), package.to_owned()];
        if let Some(f) = &features {
            a.push("--no-default-features".into());
            if !f.is_empty() {
                a.push("--features".into());
                a.push(f.clone());
            }
        }
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let (built, total) = timed_cargo(root, &a, &target)?;
        let _ = cargo(root, &["clean", "--quiet", "-p", package], &target)?;
        let (rebuilt, alone) = timed_cargo(root, &a, &target)?;
        ok &= built && rebuilt;
        println!("| {label} | {total:.1} | {alone:.1} |");
    }
    let _ = std::fs::remove_dir_all(root.join("target/compile-report"));
    Ok(ok)
}

/// The profile the README recommends to a user's crate: no debug info for dependencies (the
/// generated crates are most of the build and of the binary), line tables for the crate.
pub const RECOMMENDED_PROFILE: &str =
    "[profile.dev]\ndebug = \"line-tables-only\"\n\n[profile.dev.package.\"*\"]\ndebug = false\n";

/// Clean debug builds as a user gets them: a crate outside this workspace (no lock file, no
/// profile of ours) that depends on `genesys-cloud` by path, with its default features, with
/// the profile the README recommends, and with `notification-service`; and the README's first
/// command, `cargo run --example quickstart`, in a clean target of this workspace. Registry
/// downloads are not timed (they are fetched first). Prints seconds and the binary's size.
fn dependent_report(root: &Path) -> Result<bool, String> {
    let dir = std::env::temp_dir().join(format!("genesys-cloud-dependent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let facade = root.join("crates/genesys-cloud");
    let manifest = |features: &str, profile: &str| {
        format!(
            "[package]\nname = \"dependent\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ngenesys-cloud = {{ path = {:?}, features = [{features}] }}\ntokio = {{ version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }}\n\n{profile}",
            facade.display().to_string()
        )
    };
    let main = "use genesys_cloud::Client;\n\n#[tokio::main]\nasync fn main() {\n    let client = Client::builder().client_credentials(\"id\", \"secret\").build().expect(\"a client\");\n    if let Err(e) = client.users().get_users_me().send().await {\n        println!(\"{e} (conflict: {})\", e.is_conflict());\n    }\n}\n";
    std::fs::write(dir.join("src/main.rs"), main).map_err(|e| e.to_string())?;
    let variants = [
        ("a dependent, default features", "", ""),
        ("a dependent, default features, the README's profile", "", RECOMMENDED_PROFILE),
        ("a dependent, default features and `notification-service`", "\"notification-service\"", ""),
    ];
    let jobs = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("Clean debug builds as a user's crate gets them ({jobs} cores, registry already downloaded).\n");
    println!("| build | seconds | debug binary MB |");
    println!("|---|---:|---:|");
    let mut ok = true;
    for (label, features, profile) in variants {
        std::fs::write(dir.join("Cargo.toml"), manifest(features, profile)).map_err(|e| e.to_string())?;
        let target = dir.join("target");
        let _ = std::fs::remove_dir_all(&target);
        // Resolve and download first: only the build is timed.
        ok &= cargo(&dir, &["fetch", "--quiet"], &target)?;
        let (built, seconds) = timed_cargo(&dir, &["build", "--quiet"], &target)?;
        let size = std::fs::metadata(target.join("debug/dependent")).map(|m| m.len()).unwrap_or(0);
        ok &= built;
        println!("| {label} | {seconds:.1} | {:.1} |", size as f64 / 1e6);
    }
    let _ = std::fs::remove_dir_all(&dir);
    // The README's first command, in a clean target of this workspace.
    let target = root.join("target/compile-report-quickstart");
    let _ = std::fs::remove_dir_all(&target);
    let (built, seconds) = timed_cargo(root, &["build", "--quiet", "--example", "quickstart"], &target)?;
    let size = std::fs::metadata(target.join("debug/examples/quickstart")).map(|m| m.len()).unwrap_or(0);
    ok &= built;
    println!(
        "| `cargo run --example quickstart`, a clean target of this workspace | {seconds:.1} | {:.1} |",
        size as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&target);
    Ok(ok)
}
