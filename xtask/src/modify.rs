//! The facade's read-modify-write helpers: one per operation pair of the spec that reads an
//! entity with a `version` (`GET` a path) and writes it back with its version (`PUT` or `PATCH`
//! the same path, with a body that has a `version` too), both with no required parameter but
//! the path's.

use crate::api::header;
use crate::features::Features;
use crate::ir::{Ir, Kind, Ty};
use crate::names;
use crate::ops::{Location, Operation, Output, ParamTy};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// One read-modify-write pair.
pub struct Pair<'a> {
    pub read: &'a Operation,
    pub write: &'a Operation,
    pub read_ty: usize,
    pub write_ty: usize,
}

/// The JSON names of a struct type's fields (none for other kinds).
fn fields(ir: &Ir, ty: usize) -> Vec<&str> {
    match &ir.types[ty].kind {
        Kind::Struct { fields, .. } => fields.iter().map(|f| f.json.as_str()).collect(),
        _ => Vec::new(),
    }
}

fn only_path_params_required(op: &Operation) -> bool {
    op.params.iter().all(|p| p.location == Location::Path || !p.required)
}

/// Every pair, sorted by the read operation's id.
pub fn pairs<'a>(ir: &Ir, operations: &'a [Operation]) -> Vec<Pair<'a>> {
    let mut out = Vec::new();
    for write in operations.iter().filter(|o| matches!(o.method.as_str(), "put" | "patch")) {
        let Some((_, Ty::Named(write_ty), true)) = &write.body else { continue };
        if !fields(ir, *write_ty).contains(&"version") || !only_path_params_required(write) {
            continue;
        }
        let read = operations.iter().find(|o| o.method == "get" && o.path == write.path);
        let Some(read) = read.filter(|r| only_path_params_required(r)) else { continue };
        let Output::Json(Ty::Named(read_ty)) = &read.output else { continue };
        if !fields(ir, *read_ty).contains(&"version") || write.deprecated || read.deprecated {
            continue;
        }
        out.push(Pair { read, write, read_ty: *read_ty, write_ty: *write_ty });
    }
    out.sort_by(|a, b| a.read.id.cmp(&b.read.id));
    out
}

/// The helper's method name: the read operation's, without its `get`.
fn method_name(read: &Operation) -> String {
    let snake = names::snake(&read.id);
    names::field_ident(snake.strip_prefix("get_").unwrap_or(&snake))
}

/// The features both operations need, as a `cfg` predicate.
fn cfg(plan: &Features, pair: &Pair<'_>) -> Option<String> {
    let mut features: BTreeSet<&str> = BTreeSet::new();
    for op in [pair.read, pair.write] {
        features.insert(plan.tag_features.get(op.tags.first()?)?.as_str());
    }
    let list: Vec<String> = features.iter().map(|f| format!("feature = \"{f}\"")).collect();
    Some(if list.len() == 1 { list[0].clone() } else { format!("all({})", list.join(", ")) })
}

/// `crate::modify::Modify`'s generated methods.
pub fn emit(ir: &Ir, plan: &Features, operations: &[Operation], spec_display: &str) -> String {
    let mut s = header(spec_display, "//");
    let pairs = pairs(ir, operations);
    let _ = writeln!(
        s,
        "//! One read-modify-write helper per operation pair of the spec that reads an entity with a\n//! `version` and writes it back with it ({} pairs).\n",
        pairs.len()
    );
    s.push_str("impl crate::modify::Modify<'_> {\n");
    let mut taken = BTreeSet::new();
    for pair in &pairs {
        let Some(cfg) = cfg(plan, pair) else { continue };
        let mut name = method_name(pair.read);
        if !taken.insert(name.clone()) {
            name = names::field_ident(&names::snake(&pair.write.id));
            taken.insert(name.clone());
        }
        let read_ty = crate::models::rust_ty_in(ir, &Ty::Named(pair.read_ty), "crate::models");
        let write_ty = crate::models::rust_ty_in(ir, &Ty::Named(pair.write_ty), "crate::models");
        let out_ty = match &pair.write.output {
            Output::Json(ty) => crate::models::rust_ty_in(ir, ty, "crate::models"),
            Output::Text => "::std::string::String".into(),
            Output::None => "()".into(),
        };
        let writable = fields(ir, pair.write_ty);
        let read_only: Vec<String> =
            fields(ir, pair.read_ty).into_iter().filter(|f| !writable.contains(f)).map(|f| format!("{f:?}")).collect();
        let path: Vec<_> = pair.read.params.iter().filter(|p| p.location == Location::Path).collect();
        let mut sig = String::new();
        let mut bind = String::new();
        let mut args = Vec::new();
        for p in &path {
            if p.ty == ParamTy::String {
                let _ = write!(sig, "{}: impl ::std::convert::Into<::std::string::String>, ", p.ident);
                let _ = writeln!(bind, "        let {0}: ::std::string::String = {0}.into();", p.ident);
                args.push(format!("{}.clone()", p.ident));
            } else {
                let _ = write!(sig, "{}: {}, ", p.ident, crate::api::param_ty(&p.ty));
                args.push(p.ident.clone());
            }
        }
        let args = args.join(", ");
        let write_args = if args.is_empty() { "body".to_owned() } else { format!("{args}, body") };
        let read_tag = crate::api::tag_module(pair.read.tags.first().map_or("", String::as_str));
        let write_tag = crate::api::tag_module(pair.write.tags.first().map_or("", String::as_str));
        let read_method = names::field_ident(&names::snake(&pair.read.id));
        let write_method = names::field_ident(&names::snake(&pair.write.id));
        let read_name = &ir.types[pair.read_ty].name;
        let doc = format!(
            " Reads the `{read_name}` (`GET {path}`), lets `apply` change it, and writes it back with its version (`{method} {path}`); a version conflict reads and applies again. See [`Modify`](crate::modify::Modify).",
            path = pair.read.path,
            method = pair.write.method.to_ascii_uppercase(),
        );
        let _ = writeln!(
            s,
            "    #[doc = {doc:?}]\n    #[cfg({cfg})]\n    #[cfg_attr(docsrs, doc(cfg({cfg})))]\n    pub async fn {name}<F>(&self, {sig}apply: F) -> crate::Result<crate::modify::Modified<{out_ty}>>\n    where\n        F: FnMut(&mut {read_ty}) + Send,\n    {{\n{bind}        let (reads, writes) = (self.client.{read_tag}(), self.client.{write_tag}());\n        self.run(\n            || reads.{read_method}({args}).send(),\n            &[{}],\n            |body: {write_ty}| writes.{write_method}({write_args}).send(),\n            apply,\n        )\n        .await\n    }}",
            read_only.join(", ")
        );
    }
    s.push_str("}\n");
    s
}
