//! `cargo xtask`: the code generator and maintenance commands of genesys-cloud-rs.
//!
//! Run `cargo xtask help` for the commands.

mod api;
mod cycles;
mod diff;
mod features;
mod floor;
mod fuzz;
mod ir;
mod jobs;
mod models;
mod modify;
mod names;
mod ops;
mod prose;
mod public;
mod report;
mod standalone;
mod topics;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
cargo xtask <command> [options]

Commands:
  codegen              Generate the models and api crates from a spec.
      --spec PATH        Swagger 2.0 file (default: spec/platform-api-v2.json)
      --out DIR          Directory that receives the crate folders
      --project          Regenerate this project's own crates (--out crates, --prefix genesys-cloud);
                         writing into crates/ needs it
      --prefix NAME      Package (and folder) names are NAME-models and NAME-api (default:
                         genesys-cloud with --project, else generated)
      --check            Write nothing; exit 1 and name the files that differ
                         Relative paths are taken from the current directory.
  check-features       `cargo check` a crate with no feature, each feature alone, and full.
      --package NAME     The crate (default: genesys-cloud-models)
      --only A,B         Only these features (plus none and full)
  compile-report       Clean debug builds of the models crate and the facade, with seconds.
      --sets LIST        Semicolon-separated feature lists of the models crate only
      --dependent        Instead: a crate outside the workspace that depends on the facade
                         (default features, the README's profile, notification-service), and
                         the quickstart, each from a clean target; seconds and binary size
  module-cycles        No module of a crate imports one that imports it back (read from the
                         `crate::` paths of the hand-written sources); prints any cycle.
  public-items         Each hand-written library crate's public items: those its root lists, and
                       every item a user can name, with the public methods of its types (from
                       rustdoc's JSON output, so it needs a nightly toolchain).
      --toolchain NAME   The toolchain for rustdoc (default nightly)
      --crates A,B       Only these crates
      --workspace DIR    Another checkout of this workspace (an earlier commit's worktree)
  fuzz                 Run the cargo-fuzz targets of fuzz/ (needs cargo-fuzz and nightly).
      --seconds N        Time per target (default 60)
      --target A,B       Only these targets (models, error_body, config_ini, config_json)
      --toolchain NAME   The toolchain for cargo fuzz (default nightly)
  spec-diff OLD NEW    What changed between two releases of the spec, classified by whether it
                       breaks code written against this SDK; prints the bump and a Markdown
                       changelog grouped by tag. Exits 0 whatever the bump.
      --json PATH        Also write the report as JSON (bump; operations and definitions
                         added, removed, changed) to PATH (- for stdout, instead of the
                         changelog)
  help                 This text.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("codegen") => codegen(&root, &args[1..]),
        Some("check-features") => report::check_features(&root, &args[1..]),
        Some("compile-report") => report::compile_report(&root, &args[1..]),
        Some("module-cycles") => cycles::module_cycles(&root),
        Some("public-items") => public::public_items(&root, &args[1..]),
        Some("fuzz") => fuzz::fuzz(&root, &args[1..]),
        Some("spec-diff") => spec_diff(&args[1..]),
        Some("help") | Some("--help") | Some("-h") | None => {
            print!("{USAGE}");
            Ok(true)
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `spec-diff OLD NEW [--json PATH]`: paths are taken from the current directory.
fn spec_diff(args: &[String]) -> Result<bool, String> {
    let (mut files, mut json) = (Vec::new(), None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--json" => json = Some(it.next().ok_or("--json needs a path")?.as_str()),
            flag if flag.starts_with("--") => return Err(format!("unknown option `{flag}`\n\n{USAGE}")),
            file => files.push(file),
        }
    }
    let [old_path, new_path] = files.as_slice() else {
        return Err(format!("spec-diff takes two spec files, OLD and NEW\n\n{USAGE}"));
    };
    let read = |p: &str| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{p} is not JSON: {e}"))
    };
    let d = diff::diff(&read(old_path)?, &read(new_path)?);
    let report = || serde_json::to_string_pretty(&d.json()).map_err(|e| e.to_string());
    // Every release says `"version": "v2"`: the files name the releases.
    match json {
        Some("-") => println!("{}", report()?),
        Some(path) => {
            std::fs::write(path, report()?).map_err(|e| format!("cannot write {path}: {e}"))?;
            print!("{}", d.markdown(old_path, new_path));
        }
        None => print!("{}", d.markdown(old_path, new_path)),
    }
    Ok(true)
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// Parsed options: `--name value` pairs in order, and the flags that were given.
pub type Options = (Vec<(String, String)>, BTreeSet<String>);

/// Reads `--name value` options; returns the flags (`--check`) separately.
pub fn parse_options(args: &[String], valued: &[&str], flags: &[&str]) -> Result<Options, String> {
    let mut values = Vec::new();
    let mut set = BTreeSet::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if valued.contains(&a.as_str()) {
            let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
            values.push((a.clone(), v.clone()));
        } else if flags.contains(&a.as_str()) {
            set.insert(a.clone());
        } else {
            return Err(format!("unknown option `{a}`\n\n{USAGE}"));
        }
    }
    Ok((values, set))
}

fn get<'a>(values: &'a [(String, String)], name: &str) -> Option<&'a str> {
    values.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The generated files of one run, as paths relative to the crate folder.
pub struct Generated {
    /// Crate folder.
    pub dir: PathBuf,
    /// (path relative to the crate folder, contents).
    pub files: Vec<(String, String)>,
}

/// Runs the generator in memory: the models crate, then the api crate.
pub fn generate(root: &Path, spec: &str, out: &str, prefix: &str) -> Result<Vec<Generated>, String> {
    let spec_path = root.join(spec);
    let text = std::fs::read_to_string(&spec_path).map_err(|e| format!("cannot read {}: {e}", spec_path.display()))?;
    let doc = genesys_cloud_spec::Document::parse(&text).map_err(|e| format!("{spec}: {e}"))?;
    let ir = ir::build(&doc).map_err(|e| format!("{spec}: {e}"))?;
    let operations = ops::operations(&doc, &ir).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(|e| format!("  {e}")).collect();
        format!("{spec}: {} operations cannot be generated:\n{}", errors.len(), lines.join("\n"))
    });
    let warnings = ir::take_warnings();
    for w in &warnings {
        eprintln!("warning: {spec}: {w}");
    }
    if !warnings.is_empty() {
        eprintln!("{spec}: {} deviations from Swagger 2.0 mapped (see the warnings above)", warnings.len());
    }
    let operations = operations?;
    let mut plan = features::plan(&ir);
    // This project's notification topics: one models feature per topic family.
    let topics_json = if prefix == "genesys-cloud" {
        std::fs::read_to_string(spec_path.with_file_name("notification-topics.json")).ok()
    } else {
        None
    };
    if let Some(json) = &topics_json {
        plan.add_topic_families(&ir, &topics::families(&ir, json)?);
    }
    // Output outside this workspace is a workspace of its own, with a copy of the spec.
    let out_dir = root.join(out);
    let standalone = !out_dir.starts_with(root);
    let spec_file =
        spec_path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_else(|| "spec.json".into());
    let spec_expr = |package: &str| {
        if standalone {
            standalone::spec_in_crate(&spec_file)
        } else if Path::new(out).is_absolute() || Path::new(spec).is_absolute() {
            format!("{:?}", spec_path.display().to_string())
        } else {
            let depth = Path::new(out).join(package).components().count();
            format!("concat!(env!(\"CARGO_MANIFEST_DIR\"), {:?})", format!("/{}{spec}", "../".repeat(depth)))
        }
    };
    let models_package = format!("{prefix}-models");
    let api_package = format!("{prefix}-api");
    let models_expr = spec_expr(&models_package);
    let api_expr = spec_expr(&api_package);
    // The package metadata says what the spec describes: its `info`, or this project's API.
    let api_name = if prefix == "genesys-cloud" {
        "Genesys Cloud Platform API v2".to_owned()
    } else {
        let info = &doc.root()["info"];
        let title = info["title"].as_str().filter(|t| !t.trim().is_empty()).unwrap_or("API");
        let escaped = |s: &str| s.replace('\\', "").replace('"', "'");
        match info["version"].as_str().filter(|v| !v.trim().is_empty()) {
            Some(v) => escaped(&format!("{title} {v}")),
            None => escaped(title),
        }
    };
    let models_target = models::ModelsTarget {
        package: &models_package,
        spec_display: spec,
        spec_expr: &models_expr,
        api_name: &api_name,
        all_by_default: standalone,
    };
    let api_target = api::ApiTarget {
        package: &api_package,
        models_package: &models_package,
        spec_display: spec,
        spec_expr: &api_expr,
        contract: prefix == "genesys-cloud",
        api_name: &api_name,
        all_by_default: standalone,
    };
    let mut crates = vec![
        Generated {
            dir: root.join(out).join(&models_package),
            files: models::emit(
                &ir,
                &plan,
                &models::request_types(&ir, operations.iter().filter_map(|o| o.body.as_ref().map(|b| &b.1))),
                &models_target,
            ),
        },
        Generated { dir: root.join(out).join(&api_package), files: api::emit(&ir, &plan, &operations, &api_target) },
    ];
    if standalone {
        standalone::complete(&out_dir, &spec_file, &text, &mut crates);
        return Ok(crates);
    }
    if prefix == "genesys-cloud" {
        // The facade is hand-written; only its manifest (feature forwarding) and the floor of its
        // benchmark are generated.
        crates.push(Generated {
            dir: root.join(out).join(prefix),
            files: vec![
                ("Cargo.toml".to_owned(), api::facade_cargo_toml(&plan, spec)),
                ("src/generated/tags.rs".to_owned(), api::facade_tags(&plan, &operations, spec)),
                ("src/generated/operations.md".to_owned(), api::facade_operations_md(&plan, &operations, spec)),
                ("src/generated/job_families.rs".to_owned(), jobs::emit(&doc, &plan, spec)),
                ("src/generated/modify.rs".to_owned(), modify::emit(&ir, &plan, &operations, spec)),
                ("src/generated/job_shapes.md".to_owned(), jobs::shapes_md(&doc, spec)),
                ("src/generated/polled_families.rs".to_owned(), jobs::polled_rs(&doc, spec)),
                ("benches/floor/models.rs".to_owned(), floor::emit(&ir, spec)?),
            ],
        });
        // The notification topics, from the mapping vendored next to the spec.
        if let Some(json) = &topics_json {
            let source = Path::new(spec).with_file_name("notification-topics.json").display().to_string();
            let (files, features) = topics::emit(&ir, &plan, json, &source)?;
            let manifest = root.join(out).join("genesys-cloud-notifications/Cargo.toml");
            let text = std::fs::read_to_string(&manifest).unwrap_or_default();
            let missing: Vec<&String> = features.iter().filter(|f| !text.contains(f.as_str())).collect();
            if !missing.is_empty() {
                let lines: Vec<&str> = missing.iter().map(|f| f.as_str()).collect();
                return Err(format!(
                    "{}: its [features] must forward each topic family to the models crate; add:\n{}",
                    manifest.display(),
                    lines.join("\n")
                ));
            }
            crates.push(Generated { dir: root.join(out).join("genesys-cloud-notifications"), files });
        }
    }
    Ok(crates)
}

/// Generated files on disk under `src/generated` that this run would not write.
fn stale_files(generated: &Generated) -> Vec<PathBuf> {
    let dir = generated.dir.join("src/generated");
    let wanted: BTreeSet<PathBuf> = generated.files.iter().map(|(p, _)| generated.dir.join(p)).collect();
    let mut stale: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| !wanted.contains(p)).collect())
        .unwrap_or_default();
    stale.sort();
    stale
}

/// Compares the generated files with the disk; returns the differing and stale paths.
pub fn differences(generated: &Generated) -> Vec<String> {
    let mut diffs = Vec::new();
    for (path, contents) in &generated.files {
        let full = generated.dir.join(path);
        match std::fs::read_to_string(&full) {
            Ok(on_disk) if on_disk == *contents => {}
            Ok(_) => diffs.push(format!("differs: {}", full.display())),
            Err(_) => diffs.push(format!("missing: {}", full.display())),
        }
    }
    diffs.extend(stale_files(generated).into_iter().map(|p| format!("stale:   {}", p.display())));
    diffs
}

fn codegen(root: &Path, args: &[String]) -> Result<bool, String> {
    let (values, flags) = parse_options(args, &["--spec", "--out", "--prefix"], &["--check", "--project"])?;
    let project = flags.contains("--project");
    // Paths given on the command line are taken from the current directory; inside this
    // workspace they are kept relative to its root (so generated files name them the same
    // from any clone).
    let cwd = std::env::current_dir().map_err(|e| format!("no current directory: {e}"))?;
    let locate = |p: &str| -> String {
        let full = cwd.join(p);
        match full.strip_prefix(root) {
            Ok(inside) => inside.display().to_string(),
            Err(_) => full.display().to_string(),
        }
    };
    let spec = get(&values, "--spec").map(locate).unwrap_or_else(|| "spec/platform-api-v2.json".to_owned());
    let out = match get(&values, "--out").map(locate) {
        Some(out) => out,
        None if project => "crates".to_owned(),
        None => {
            return Err(format!(
                "say where the crates go: --out DIR, or --project to regenerate this project's own crates\n\n{USAGE}"
            ))
        }
    };
    let into_project = Path::new(&out) == Path::new("crates") || root.join(&out).starts_with(root.join("crates"));
    if into_project && !project {
        return Err(format!("{out} holds this project's own crates: pass --project to overwrite them"));
    }
    let prefix = get(&values, "--prefix").unwrap_or(if project { "genesys-cloud" } else { "generated" });
    let (spec, out) = (spec.as_str(), out.as_str());
    let crates = generate(root, spec, out, prefix)?;
    if flags.contains("--check") {
        let diffs: Vec<String> = crates.iter().flat_map(differences).collect();
        if diffs.is_empty() {
            for g in &crates {
                println!("up to date: {} files in {}", g.files.len(), g.dir.display());
            }
            return Ok(true);
        }
        eprintln!(
            "the committed generated code is stale; run `cargo xtask codegen --project` ({} files):",
            diffs.len()
        );
        for d in diffs.iter().take(50) {
            eprintln!("  {d}");
        }
        if diffs.len() > 50 {
            eprintln!("  … and {} more", diffs.len() - 50);
        }
        return Ok(false);
    }
    for generated in &crates {
        let mut written = 0;
        for (path, contents) in &generated.files {
            let full = generated.dir.join(path);
            if std::fs::read_to_string(&full).ok().as_deref() == Some(contents.as_str()) {
                continue;
            }
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::write(&full, contents).map_err(|e| format!("cannot write {}: {e}", full.display()))?;
            written += 1;
        }
        let stale = stale_files(generated);
        for p in &stale {
            std::fs::remove_file(p).map_err(|e| format!("cannot remove {}: {e}", p.display()))?;
        }
        println!(
            "{}: {} files ({} written, {} stale removed)",
            generated.dir.display(),
            generated.files.len(),
            written,
            stale.len()
        );
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN: (&str, &str, &str) = ("xtask/golden/constructs.json", "xtask/golden/constructs", "golden");

    #[test]
    fn golden_output_matches_the_committed_files() {
        let (spec, out, package) = GOLDEN;
        let generated = generate(&workspace_root(), spec, out, package).unwrap();
        let diffs: Vec<String> = generated.iter().flat_map(differences).collect();
        assert!(
            diffs.is_empty(),
            "the golden files differ from the generator's output; if the change is intended run\n  cargo xtask codegen --spec {spec} --out {out} --prefix {package}\n{}",
            diffs.join("\n")
        );
    }

    #[test]
    fn the_readme_suggests_the_profile_the_dependent_report_measures() {
        let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
        assert!(readme.contains(report::RECOMMENDED_PROFILE), "README.md must show:\n{}", report::RECOMMENDED_PROFILE);
    }

    #[test]
    fn committed_code_matches_the_vendored_spec() {
        let generated = generate(&workspace_root(), "spec/platform-api-v2.json", "crates", "genesys-cloud").unwrap();
        assert_eq!(generated.len(), 4, "models, api, the facade manifest and the notification topics");
        let diffs: Vec<String> = generated.iter().flat_map(differences).collect();
        assert!(diffs.is_empty(), "run `cargo xtask codegen`:\n{}", diffs.join("\n"));
    }

    #[test]
    fn the_vendors_descriptions_come_first_in_the_docs_and_placeholders_are_left_out() {
        let generated = generate(&workspace_root(), "spec/platform-api-v2.json", "crates", "genesys-cloud").unwrap();
        let file = |crate_: usize, path: &str| {
            generated[crate_].files.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{path}")).1.clone()
        };
        let users = file(1, "src/generated/users.rs");
        // The summary, then the facts; a path parameter's description beside the method.
        let get_user = &users[..users.find("pub fn get_user(").unwrap()];
        let get_user = &get_user[get_user.rfind("}\n").unwrap()..];
        assert!(
            get_user
                .contains("#[doc = \" Get user.\"]\n    #[doc = \"\"]\n    #[doc = \" `GET /api/v2/users/{userId}`"),
            "{get_user}"
        );
        assert!(get_user.contains("`user_id`: User ID"), "{get_user}");
        // A query parameter's description above its setter's facts.
        assert!(
            users.contains("#[doc = \" Page size\"]\n    #[doc = \"\"]\n    #[doc = \" Query parameter `pageSize`"),
            "no pageSize description"
        );
        // The vendor's placeholder body descriptions ("body") are not shown.
        assert!(!users.contains("#[doc = \" body\"]") && !users.contains("`body`: body"));
        // A field's description, escaped, above its facts; `[.mmm]` is not a link.
        let query = file(0, "src/generated/conversation_aggregation_query.rs");
        assert!(query.contains("#[doc = \" Behaves like a SQL GROUPBY."), "{query}");
        assert!(
            query.contains("Its words are the 84 values of [`ConversationAggregateQueryPredicateDimension`]"),
            "{query}"
        );
        assert!(query.contains("Its words are the 82 values of [`ConversationAggregationViewTarget`]"), "{query}");
        let escaped = generated[0].files.iter().filter(|(_, text)| text.contains("\\\\[.mmm\\\\]")).count();
        let raw = generated[0].files.iter().filter(|(_, text)| text.contains("ss[.mmm]")).count();
        assert!(escaped > 100 && raw == 0, "{escaped} files with an escaped [.mmm], {raw} with a raw one");
    }

    #[test]
    fn deprecated_and_preview_operations_are_marked_and_docs_name_method_and_path() {
        let (spec, out, package) = GOLDEN;
        let generated = generate(&workspace_root(), spec, out, package).unwrap();
        let pets = &generated[1].files.iter().find(|(p, _)| p == "src/generated/pets.rs").unwrap().1;
        let at = pets.find("pub struct GetPetLegacy").unwrap();
        let before = &pets[..at];
        let docs = &before[before.rfind("static META_GET_PET_LEGACY").unwrap()..];
        assert!(docs.contains("#[deprecated"), "{docs}");
        assert!(docs.contains("**Preview:**"), "{docs}");
        assert!(docs.contains("`GET /pets/{petId}/legacy`"), "{docs}");
        assert!(
            pets.contains("#[deprecated(note = \"deprecated in the API\")]\n    #[inline]\n    pub fn get_pet_legacy(")
        );
        assert!(docs.contains("Idempotent: retried after 502"), "{docs}");
        assert!(docs.contains("**Deprecated** in the API"), "{docs}");
        // Another spec's operations have no link to the Genesys Cloud API explorer.
        assert!(!pets.contains("api-explorer"));
        let post = &pets[pets.find("static META_POST_PETS").unwrap()..pets.find("pub struct PostPets").unwrap()];
        assert!(post.contains("Not idempotent: retried only after 429"), "{post}");
    }

    #[test]
    fn docs_state_the_facts_the_spec_holds() {
        let op = |method: &str, path: &str| ops::Operation {
            id: "x".into(),
            method: method.into(),
            path: path.into(),
            tags: vec![],
            params: vec![],
            body: None,
            body_description: None,
            summary: None,
            description: None,
            output: ops::Output::None,
            paging: None,
            deprecated: false,
            preview: false,
            needs_auth: true,
            accept: None,
        };
        assert_eq!(
            api::explorer_anchor(&op("GET", "/api/v2/conversations/{conversationId}")),
            "https://developer.genesys.cloud/devapps/api-explorer#get-api-v2-conversations--conversationId-"
        );
        assert_eq!(
            api::explorer_anchor(&op("GET", "/api/v2/analytics/conversations/{conversationId}/details")),
            "https://developer.genesys.cloud/devapps/api-explorer#get-api-v2-analytics-conversations--conversationId--details"
        );
        let prop = serde_json::json!({"type": "array", "maxItems": 100, "items": {"type": "string", "minLength": 1, "maxLength": 36,
            "pattern": "[a-f0-9-]+", "enum": ["a", "b"]}});
        assert_eq!(
            ir::constraints(prop.as_object().unwrap()),
            [
                "at most 100 items",
                "each item 1 to 36 characters",
                "each item pattern `[a-f0-9-]+`",
                "each item one of `a`, `b`"
            ]
        );
        let n = serde_json::json!({"type": "integer", "minimum": 1, "maximum": 500});
        assert_eq!(ir::constraints(n.as_object().unwrap()), ["from 1 to 500"]);
        // The vendored spec's docs link each operation to its explorer page.
        let users =
            std::fs::read_to_string(workspace_root().join("crates/genesys-cloud-api/src/generated/users.rs")).unwrap();
        assert!(users.contains(
            "In the API explorer: <https://developer.genesys.cloud/devapps/api-explorer#get-api-v2-users-me>."
        ));
    }

    #[test]
    fn output_elsewhere_is_a_workspace_of_its_own() {
        let (spec, _, package) = GOLDEN;
        let out = std::env::temp_dir().join(format!("xtask-standalone-{}", std::process::id()));
        let generated = generate(&workspace_root(), spec, out.to_str().unwrap(), package).unwrap();
        let has = |dir: &str, file: &str| {
            generated.iter().any(|g| g.dir == out.join(dir) && g.files.iter().any(|(p, _)| p == file))
        };
        assert!(has("", "Cargo.toml") && has("", "spec/constructs.json"));
        assert!(has("golden-models", "src/lib.rs") && has("golden-models", "src/support.rs"));
        assert!(has("golden-api", "src/lib.rs") && has("golden-api", "tests/support/mod.rs"));
        assert!(has("genesys-cloud-core", "src/pagination.rs") && has("genesys-cloud-spec", "src/lib.rs"));
        let manifest = &generated.iter().find(|g| g.dir == out).unwrap().files[0].1;
        assert!(manifest
            .contains("members = [\"golden-models\", \"golden-api\", \"genesys-cloud-core\", \"genesys-cloud-spec\"]"));
        assert!(manifest.contains("genesys-cloud-core = { path = \"genesys-cloud-core\""));
        assert!(!manifest.contains("crates/"), "nothing points back into this repository");
        // `cargo test` alone tests every operation and model there: every feature by default.
        for crate_dir in ["golden-models", "golden-api"] {
            let g = generated.iter().find(|g| g.dir == out.join(crate_dir)).unwrap();
            let cargo = &g.files.iter().find(|(p, _)| p == "Cargo.toml").unwrap().1;
            assert!(cargo.contains("\ndefault = [\"full\"]\n"), "{crate_dir}: {cargo}");
        }
        // The generated tests read the spec's copy, not this repository's file.
        let roundtrip = generated[0].files.iter().find(|(p, _)| p == "tests/generated/roundtrip.rs").unwrap();
        assert!(roundtrip.1.contains("/../spec/constructs.json"));
    }

    #[test]
    fn output_is_deterministic() {
        let (spec, out, package) = GOLDEN;
        let a = generate(&workspace_root(), spec, out, package).unwrap();
        let b = generate(&workspace_root(), spec, out, package).unwrap();
        assert_eq!(a.len(), 2, "models and api (the golden spec has no facade)");
        for (a, b) in a.iter().zip(&b) {
            assert_eq!(a.files, b.files);
        }
    }

    #[test]
    fn check_reports_changed_missing_and_stale_files() {
        let dir = std::env::temp_dir().join(format!("xtask-check-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (spec, _, package) = GOLDEN;
        let out = dir.to_str().unwrap();
        let spec_abs = workspace_root().join(spec);
        let generated = generate(&workspace_root(), spec_abs.to_str().unwrap(), out, package).unwrap().remove(0);
        assert_eq!(differences(&generated).len(), generated.files.len(), "everything is missing at first");
        for (path, contents) in &generated.files {
            let full = generated.dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        assert!(differences(&generated).is_empty());
        std::fs::write(generated.dir.join("src/generated/pet.rs"), "// edited by hand\n").unwrap();
        std::fs::write(generated.dir.join("src/generated/old_model.rs"), "// left over\n").unwrap();
        let diffs = differences(&generated);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(diffs[0].starts_with("differs:") && diffs[0].ends_with("pet.rs"));
        assert!(diffs[1].starts_with("stale:") && diffs[1].ends_with("old_model.rs"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn every_deviation_of_the_golden_spec_is_mapped_with_a_warning() {
        let (spec, _, _) = GOLDEN;
        let text = std::fs::read_to_string(workspace_root().join(spec)).unwrap();
        let doc = genesys_cloud_spec::Document::parse(&text).unwrap();
        let _ = ir::take_warnings();
        let ir = ir::build(&doc).unwrap();
        ops::operations(&doc, &ir).unwrap();
        let warnings: Vec<String> = ir::take_warnings().iter().map(|w| w.to_string()).collect();
        let has = |needle: &str| warnings.iter().any(|w| w.contains(needle));
        for class in [
            "items in a non-body parameter: generated as one string parameter",
            "unknown collectionFormat",
            "a non-body parameter of",
            "a parameter in `cookie`",
            "a formData parameter",
            "1 declared tags have no operation (`Unused Things`)",
        ] {
            assert!(has(class), "no warning says {class:?}: {warnings:#?}");
        }
        // Each names where it is.
        assert!(warnings.iter().all(|w| w.starts_with("#/")), "{warnings:#?}");
        // The unused tag gets neither a module nor a feature.
        let plan = features::plan(&ir);
        assert!(!plan.tag_features.contains_key("Unused Things"));
        assert!(plan.tag_features.contains_key("Pets"));
    }

    #[test]
    fn a_spec_the_generator_cannot_handle_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("xtask-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = dir.join("bad.json");
        std::fs::write(
            &spec,
            r#"{"swagger":"2.0","definitions":{"A":{"type":"object","properties":{"f":{"type":"file"}}}}}"#,
        )
        .unwrap();
        let e = generate(&workspace_root(), spec.to_str().unwrap(), dir.to_str().unwrap(), "x").err().unwrap();
        assert!(e.contains("#/definitions/A/properties/f"), "{e}");
        std::fs::write(&spec, r#"{"openapi":"3.0.0"}"#).unwrap();
        let e = generate(&workspace_root(), spec.to_str().unwrap(), dir.to_str().unwrap(), "x").err().unwrap();
        assert!(e.contains("not a Swagger 2.0 document"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
