//! `cargo xtask fuzz`: runs every cargo-fuzz target of `fuzz/` for a fixed time, keeps the
//! corpus it grows, and turns each crash into a regression input that `cargo test` replays.

use std::path::Path;
use std::process::Command;
use std::time::{Instant, SystemTime};

/// The targets, in the order they run (mirrors `genesys_cloud_fuzz::TARGETS`).
const TARGETS: &[&str] = &["models", "error_body", "config_ini", "config_json"];

struct Outcome {
    target: String,
    seconds: f64,
    runs: Option<u64>,
    corpus: usize,
    crashes: Vec<String>,
    ok: bool,
}

pub fn fuzz(root: &Path, args: &[String]) -> Result<bool, String> {
    let mut seconds: u64 = 60;
    let mut targets: Vec<String> = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    let mut toolchain = String::from("+nightly");
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = it.next().and_then(|v| v.parse().ok()).ok_or("--seconds needs a whole number of seconds")?;
            }
            "--target" => {
                let list = it.next().ok_or("--target needs a name (or a comma-separated list)")?;
                targets = list.split(',').map(str::to_owned).collect();
                if let Some(bad) = targets.iter().find(|t| !TARGETS.contains(&t.as_str())) {
                    return Err(format!("no fuzz target `{bad}`; the targets are {}", TARGETS.join(", ")));
                }
            }
            "--toolchain" => toolchain = format!("+{}", it.next().ok_or("--toolchain needs a name")?),
            other => return Err(format!("unknown option `{other}` for fuzz")),
        }
    }
    let probe = Command::new("cargo").arg(&toolchain).args(["fuzz", "--version"]).output();
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        return Err(format!(
            "`cargo {toolchain} fuzz` is not available: install it with `cargo install cargo-fuzz` and a nightly \
             toolchain with `rustup toolchain install nightly`"
        ));
    }
    let fuzz_dir = root.join("fuzz");
    let mut outcomes = Vec::new();
    for target in &targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        let seeds = fuzz_dir.join("seeds").join(target);
        let artifacts = fuzz_dir.join("artifacts").join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        std::fs::create_dir_all(&artifacts).map_err(|e| format!("{}: {e}", artifacts.display()))?;
        let before = SystemTime::now();
        eprintln!("fuzzing `{target}` for {seconds} s");
        let started = Instant::now();
        let output = Command::new("cargo")
            .current_dir(root)
            .arg(&toolchain)
            .args(["fuzz", "run", "--fuzz-dir"])
            .arg(&fuzz_dir)
            .arg(target)
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .args(["-timeout=10", "-rss_limit_mb=4096", "-print_final_stats=1"])
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .output()
            .map_err(|e| format!("could not run cargo fuzz: {e}"))?;
        let log = String::from_utf8_lossy(&output.stderr);
        let runs = log
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("Done ").and_then(|r| r.split_whitespace().next()?.parse().ok()))
            .or_else(|| {
                log.lines().rev().find_map(|l| l.strip_prefix("stat::number_of_executed_units:")?.trim().parse().ok())
            });
        let crashes = new_files(&artifacts, before);
        for name in &crashes {
            let to = fuzz_dir.join("regressions").join(target);
            std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
            std::fs::copy(artifacts.join(name), to.join(name)).map_err(|e| format!("copying {name}: {e}"))?;
        }
        let ok = output.status.success() && crashes.is_empty();
        if !ok {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            eprintln!("--- last lines of `{target}` ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
        outcomes.push(Outcome {
            target: target.clone(),
            seconds: started.elapsed().as_secs_f64(),
            runs,
            corpus: std::fs::read_dir(&corpus).map(|d| d.count()).unwrap_or(0),
            crashes,
            ok,
        });
    }
    println!("| target | wall seconds (with build) | inputs run | corpus | crashes | result |");
    println!("|---|---:|---:|---:|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {:.0} | {} | {} | {} | {} |",
            o.target,
            o.seconds,
            o.runs.map_or("?".to_owned(), |r| r.to_string()),
            o.corpus,
            if o.crashes.is_empty() { "none".to_owned() } else { o.crashes.join(", ") },
            if o.ok { "ok" } else { "FAILED" }
        );
    }
    if outcomes.iter().any(|o| !o.crashes.is_empty()) {
        println!("\nCrashing inputs were copied to fuzz/regressions/<target>/; `cargo test -p genesys-cloud-fuzz` replays them.");
    }
    Ok(outcomes.iter().all(|o| o.ok))
}

fn new_files(dir: &Path, since: SystemTime) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|m| m >= since))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
