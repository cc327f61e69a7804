//! `module-cycles`: no module of a crate imports another that imports it back, directly or
//! through others. Reads the hand-written sources as text: an edge `a → b` is a `crate::b`
//! path in module `a`'s file (its unit tests aside); generated files are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The source folders checked: every crate's `src`, the examples' and xtask's.
fn source_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path().join("src")).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.push(root.join("examples/src"));
    dirs.push(root.join("xtask/src"));
    dirs
}

/// The top-level module a file belongs to (`listener` for `src/listener.rs` or
/// `src/listener/mod.rs`; `crate` for `lib.rs` and `main.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    let name = first.trim_end_matches(".rs");
    match name {
        "lib" | "main" => "crate".to_owned(),
        other => other.to_owned(),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "generated") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module graph of one source folder: module → the modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = modules.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for file in &files {
        let from = module_of(src, file);
        let text = std::fs::read_to_string(file).unwrap_or_default();
        // Unit tests may use anything of the crate.
        let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name != from && modules.contains(&name) {
                edges.entry(from.clone()).or_default().insert(name);
            }
        }
    }
    edges
}

/// The cycles of a graph: its strongly connected components of more than one module.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> = vec![from];
        while let Some(m) = todo.pop() {
            for next in edges.get(m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next);
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&str, BTreeSet<String>> = edges.keys().map(|m| (m.as_str(), reaches(m))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for (m, r) in &reach {
        let component: Vec<String> = r.iter().filter(|o| reach[o.as_str()].contains(*m)).cloned().collect();
        if component.len() > 1 {
            found.insert(component);
        }
    }
    found.into_iter().collect()
}

/// Prints every cycle; `Ok(true)` when there is none.
pub fn module_cycles(root: &Path) -> Result<bool, String> {
    let mut count = 0;
    let mut modules = 0;
    for src in source_dirs(root) {
        let edges = graph(&src);
        modules += edges.len();
        for cycle in cycles(&edges) {
            count += 1;
            println!("{}: {}", src.strip_prefix(root).unwrap_or(&src).display(), cycle.join(" ↔ "));
        }
    }
    println!("{count} module cycles in {modules} modules");
    Ok(count == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cycle_through_three_modules_is_found_and_a_chain_is_not() {
        let edges = |pairs: &[(&str, &str)]| {
            let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for (a, b) in pairs {
                g.entry((*a).into()).or_default().insert((*b).into());
                g.entry((*b).into()).or_default();
            }
            g
        };
        assert!(cycles(&edges(&[("a", "b"), ("b", "c")])).is_empty());
        assert_eq!(cycles(&edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])), vec![vec!["a", "b", "c"]]);
    }

    #[test]
    fn this_workspace_has_no_module_cycle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(module_cycles(root).unwrap());
    }
}
