//! `public-items`: how many items each hand-written library crate makes public, read from
//! rustdoc's JSON output (which needs a nightly toolchain).
//!
//! Two counts per crate:
//! - **root**: the items its root module lists (what `use crate_name::` offers at once);
//! - **reachable**: every item a user can name from the root, through public modules and
//!   re-exports (struct, enum, trait, function, type alias, constant, static, macro, module;
//!   another crate's item re-exported counts once), plus the public methods and associated
//!   items of this crate's named types and traits. Items under `#[doc(hidden)]` are left out,
//!   as rustdoc leaves them out.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// The library crates whose surface is written by hand (the generated ones are the spec's).
const CRATES: &[&str] = &[
    "genesys-cloud-core",
    "genesys-cloud-auth",
    "genesys-cloud-config",
    "genesys-cloud-transport",
    "genesys-cloud-notifications",
    "genesys-cloud-fleet",
    "genesys-cloud",
    "genesys-cloud-mock",
    "genesys-cloud-spec",
];

/// The kinds of item a user names by path.
const NAMED: &[&str] =
    &["struct", "enum", "trait", "function", "type_alias", "constant", "static", "macro", "module", "union"];

/// One crate's counts.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Counts {
    pub root: usize,
    pub reachable: usize,
}

pub(crate) fn public_items(root: &Path, args: &[String]) -> Result<bool, String> {
    let mut toolchain = "nightly".to_owned();
    let mut workspace = root.to_path_buf();
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--toolchain" => toolchain = it.next().ok_or("--toolchain needs a name")?.clone(),
            "--workspace" => workspace = it.next().ok_or("--workspace needs a folder")?.into(),
            "--crates" => {
                only = Some(it.next().ok_or("--crates needs a list")?.split(',').map(str::to_owned).collect())
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    let target = workspace.join("target/public-items");
    println!("| crate | root items | reachable items |\n|---|---:|---:|");
    for name in CRATES.iter().filter(|c| only.as_ref().is_none_or(|o| o.iter().any(|x| x == *c))) {
        let status = Command::new("cargo")
            .current_dir(&workspace)
            .args([&format!("+{toolchain}"), "rustdoc", "-q", "--lib", "-p", name, "--target-dir"])
            .arg(&target)
            .args(["--", "-Z", "unstable-options", "--output-format", "json"])
            .status()
            .map_err(|e| format!("cargo rustdoc: {e}"))?;
        if !status.success() {
            return Err(format!("cargo +{toolchain} rustdoc -p {name} failed"));
        }
        let file = target.join("doc").join(format!("{}.json", name.replace('-', "_")));
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        let counts = count(&doc).ok_or_else(|| format!("{}: not rustdoc JSON as expected", file.display()))?;
        println!("| `{name}` | {} | {} |", counts.root, counts.reachable);
    }
    Ok(true)
}

/// The kind of an item of the index (`"struct"`, `"impl"`, …): its `inner`'s one key.
fn kind(item: &Value) -> Option<&str> {
    item.get("inner")?.as_object()?.keys().next().map(String::as_str)
}

/// An id as the index keys it (ids are numbers in newer formats, strings in older ones).
fn key(id: &Value) -> String {
    id.as_str().map_or_else(|| id.to_string(), str::to_owned)
}

/// The counts of one crate's rustdoc JSON: a walk from the root through its public modules
/// and re-exports. A pub item in a private module that nothing re-exports (a layer's service,
/// named only as `<L as Layer<S>>::Service`) is not reachable, though rustdoc lists it.
pub(crate) fn count(doc: &Value) -> Option<Counts> {
    let index = doc.get("index")?.as_object()?;
    let root_id = key(doc.get("root")?);
    let root = index.get(&root_id)?.pointer("/inner/module/items")?.as_array()?.len();
    let mut named: BTreeSet<String> = BTreeSet::new();
    let mut external = 0;
    let mut modules = vec![root_id.clone()];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    while let Some(module) = modules.pop() {
        if !seen.insert(module.clone()) {
            continue;
        }
        let items = index.get(&module).and_then(|m| m.pointer("/inner/module/items")).and_then(Value::as_array);
        for id in items.into_iter().flatten().map(key) {
            let Some(item) = index.get(&id) else { continue };
            // A re-export names its target: an item of this crate (walked like one of its own)
            // or of another crate (counted once, its members the other crate's).
            let (target, glob) = match item.pointer("/inner/use") {
                Some(u) => (u.get("id").filter(|v| !v.is_null()).map(key), u["is_glob"] == true),
                None => (Some(id.clone()), false),
            };
            match target.as_ref().and_then(|t| index.get(t).map(|i| (t, i))) {
                Some((t, target)) => match kind(target) {
                    Some("module") => {
                        if !glob {
                            named.insert(t.clone());
                        }
                        modules.push(t.clone());
                    }
                    Some(k) if NAMED.contains(&k) => {
                        named.insert(t.clone());
                    }
                    _ => {}
                },
                None => external += 1,
            }
        }
    }
    // The named items' public methods and associated items: inherent impls of the named
    // types, and the named traits' own items.
    let mut members = 0;
    for item in index.values() {
        match kind(item) {
            Some("impl") => {
                let imp = item.pointer("/inner/impl")?;
                let inherent = imp.get("trait").is_none_or(Value::is_null);
                let for_id = imp.pointer("/for/resolved_path/id").map(key);
                if inherent && for_id.is_some_and(|id| named.contains(&id)) {
                    let items = imp.get("items").and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
                    members += items
                        .iter()
                        .filter(|id| index.get(&key(id)).is_some_and(|m| m["visibility"] == "public"))
                        .count();
                }
            }
            Some("trait") if item.get("id").is_some_and(|id| named.contains(&key(id))) => {
                members += item.pointer("/inner/trait/items").and_then(Value::as_array).map_or(0, Vec::len);
            }
            _ => {}
        }
    }
    Some(Counts { root, reachable: named.len() + external + members })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A root with a struct (two public methods, one private), a trait of one method, and a
    /// re-export of another crate's struct; and a pub struct of a private module that nothing
    /// re-exports. The root lists three items; six are reachable (the other crate's struct
    /// once, its methods not), the private module's struct is not.
    #[test]
    fn counts_named_items_and_their_public_members() {
        let doc = json!({
            "root": 0,
            "index": {
                "0": {"id": 0, "visibility": "public", "inner": {"module": {"items": [1, 2, 9]}}},
                "1": {"id": 1, "visibility": "public", "inner": {"struct": {}}},
                "2": {"id": 2, "visibility": "public", "inner": {"trait": {"items": [7]}}},
                "3": {"id": 3, "visibility": "default", "inner": {"impl": {"trait": null, "for": {"resolved_path": {"id": 1}}, "items": [4, 5, 6]}}},
                "4": {"id": 4, "visibility": "public", "inner": {"function": {}}},
                "5": {"id": 5, "visibility": "public", "inner": {"function": {}}},
                "6": {"id": 6, "visibility": "crate", "inner": {"function": {}}},
                "7": {"id": 7, "visibility": "default", "inner": {"function": {}}},
                "8": {"id": 8, "visibility": "default", "inner": {"impl": {"trait": {"id": 2}, "for": {"resolved_path": {"id": 1}}, "items": [4]}}},
                "9": {"id": 9, "visibility": "public", "inner": {"use": {"source": "other::Thing", "name": "Thing", "id": 10, "is_glob": false}}},
                "11": {"id": 11, "visibility": "public", "inner": {"struct": {}}},
                "12": {"id": 12, "visibility": "default", "inner": {"impl": {"trait": null, "for": {"resolved_path": {"id": 11}}, "items": [13]}}},
                "13": {"id": 13, "visibility": "public", "inner": {"function": {}}}
            },
            "paths": {
                "0": {"crate_id": 0, "kind": "module"},
                "1": {"crate_id": 0, "kind": "struct"},
                "2": {"crate_id": 0, "kind": "trait"},
                "10": {"crate_id": 1, "kind": "struct"},
                "11": {"crate_id": 0, "kind": "struct"}
            }
        });
        assert_eq!(count(&doc), Some(Counts { root: 3, reachable: 6 }));
    }
}
