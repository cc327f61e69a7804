//! `cargo xtask spec-diff OLD NEW`: what changed between two releases of the spec, classified by
//! whether it breaks code written against this SDK as the generator makes it, and the version
//! bump that follows.
//!
//! What the generator makes decides what breaks:
//! - operations are methods of a tag's accessor, named after the operation id, with required
//!   path parameters and a required body as arguments and every other parameter a setter; so a
//!   removed or renamed operation, a changed tag, method or path, a path parameter added or
//!   removed, a removed parameter, a parameter that became required, a changed parameter or
//!   body type and a changed response type break; an added optional parameter does not;
//! - models are `#[non_exhaustive]` structs whose fields are all `Option`s, with open enums
//!   (unknown values kept); so an added field, an added enum value, or a field that became
//!   required do not break; a removed field, a changed field type, a removed enum value, and a
//!   removed definition do.

use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The operation id or definition name.
    pub name: String,
    /// What changed, in words.
    pub what: String,
    /// Whether it breaks code written against the SDK.
    pub breaking: bool,
}

/// Every change between two specs.
#[derive(Debug, Default)]
pub struct Diff {
    /// Operation ids added, with their tags.
    pub ops_added: Vec<(String, String)>,
    /// Operation ids removed (renames included, which are also listed as changes).
    pub ops_removed: Vec<(String, String)>,
    /// Changes to operations, with their tags.
    pub ops_changed: Vec<(String, Change)>,
    /// Definitions added.
    pub defs_added: Vec<String>,
    /// Definitions removed.
    pub defs_removed: Vec<String>,
    /// Changes to definitions.
    pub defs_changed: Vec<Change>,
}

/// The version bump a diff calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Bump {
    /// Nothing a user can see beyond fixes and deprecations.
    Patch,
    /// Additions only.
    Minor,
    /// Something breaks.
    Major,
}

impl Bump {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Bump::Patch => "patch",
            Bump::Minor => "minor",
            Bump::Major => "major",
        }
    }
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// An operation as the diff sees it.
struct Op<'a> {
    method: &'a str,
    path: &'a str,
    tag: String,
    op: &'a Value,
    shared: Vec<Value>,
}

fn operations(spec: &Value) -> BTreeMap<String, Op<'_>> {
    let mut out = BTreeMap::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let Some(id) = op["operationId"].as_str() else { continue };
            let tag = op["tags"][0].as_str().unwrap_or("(untagged)").to_owned();
            out.insert(id.to_owned(), Op { method, path, tag, op, shared: shared.clone() });
        }
    }
    out
}

/// A parameter's reference resolved.
fn resolve<'a>(spec: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/")) {
        Some(pointer) => spec.pointer(&format!("/{pointer}")).unwrap_or(v),
        None => v,
    }
}

/// A schema's shape in one line: what a field or parameter type is generated from.
fn shape(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("any");
    match ty {
        "array" => format!("array<{}>", shape(v.get("items").unwrap_or(&Value::Null))),
        "object" => match v.get("additionalProperties") {
            Some(ap) if ap.is_object() => format!("map<{}>", shape(ap)),
            _ => "object".into(),
        },
        _ => match v.get("format").and_then(Value::as_str) {
            Some(f) => format!("{ty}({f})"),
            None => ty.to_owned(),
        },
    }
}

/// An operation's parameters by (in, name): (required, shape).
fn params(spec: &Value, op: &Op<'_>) -> BTreeMap<(String, String), (bool, String)> {
    let mut out = BTreeMap::new();
    for p in op.op.get("parameters").and_then(Value::as_array).into_iter().flatten().chain(op.shared.iter()) {
        let p = resolve(spec, p);
        let (Some(place), Some(name)) = (p["in"].as_str(), p["name"].as_str()) else { continue };
        let ty = if place == "body" { shape(&p["schema"]) } else { shape(p) };
        let required = p["required"].as_bool().unwrap_or(false) || place == "path";
        out.entry((place.to_owned(), name.to_owned())).or_insert((required, ty));
    }
    out
}

/// The shape of an operation's first 2xx response with a body.
fn response(op: &Op<'_>) -> String {
    let responses = op.op["responses"].as_object();
    let mut codes: Vec<&String> =
        responses.map(|r| r.keys().filter(|k| k.starts_with('2')).collect()).unwrap_or_default();
    codes.sort();
    codes
        .into_iter()
        .find_map(|c| op.op["responses"][c.as_str()].get("schema").map(shape))
        .unwrap_or_else(|| "(none)".into())
}

fn op_changes(old_spec: &Value, new_spec: &Value, old: &Op<'_>, new: &Op<'_>) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if old.tag != new.tag {
        out.push((format!("tag `{}` → `{}` (the method moves to another accessor)", old.tag, new.tag), true));
    }
    if old.method != new.method || old.path != new.path {
        out.push((
            format!("`{} {}` → `{} {}`", old.method.to_uppercase(), old.path, new.method.to_uppercase(), new.path),
            true,
        ));
    }
    let (before, after) = (params(old_spec, old), params(new_spec, new));
    for ((place, name), (required, ty)) in &before {
        match after.get(&(place.clone(), name.clone())) {
            None => out.push((format!("{place} parameter `{name}` removed"), true)),
            Some((now_required, now_ty)) => {
                if now_ty != ty {
                    out.push((format!("{place} parameter `{name}`: `{ty}` → `{now_ty}`"), true));
                }
                if *now_required && !required {
                    out.push((format!("{place} parameter `{name}` became required"), true));
                }
                if !now_required && *required {
                    // A required body or path parameter is an argument of the method.
                    let breaks = place == "body" || place == "path";
                    out.push((format!("{place} parameter `{name}` became optional"), breaks));
                }
            }
        }
    }
    for ((place, name), (required, ty)) in &after {
        if !before.contains_key(&(place.clone(), name.clone())) {
            let breaks = *required;
            let what = if *required { "required" } else { "optional" };
            out.push((format!("{what} {place} parameter `{name}` (`{ty}`) added"), breaks));
        }
    }
    let (r0, r1) = (response(old), response(new));
    if r0 != r1 {
        out.push((format!("response `{r0}` → `{r1}`"), true));
    }
    let deprecated = |op: &Op<'_>| op.op["deprecated"].as_bool().unwrap_or(false);
    if deprecated(new) && !deprecated(old) {
        out.push(("deprecated".into(), false));
    }
    out
}

/// A definition's properties: name → (shape, enum values, required).
fn properties(spec: &Value, def: &Value) -> BTreeMap<String, (String, BTreeSet<String>, bool)> {
    let mut out = BTreeMap::new();
    collect(spec, def, &mut out, 0);
    out
}

fn collect(spec: &Value, def: &Value, out: &mut BTreeMap<String, (String, BTreeSet<String>, bool)>, depth: usize) {
    if depth > 8 {
        return;
    }
    let required: BTreeSet<&str> =
        def.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    for (name, p) in def.get("properties").and_then(Value::as_object).into_iter().flatten() {
        let enums = p
            .get("enum")
            .or_else(|| p.get("items").and_then(|i| i.get("enum")))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        out.insert(name.clone(), (shape(p), enums, required.contains(name.as_str())));
    }
    for part in def.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        collect(spec, resolve(spec, part), out, depth + 1);
    }
}

fn def_changes(old_spec: &Value, new_spec: &Value, old: &Value, new: &Value) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let (before, after) = (properties(old_spec, old), properties(new_spec, new));
    for (name, (ty, enums, required)) in &before {
        match after.get(name) {
            None => out.push((format!("field `{name}` removed"), true)),
            Some((now_ty, now_enums, now_required)) => {
                if now_ty != ty {
                    out.push((format!("field `{name}`: `{ty}` → `{now_ty}`"), true));
                }
                let removed: Vec<&String> = enums.difference(now_enums).collect();
                let added: Vec<&String> = now_enums.difference(enums).collect();
                if !removed.is_empty() {
                    out.push((format!("field `{name}`: enum values removed {removed:?}"), true));
                }
                if !added.is_empty() {
                    out.push((
                        format!("field `{name}`: enum values added {added:?} (open enums: not breaking)"),
                        false,
                    ));
                }
                if *now_required != *required {
                    let what = if *now_required { "became required" } else { "became optional" };
                    out.push((format!("field `{name}` {what} (fields are `Option`s: not breaking)"), false));
                }
            }
        }
    }
    for (name, (ty, _, _)) in &after {
        if !before.contains_key(name) {
            out.push((format!("field `{name}` (`{ty}`) added"), false));
        }
    }
    // A top-level enum definition.
    let values = |d: &Value| -> BTreeSet<String> {
        d.get("enum")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    let (e0, e1) = (values(old), values(new));
    if e0.difference(&e1).next().is_some() {
        out.push((format!("enum values removed {:?}", e0.difference(&e1).collect::<Vec<_>>()), true));
    }
    if e1.difference(&e0).next().is_some() {
        out.push((format!("enum values added {:?}", e1.difference(&e0).collect::<Vec<_>>()), false));
    }
    if shape(old) != shape(new) && (old.get("properties").is_none() || new.get("properties").is_none()) {
        out.push((format!("`{}` → `{}`", shape(old), shape(new)), true));
    }
    out
}

/// Compares two specs.
pub fn diff(old: &Value, new: &Value) -> Diff {
    let mut d = Diff::default();
    let (before, after) = (operations(old), operations(new));
    // The same method and path under another id is a rename.
    let at = |ops: &BTreeMap<String, Op<'_>>| -> BTreeMap<(String, String), String> {
        ops.iter().map(|(id, op)| ((op.method.to_owned(), op.path.to_owned()), id.clone())).collect()
    };
    let new_at = at(&after);
    for (id, op) in &before {
        match after.get(id) {
            Some(now) => {
                for (what, breaking) in op_changes(old, new, op, now) {
                    d.ops_changed.push((now.tag.clone(), Change { name: id.clone(), what, breaking }));
                }
            }
            None => {
                d.ops_removed.push((id.clone(), op.tag.clone()));
                if let Some(renamed) = new_at.get(&(op.method.to_owned(), op.path.to_owned())) {
                    if !before.contains_key(renamed) {
                        let what = format!("renamed to `{renamed}`");
                        d.ops_changed.push((op.tag.clone(), Change { name: id.clone(), what, breaking: true }));
                    }
                }
            }
        }
    }
    for (id, op) in &after {
        if !before.contains_key(id) {
            d.ops_added.push((id.clone(), op.tag.clone()));
        }
    }
    let empty = Map::new();
    let defs = |s: &'_ Value| s["definitions"].as_object().cloned().unwrap_or_else(|| empty.clone());
    let (old_defs, new_defs) = (defs(old), defs(new));
    for (name, def) in &old_defs {
        match new_defs.get(name) {
            Some(now) => {
                for (what, breaking) in def_changes(old, new, def, now) {
                    d.defs_changed.push(Change { name: name.clone(), what, breaking });
                }
            }
            None => d.defs_removed.push(name.clone()),
        }
    }
    for name in new_defs.keys() {
        if !old_defs.contains_key(name) {
            d.defs_added.push(name.clone());
        }
    }
    d
}

impl Diff {
    /// Whether anything breaks.
    pub fn breaking(&self) -> usize {
        self.ops_removed.len()
            + self.defs_removed.len()
            + self.ops_changed.iter().filter(|(_, c)| c.breaking).count()
            + self.defs_changed.iter().filter(|c| c.breaking).count()
    }

    /// The bump.
    pub fn bump(&self) -> Bump {
        if self.breaking() > 0 {
            Bump::Major
        } else if !self.ops_added.is_empty()
            || !self.defs_added.is_empty()
            || self.ops_changed.iter().any(|(_, c)| !c.what.starts_with("deprecated"))
            || !self.defs_changed.is_empty()
        {
            Bump::Minor
        } else {
            Bump::Patch
        }
    }

    /// The JSON report.
    pub fn json(&self) -> Value {
        let changes = |items: Vec<&Change>| -> Vec<Value> {
            items.into_iter().map(|c| json!({"name": c.name, "change": c.what, "breaking": c.breaking})).collect()
        };
        json!({
            "bump": self.bump().name(),
            "operations": {
                "added": self.ops_added.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "removed": self.ops_removed.iter().map(|(id, _)| id).collect::<Vec<_>>(),
                "changed": changes(self.ops_changed.iter().map(|(_, c)| c).collect()),
            },
            "definitions": {
                "added": self.defs_added,
                "removed": self.defs_removed,
                "changed": changes(self.defs_changed.iter().collect()),
            },
        })
    }

    /// The Markdown changelog, grouped by tag.
    pub fn markdown(&self, old: &str, new: &str) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Changes from {old} to {new}\n");
        let _ = writeln!(
            s,
            "Bump: **{}** ({} breaking changes; {} operations added, {} removed, {} changed; {} definitions added, {} removed, {} changed).\n",
            self.bump().name(),
            self.breaking(),
            self.ops_added.len(),
            self.ops_removed.len(),
            self.ops_changed.iter().map(|(_, c)| &c.name).collect::<BTreeSet<_>>().len(),
            self.defs_added.len(),
            self.defs_removed.len(),
            self.defs_changed.iter().map(|c| &c.name).collect::<BTreeSet<_>>().len(),
        );
        let mut tags: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (id, tag) in &self.ops_added {
            tags.entry(tag).or_default().push(format!("- added `{id}`"));
        }
        for (id, tag) in &self.ops_removed {
            tags.entry(tag).or_default().push(format!("- **breaking**: removed `{id}`"));
        }
        for (tag, c) in &self.ops_changed {
            let mark = if c.breaking { "**breaking**: " } else { "" };
            tags.entry(tag).or_default().push(format!("- {mark}`{}`: {}", c.name, c.what));
        }
        for (tag, lines) in &tags {
            let _ = writeln!(s, "## {tag}\n");
            for l in lines {
                let _ = writeln!(s, "{l}");
            }
            s.push('\n');
        }
        let _ = writeln!(s, "## Models\n");
        for name in &self.defs_added {
            let _ = writeln!(s, "- added `{name}`");
        }
        for name in &self.defs_removed {
            let _ = writeln!(s, "- **breaking**: removed `{name}`");
        }
        for c in &self.defs_changed {
            let mark = if c.breaking { "**breaking**: " } else { "" };
            let _ = writeln!(s, "- {mark}`{}`: {}", c.name, c.what);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(paths: Value, definitions: Value) -> Value {
        json!({"swagger": "2.0", "paths": paths, "definitions": definitions})
    }

    fn op(id: &str, params: Value, response: &str) -> Value {
        json!({"operationId": id, "tags": ["Users"], "parameters": params,
               "responses": {"200": {"description": "ok", "schema": {"$ref": format!("#/definitions/{response}")}}}})
    }

    fn user(props: Value, required: Value) -> Value {
        json!({"User": {"type": "object", "properties": props, "required": required}})
    }

    fn base() -> Value {
        spec(
            json!({"/api/v2/users/{userId}": {"get": op("getUser", json!([
                {"name": "userId", "in": "path", "required": true, "type": "string"},
                {"name": "expand", "in": "query", "type": "array", "items": {"type": "string"}}
            ]), "User")}}),
            user(
                json!({"id": {"type": "string"}, "state": {"type": "string", "enum": ["active", "inactive"]}}),
                json!([]),
            ),
        )
    }

    /// `s` with the value at `pointer` set (its parent must exist).
    fn with(mut s: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let key = key.replace("~1", "/").replace("~0", "~");
        s.pointer_mut(parent).unwrap()[key.as_str()] = value;
        s
    }

    #[test]
    fn nothing_changed_is_a_patch() {
        let d = diff(&base(), &base());
        assert_eq!((d.bump(), d.breaking()), (Bump::Patch, 0));
    }

    #[test]
    fn an_added_operation_is_minor_and_a_removed_one_major() {
        let mut more = base();
        more["paths"]["/api/v2/users"] = json!({"get": op("getUsers", json!([]), "User")});
        let d = diff(&base(), &more);
        assert_eq!((d.bump(), d.ops_added.len()), (Bump::Minor, 1));
        let d = diff(&more, &base());
        assert_eq!((d.bump(), d.ops_removed.len()), (Bump::Major, 1));
    }

    #[test]
    fn a_renamed_operation_id_breaks() {
        let renamed = with(base(), "/paths/~1api~1v2~1users~1{userId}/get/operationId", json!("getUserById"));
        let d = diff(&base(), &renamed);
        assert_eq!(d.bump(), Bump::Major);
        assert!(d.ops_changed.iter().any(|(_, c)| c.what == "renamed to `getUserById`" && c.breaking));
    }

    #[test]
    fn an_optional_parameter_added_is_minor_a_required_one_or_one_made_required_breaks() {
        let param = |required: bool| json!({"name": "state", "in": "query", "type": "string", "required": required});
        let mut optional = base();
        optional["paths"]["/api/v2/users/{userId}"]["get"]["parameters"].as_array_mut().unwrap().push(param(false));
        let d = diff(&base(), &optional);
        assert_eq!(d.bump(), Bump::Minor);
        let mut required = base();
        required["paths"]["/api/v2/users/{userId}"]["get"]["parameters"].as_array_mut().unwrap().push(param(true));
        assert_eq!(diff(&base(), &required).bump(), Bump::Major);
        let made_required = with(base(), "/paths/~1api~1v2~1users~1{userId}/get/parameters/1/required", json!(true));
        let d = diff(&base(), &made_required);
        assert!(d.ops_changed.iter().any(|(_, c)| c.what == "query parameter `expand` became required" && c.breaking));
    }

    #[test]
    fn a_changed_parameter_or_response_type_breaks() {
        let retyped = with(base(), "/paths/~1api~1v2~1users~1{userId}/get/parameters/1/items/type", json!("integer"));
        assert_eq!(diff(&base(), &retyped).bump(), Bump::Major);
        let mut other = base();
        other["definitions"]["UserMe"] = json!({"type": "object"});
        let other = with(
            other,
            "/paths/~1api~1v2~1users~1{userId}/get/responses/200/schema/$ref",
            json!("#/definitions/UserMe"),
        );
        let d = diff(&base(), &other);
        assert!(d.ops_changed.iter().any(|(_, c)| c.what == "response `User` → `UserMe`"));
    }

    #[test]
    fn added_fields_and_enum_values_are_minor_removed_or_retyped_ones_break() {
        let added = with(base(), "/definitions/User/properties/name", json!({"type": "string"}));
        assert_eq!(diff(&base(), &added).bump(), Bump::Minor);
        let value = with(base(), "/definitions/User/properties/state/enum", json!(["active", "inactive", "deleted"]));
        let d = diff(&base(), &value);
        assert_eq!((d.bump(), d.breaking()), (Bump::Minor, 0));
        let gone = with(base(), "/definitions/User/properties/state/enum", json!(["active"]));
        assert_eq!(diff(&base(), &gone).bump(), Bump::Major);
        let mut removed = base();
        removed["definitions"]["User"]["properties"].as_object_mut().unwrap().remove("state");
        assert_eq!(diff(&base(), &removed).bump(), Bump::Major);
        let retyped = with(base(), "/definitions/User/properties/id/type", json!("integer"));
        assert_eq!(diff(&base(), &retyped).bump(), Bump::Major);
    }

    #[test]
    fn a_field_made_required_does_not_break_here() {
        let required = with(base(), "/definitions/User/required", json!(["id"]));
        let d = diff(&base(), &required);
        assert_eq!((d.bump(), d.breaking()), (Bump::Minor, 0));
    }

    #[test]
    fn a_deprecation_alone_is_a_patch() {
        let deprecated = with(base(), "/paths/~1api~1v2~1users~1{userId}/get/deprecated", json!(true));
        let d = diff(&base(), &deprecated);
        assert_eq!(d.bump(), Bump::Patch);
        assert!(d.markdown("a", "b").contains("`getUser`: deprecated"));
    }

    #[test]
    fn the_json_report_has_the_shape_the_release_step_reads() {
        let added = with(base(), "/definitions/User/properties/name", json!({"type": "string"}));
        let j = diff(&base(), &added).json();
        assert_eq!(j["bump"], "minor");
        assert_eq!(j["definitions"]["changed"][0]["name"], "User");
        assert_eq!(j["definitions"]["changed"][0]["breaking"], false);
        assert!(j["operations"]["added"].as_array().unwrap().is_empty());
    }

    /// The real pair: the spec rebuilt from SDK 250.0.0 against today's (269.0.0). The counts
    /// were checked with an independent script over the two files (operation ids and
    /// definition names added and removed, field by field changes of the definitions in both).
    #[test]
    fn release_250_to_269() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read =
            |p: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(root.join(p)).unwrap()).unwrap() };
        let (old, new) = (read("spec/history/platform-api-v2-250.0.0.json"), read("spec/platform-api-v2.json"));
        let d = diff(&old, &new);
        assert_eq!(d.bump(), Bump::Major);
        assert_eq!((d.ops_added.len(), d.ops_removed.len()), (406, 50));
        assert_eq!((d.defs_added.len(), d.defs_removed.len()), (821, 76));
        assert!(d.ops_removed.iter().any(|(id, tag)| id == "getConversationsChat" && tag == "Conversations"));
        let op = |id: &str, what: &str| d.ops_changed.iter().any(|(_, c)| c.name == id && c.what == what && c.breaking);
        assert!(op("postQualitySurveys", "response `Survey` → `CreateSurveyResponse`"));
        assert!(op("getLearningModules", "query parameter `isArchived` removed"));
        assert!(op("putRecordingsDeletionprotection", "response `(none)` → `ManageDeleteProtectionResult`"));
        let count = |f: &dyn Fn(&Change) -> bool| d.defs_changed.iter().filter(|c| f(c)).count();
        let field = |c: &Change| c.what.starts_with("field");
        assert_eq!(count(&|c| field(c) && c.what.ends_with("added")), 557);
        assert_eq!(count(&|c| field(c) && c.what.ends_with("removed")), 118);
        assert_eq!(count(&|c| field(c) && c.what.contains(" → ")), 36);
        assert_eq!(count(&|c| field(c) && c.what.contains("enum values removed")), 17);
        assert_eq!(count(&|c| field(c) && c.what.contains("enum values added")), 167);
        assert!(d.defs_changed.iter().any(|c| c.name == "BillingCharge"
            && c.what == "field `actualQuantity`: `integer(int64)` → `number(double)`"
            && c.breaking));
        // Added fields and enum values are never breaking here.
        assert!(d.defs_changed.iter().filter(|c| c.what.contains("added")).all(|c| !c.breaking));
    }
}
