//! `module-cycles`: no module of a crate imports another that imports it back, directly or
//! through others. Reads the hand-written sources as text: an edge `a → b` is a path to `b`
//! (or to an item of `b`) in module `a`'s file, through `crate::`, `super::` or a submodule's
//! name (its unit tests aside). Nested modules count on their own. Generated files are left
//! out.

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

/// The module a file is (`listener` for `src/listener.rs`, `layers::retry` for
/// `src/layers/retry.rs`, `layers` for `src/layers/mod.rs`; `crate` for `lib.rs` and `main.rs`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> =
        rel.components().map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    match parts.as_slice() {
        [only] if only == "lib" || only == "main" => "crate".to_owned(),
        _ => parts.join("::"),
    }
}

/// The module that `module` is declared in (`crate` for a top-level one).
fn parent_of(module: &str) -> &str {
    module.rsplit_once("::").map_or("crate", |(parent, _)| parent)
}

/// The path of identifiers that starts at `text` (`a::b::C` of `a::b::C::new(…)`).
fn path_at(text: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let len = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(&rest[..len]);
        match rest[len..].strip_prefix("::") {
            Some(more) => rest = more,
            None => break,
        }
    }
    segments
}

/// The deepest module of `modules` that `segments`, read from `base`, names.
fn module_named(modules: &BTreeSet<String>, base: &str, segments: &[&str]) -> Option<String> {
    let mut found = None;
    let mut path = base.to_owned();
    for segment in segments {
        path = if path == "crate" { (*segment).to_owned() } else { format!("{path}::{segment}") };
        if !modules.contains(&path) {
            break;
        }
        found = Some(path.clone());
    }
    found
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

/// The module graph of one source folder: module → the modules it names, through `crate::`
/// paths, `super::` paths, and paths that start with one of its own submodules. A path to an
/// item of a module that is not a module itself is an edge to that module; one to an item of
/// the crate's root (`lib.rs`, the crate's index of re-exports) is none.
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
        let mut add = |to: Option<String>| {
            if let Some(to) = to.filter(|t| *t != from && t != "crate") {
                edges.entry(from.clone()).or_default().insert(to);
            }
        };
        for (at, _) in text.match_indices("crate::") {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '$') {
                continue;
            }
            add(module_named(&modules, "crate", &path_at(&text[at + "crate::".len()..])));
        }
        for (at, _) in text.match_indices("super::") {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let parent = parent_of(&from);
            let named = module_named(&modules, parent, &path_at(&text[at + "super::".len()..]));
            add(named.or_else(|| Some(parent.to_owned())));
        }
        // Paths that start with a submodule of this one (`retry::RetryLayer` in `layers`).
        let children: Vec<&String> = modules.iter().filter(|m| parent_of(m) == from && *m != &from).collect();
        for child in children {
            let name = child.rsplit("::").next().unwrap_or(child);
            for (at, _) in text.match_indices(&format!("{name}::")) {
                let before = text[..at].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                add(Some(child.clone()));
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

    /// Submodules are modules of their own: a child that takes an item of its parent (whose
    /// `mod.rs` re-exports the child) is a cycle; one that takes it from a sibling is not.
    #[test]
    fn nested_modules_and_super_paths_are_read() {
        let dir = std::env::temp_dir().join(format!("module-cycles-{}", std::process::id()));
        let write = |file: &str, text: &str| {
            let path = dir.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("lib.rs", "mod layers;\npub use layers::Thing;\n");
        write("layers/mod.rs", "mod retry;\nmod context;\npub use retry::Thing;\npub struct Shared;\n");
        write("layers/retry.rs", "use super::Shared;\npub struct Thing;\n");
        write("layers/context.rs", "pub struct Other;\n");
        let g = graph(&dir);
        assert_eq!(g["layers::retry"], BTreeSet::from(["layers".to_owned()]));
        assert_eq!(cycles(&g), vec![vec!["layers".to_owned(), "layers::retry".to_owned()]]);
        write("layers/mod.rs", "mod retry;\nmod context;\npub use retry::Thing;\n");
        write("layers/retry.rs", "use super::context::Other;\nuse crate::layers::context::Other as _;\n");
        let g = graph(&dir);
        assert_eq!(g["layers::retry"], BTreeSet::from(["layers::context".to_owned()]));
        assert!(cycles(&g).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn this_workspace_has_no_module_cycle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        assert!(module_cycles(root).unwrap());
    }
}
