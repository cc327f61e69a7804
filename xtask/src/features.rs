//! Which Cargo feature turns on which definition: the definitions each tag's operations
//! reach, transitively; `unreferenced` for those no operation reaches.

use crate::ir::{Ir, Kind, Ty};
use crate::names;
use std::collections::{BTreeMap, BTreeSet};

/// The feature for definitions that no operation reaches.
pub const UNREFERENCED: &str = "unreferenced";

/// Feature names that tags may not take.
const RESERVED: &[&str] = &["default", "full", UNREFERENCED];

/// The feature plan of a models crate.
#[derive(Debug, Clone)]
pub struct Features {
    /// Tag name → feature name, sorted by tag name.
    pub tag_features: BTreeMap<String, String>,
    /// Definition (type index) → the sorted features that enable it.
    pub by_definition: BTreeMap<usize, BTreeSet<String>>,
    /// Notification topic family (`users`, the second segment of `v2.users.{id}.presence`) →
    /// the feature that turns on its payloads (`topics-users`); see [`Features::add_topic_families`].
    pub topic_features: BTreeMap<String, String>,
}

impl Features {
    /// All feature names (tags plus `unreferenced`), sorted.
    pub fn all(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.tag_features.values().cloned().collect();
        all.extend(self.topic_features.values().cloned());
        if self.by_definition.values().any(|f| f.contains(UNREFERENCED)) {
            all.insert(UNREFERENCED.to_owned());
        }
        all
    }

    /// One feature per notification topic family, turning on the definitions its payloads
    /// reach (`families`: family → payload definitions), so a program takes the payloads of
    /// the topics it listens to, not all of them.
    pub fn add_topic_families(&mut self, ir: &Ir, families: &BTreeMap<String, BTreeSet<usize>>) {
        let edges = definition_edges(ir);
        for (family, payloads) in families {
            let feature = format!("topics-{}", names::feature(family));
            for d in reach(&edges, payloads) {
                self.by_definition.entry(d).or_default().insert(feature.clone());
            }
            self.topic_features.insert(family.clone(), feature);
        }
    }

    /// How many definitions a feature turns on.
    pub fn count(&self, feature: &str) -> usize {
        self.by_definition.values().filter(|f| f.contains(feature)).count()
    }
}

/// Computes the plan.
pub fn plan(ir: &Ir) -> Features {
    let edges = definition_edges(ir);
    let mut feature_names = names::Namer::with_reserved(RESERVED);
    let mut tag_features = BTreeMap::new();
    let mut by_definition: BTreeMap<usize, BTreeSet<String>> =
        ir.definitions.iter().map(|&d| (d, BTreeSet::new())).collect();
    for (tag, roots) in &ir.tag_roots {
        let feature = feature_names.take(&names::feature(tag), "-");
        for d in reach(&edges, roots) {
            by_definition.entry(d).or_default().insert(feature.clone());
        }
        tag_features.insert(tag.clone(), feature);
    }
    let orphans: BTreeSet<usize> = by_definition.iter().filter(|(_, f)| f.is_empty()).map(|(d, _)| *d).collect();
    for d in reach(&edges, &orphans) {
        by_definition.entry(d).or_default().insert(UNREFERENCED.to_owned());
    }
    Features { tag_features, by_definition, topic_features: BTreeMap::new() }
}

/// The definition-level graph: a type's references count for the definition that owns it.
fn definition_edges(ir: &Ir) -> BTreeMap<usize, BTreeSet<usize>> {
    let mut edges: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for t in &ir.types {
        let mut out = Vec::new();
        t.kind.all_named(&mut out);
        let from = t.owner;
        edges.entry(from).or_default().extend(out.into_iter().map(|i| ir.types[i].owner).filter(|&o| o != from));
    }
    edges
}

/// The definitions reachable from `roots` (themselves included).
fn reach(edges: &BTreeMap<usize, BTreeSet<usize>>, roots: &BTreeSet<usize>) -> BTreeSet<usize> {
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut todo: Vec<usize> = roots.iter().copied().collect();
    while let Some(d) = todo.pop() {
        if seen.insert(d) {
            if let Some(next) = edges.get(&d) {
                todo.extend(next.iter().copied().filter(|n| !seen.contains(n)));
            }
        }
    }
    seen
}

/// `cfg(any(feature = "a", feature = "b"))` contents for a feature set.
pub fn cfg_any(features: &BTreeSet<String>) -> String {
    let list: Vec<String> = features.iter().map(|f| format!("feature = \"{f}\"")).collect();
    match list.as_slice() {
        [one] => one.clone(),
        _ => format!("any({})", list.join(", ")),
    }
}

/// Whether a type is plain data whose `Default` exists (for newtype derives). A chain of
/// newtypes that loops back on itself has none (and could not be built anyway).
pub fn has_default(ir: &Ir, ty: &Ty) -> bool {
    let mut ty = ty;
    for _ in 0..=ir.types.len() {
        match ty {
            Ty::YearMonth => return false,
            Ty::Named(i) => match &ir.types[*i].kind {
                Kind::StringEnum(_) | Kind::IntEnum(_) => return false,
                Kind::Newtype(inner) => ty = inner,
                Kind::Struct { .. } => return true,
            },
            _ => return true,
        }
    }
    false
}
