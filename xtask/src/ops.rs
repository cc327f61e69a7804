//! Operations of the spec: parameters, bodies, responses and pagination, for the api crate.

use crate::ir::{warn, GenError, Ir, Kind, Ty};
use crate::names;
use genesys_cloud_spec::{escape_pointer, Document};
use serde_json::{Map, Value};

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
}

/// A parameter's Rust-side type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamTy {
    String,
    I64,
    I32,
    F64,
    F32,
    Bool,
    Date,
    DateTime,
    /// An array of scalars with its collection format (`Csv`, `Multi`, …).
    List(Box<ParamTy>, &'static str),
}

/// One non-body parameter.
#[derive(Debug, Clone)]
pub struct Param {
    pub wire: String,
    pub ident: String,
    pub location: Location,
    pub ty: ParamTy,
    pub required: bool,
    pub enum_values: Vec<String>,
    /// The vendor's description, escaped for rustdoc.
    pub description: Option<String>,
}

/// How the response body is read.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    None,
    Text,
    Json(Ty),
}

/// Pagination the generator recognised.
#[derive(Debug, Clone, PartialEq)]
pub enum Paging {
    PageNumber { item: Ty },
    NextUri { item: Ty },
    Cursor { item: Ty, param: String, field: String },
}

/// One operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub method: String,
    pub path: String,
    pub tags: Vec<String>,
    pub params: Vec<Param>,
    /// (field ident, type, required)
    pub body: Option<(String, Ty, bool)>,
    /// The body parameter's description, escaped (none for the vendor's placeholders).
    pub body_description: Option<String>,
    /// The vendor's one-line summary and longer description, escaped for rustdoc.
    pub summary: Option<String>,
    pub description: Option<String>,
    pub output: Output,
    pub paging: Option<(Paging, String)>,
    /// The `Accept` header when it is not `application/json`: the spec's `produces`,
    /// comma-separated.
    pub accept: Option<String>,
    pub deprecated: bool,
    pub preview: bool,
    pub needs_auth: bool,
}

fn err<T>(pointer: &str, message: impl Into<String>) -> Result<T, GenError> {
    Err(GenError { pointer: pointer.to_owned(), message: message.into() })
}

/// Names the builders reserve for their own methods.
const RESERVED_METHODS: &[&str] =
    &["build", "send", "send_with_response", "into_paginator", "new", "options_mut", "body"];

/// Every operation of the spec, sorted by operation id. Deviations the generator can map are
/// mapped, each with a warning ([`take_warnings`]); the operations it cannot generate are all
/// reported, not only the first.
pub fn operations(doc: &Document, ir: &Ir) -> Result<Vec<Operation>, Vec<GenError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let Some(Value::Object(paths)) = doc.root().get("paths") else {
        return Ok(out);
    };
    for (path, item) in paths {
        let item_ptr = format!("#/paths/{}", escape_pointer(path));
        let Value::Object(item) = item else {
            errors.push(GenError { pointer: item_ptr, message: "a path item must be an object".into() });
            continue;
        };
        let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for (method, op) in item {
            if !["get", "put", "post", "delete", "options", "head", "patch"].contains(&method.as_str()) {
                continue;
            }
            let ptr = format!("{item_ptr}/{method}");
            let Value::Object(op) = op else {
                errors.push(GenError { pointer: ptr, message: "an operation must be an object".into() });
                continue;
            };
            match operation(doc, ir, path, method, op, &shared, &ptr) {
                Ok(Some(op)) => out.push(op),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.sort_by(|a, b| a.id.cmp(&b.id).then(a.path.cmp(&b.path)).then(a.method.cmp(&b.method)));
    Ok(out)
}

fn resolve_param<'a>(doc: &'a Document, p: &'a Value, ptr: &str) -> Result<&'a Map<String, Value>, GenError> {
    let p = match p.get("$ref").and_then(Value::as_str) {
        Some(r) => match doc.resolve(r) {
            Some(target) => target,
            None => return err(ptr, format!("reference `{r}` points to nothing")),
        },
        None => p,
    };
    match p {
        Value::Object(o) => Ok(o),
        _ => err(ptr, "a parameter must be an object"),
    }
}

fn scalar(obj: &Map<String, Value>, ptr: &str) -> Result<ParamTy, GenError> {
    let format = obj.get("format").and_then(Value::as_str);
    Ok(match obj.get("type").and_then(Value::as_str) {
        Some("string") => match format {
            Some("date") => ParamTy::Date,
            Some("date-time") => ParamTy::DateTime,
            _ => ParamTy::String,
        },
        Some("integer") => match format {
            Some("int32") => ParamTy::I32,
            _ => ParamTy::I64,
        },
        Some("number") => match format {
            Some("float") => ParamTy::F32,
            _ => ParamTy::F64,
        },
        Some("boolean") => ParamTy::Bool,
        Some("array") => {
            let scalar_items = obj.get("items").and_then(Value::as_object).filter(|items| {
                matches!(items.get("type").and_then(Value::as_str), Some("string" | "integer" | "number" | "boolean"))
            });
            let Some(items) = scalar_items else {
                // Swagger 2.0 allows only primitives in a non-body array; published specs
                // have objects and arrays there.
                let what = obj.get("items").and_then(|i| i.get("type")).and_then(Value::as_str).unwrap_or("untyped");
                warn(
                    &format!("{ptr}/items"),
                    format!("an array of {what} items in a non-body parameter: generated as one string parameter (the caller writes the value the API expects, such as JSON)"),
                );
                return Ok(ParamTy::String);
            };
            let inner = scalar(items, &format!("{ptr}/items"))?;
            let format = match obj.get("collectionFormat").and_then(Value::as_str) {
                None | Some("csv") => "Csv",
                Some("ssv") => "Ssv",
                Some("tsv") => "Tsv",
                Some("pipes") => "Pipes",
                Some("multi") => "Multi",
                Some(other) => {
                    warn(
                        &format!("{ptr}/collectionFormat"),
                        format!("unknown collectionFormat `{other}`: sent as csv"),
                    );
                    "Csv"
                }
            };
            ParamTy::List(Box::new(inner), format)
        }
        other => {
            let what = other.map_or("no type".to_owned(), |t| format!("type `{t}`"));
            warn(ptr, format!("a non-body parameter of {what}: generated as a string parameter"));
            ParamTy::String
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn operation(
    doc: &Document,
    ir: &Ir,
    path: &str,
    method: &str,
    op: &Map<String, Value>,
    shared: &[Value],
    ptr: &str,
) -> Result<Option<Operation>, GenError> {
    let id = match op.get("operationId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => format!("{method}{}", names::camel_part(path)),
    };
    let tags: Vec<String> = match op.get("tags").and_then(Value::as_array) {
        Some(t) if !t.is_empty() => t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect(),
        _ => vec!["default".to_owned()],
    };
    let mut idents = names::Namer::with_reserved(RESERVED_METHODS);
    let mut params = Vec::new();
    let mut body = None;
    let mut body_description = None;
    let own: Vec<Value> = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
    // Operation parameters override path-level ones with the same name and location.
    let mut all: Vec<(Value, String)> = Vec::new();
    for (i, p) in own.iter().enumerate() {
        all.push((p.clone(), format!("{ptr}/parameters/{i}")));
    }
    for (i, p) in shared.iter().enumerate() {
        let sp = resolve_param(doc, p, ptr)?;
        let dup = own.iter().any(|o| {
            resolve_param(doc, o, ptr)
                .map(|o| o.get("name") == sp.get("name") && o.get("in") == sp.get("in"))
                .unwrap_or(false)
        });
        if !dup {
            all.push((p.clone(), format!("{}/parameters/{i}", ptr.rsplit_once('/').map(|x| x.0).unwrap_or(ptr))));
        }
    }
    for (p, pptr) in &all {
        let obj = resolve_param(doc, p, pptr)?;
        let Some(name) = obj.get("name").and_then(Value::as_str) else {
            return err(pptr, "a parameter needs a `name`");
        };
        let required = obj.get("required").and_then(Value::as_bool).unwrap_or(false);
        let location = match obj.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("body") => {
                let Some(schema) = obj.get("schema") else {
                    return err(pptr, "a body parameter needs a `schema`");
                };
                let ty = schema_ty(ir, schema, &format!("{pptr}/schema"))?;
                body = Some(("body".to_owned(), ty, required));
                body_description = crate::prose::shown(obj.get("description").and_then(Value::as_str));
                continue;
            }
            Some("formData") => {
                warn(pptr, "a formData parameter (a form or multipart upload): the operation is left out; call it with `client.raw()`");
                return Ok(None);
            }
            other => {
                let place = other.unwrap_or("no location");
                warn(pptr, format!("a parameter in `{place}`, not path, query, header or body: left out"));
                continue;
            }
        };
        let ty = scalar(obj, pptr)?;
        let enum_values = obj
            .get("enum")
            .or_else(|| obj.get("items").and_then(|i| i.get("enum")))
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        let ident = names::field_ident(&idents.take(&names::snake(name), "_"));
        params.push(Param {
            wire: name.to_owned(),
            ident,
            location,
            ty,
            required: required || location == Location::Path,
            enum_values,
            description: crate::prose::shown(obj.get("description").and_then(Value::as_str)),
        });
    }
    // Path parameters in the order they appear in the path.
    let order = |p: &Param| path.find(&format!("{{{}}}", p.wire)).unwrap_or(usize::MAX);
    params.sort_by_key(|p| (p.location != Location::Path, if p.location == Location::Path { order(p) } else { 0 }));
    for p in params.iter().filter(|p| p.location == Location::Path) {
        if !path.contains(&format!("{{{}}}", p.wire)) {
            return err(ptr, format!("path parameter `{}` does not appear in the path", p.wire));
        }
    }
    let output = output(ir, op, ptr)?;
    let paging = paging(ir, &params, &output).map(|p| {
        let label = match &p {
            Paging::PageNumber { .. } => "PageNumber",
            Paging::NextUri { .. } => "NextUri",
            Paging::Cursor { .. } => "Cursor",
        };
        (p, label.to_owned())
    });
    Ok(Some(Operation {
        id,
        method: method.to_owned(),
        path: path.to_owned(),
        tags,
        params,
        body,
        body_description,
        summary: crate::prose::shown(op.get("summary").and_then(Value::as_str)),
        description: crate::prose::shown(op.get("description").and_then(Value::as_str)),
        output,
        paging,
        accept: accept(doc, op, ptr),
        deprecated: op.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
        preview: op.get("x-genesys-preview").and_then(Value::as_bool).unwrap_or(false),
        needs_auth: match op.get("security") {
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
            None => doc.root().get("security").is_some(),
        },
    }))
}

/// The type of a body or response schema; inline named schemas were synthesized into the IR
/// under their pointer.
fn schema_ty(ir: &Ir, schema: &Value, ptr: &str) -> Result<Ty, GenError> {
    if let Some(&i) = ir.op_types.get(ptr) {
        return Ok(Ty::Named(i));
    }
    let Value::Object(obj) = schema else {
        return err(ptr, "a schema must be an object");
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/definitions/").map(|n| n.replace("~1", "/").replace("~0", "~"));
        return match name.and_then(|n| ir.definitions.iter().find(|&&d| ir.types[d].source == n)) {
            Some(&d) => Ok(Ty::Named(d)),
            None => err(ptr, format!("reference `{r}` must name a definition")),
        };
    }
    let format = obj.get("format").and_then(Value::as_str);
    Ok(match obj.get("type").and_then(Value::as_str) {
        Some("array") => match obj.get("items") {
            Some(items) => Ty::Vec(Box::new(schema_ty(ir, items, &format!("{ptr}/items"))?)),
            None => return err(ptr, "an array schema needs `items`"),
        },
        Some("string") => match format {
            Some("date-time") => Ty::DateTime,
            Some("date") => Ty::Date,
            _ => Ty::String,
        },
        Some("integer") => Ty::I64,
        Some("number") => Ty::F64,
        Some("boolean") => Ty::Bool,
        Some("object") | None => match obj.get("additionalProperties") {
            Some(Value::Object(extra)) if !extra.is_empty() => {
                Ty::Map(Box::new(schema_ty(ir, &Value::Object(extra.clone()), &format!("{ptr}/additionalProperties"))?))
            }
            _ => Ty::Any,
        },
        Some(other) => return err(ptr, format!("unsupported schema type `{other}` for a body or response")),
    })
}

/// The operation's `produces` (or the document's) as an `Accept` header, when it is not
/// plain `application/json`. A media type that is not visible ASCII is left out, with a warning.
fn accept(doc: &Document, op: &Map<String, Value>, ptr: &str) -> Option<String> {
    let produces = op.get("produces").or_else(|| doc.root().get("produces"))?.as_array()?;
    let mut types = Vec::new();
    for (i, t) in produces.iter().enumerate() {
        match t.as_str() {
            Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic() || b == b' ') => types.push(t),
            _ => warn(&format!("{ptr}/produces/{i}"), "not a media type: left out of `Accept`"),
        }
    }
    match types.as_slice() {
        [] | ["application/json"] => None,
        _ => Some(types.join(", ")),
    }
}

fn output(ir: &Ir, op: &Map<String, Value>, ptr: &str) -> Result<Output, GenError> {
    let Some(Value::Object(responses)) = op.get("responses") else {
        return err(ptr, "an operation needs `responses`");
    };
    let mut codes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
    codes.sort();
    let Some(code) = codes.first() else {
        return Ok(Output::None);
    };
    let rptr = format!("{ptr}/responses/{code}");
    let Some(schema) = responses[code.as_str()].get("schema") else {
        return Ok(Output::None);
    };
    let sptr = format!("{rptr}/schema");
    if schema.get("type").and_then(Value::as_str) == Some("file") {
        return Ok(Output::Text);
    }
    let ty = schema_ty(ir, schema, &sptr)?;
    Ok(match ty {
        Ty::String => Output::Text,
        other => Output::Json(other),
    })
}

fn struct_fields(ir: &Ir, ty: &Ty) -> Option<Vec<(String, String, Ty)>> {
    let Ty::Named(i) = ty else { return None };
    match &ir.types[*i].kind {
        Kind::Struct { fields, .. } => {
            Some(fields.iter().map(|f| (f.json.clone(), f.ident.clone(), f.ty.clone())).collect())
        }
        _ => None,
    }
}

fn paging(ir: &Ir, params: &[Param], output: &Output) -> Option<Paging> {
    let Output::Json(ty) = output else { return None };
    let fields = struct_fields(ir, ty)?;
    let field = |n: &str| fields.iter().find(|f| f.0 == n);
    let query = |n: &str| params.iter().any(|p| p.location == Location::Query && p.wire == n);
    let item = match field("entities") {
        Some((_, _, Ty::Vec(item))) => (**item).clone(),
        _ => return None,
    };
    if query("pageNumber") && query("pageSize") && field("pageCount").is_some() && field("pageNumber").is_some() {
        return Some(Paging::PageNumber { item });
    }
    if field("nextUri").is_some() {
        return Some(Paging::NextUri { item });
    }
    for param in ["after", "cursor"] {
        if !query(param) {
            continue;
        }
        for f in ["cursor", "after", "nextPage"] {
            if let Some((json, _, Ty::String)) = field(f) {
                return Some(Paging::Cursor { item, param: param.to_owned(), field: json.clone() });
            }
        }
    }
    None
}

/// The Rust identifier of a struct field by JSON name (for pagination accessors).
pub fn field_ident(ir: &Ir, ty: &Ty, json: &str) -> Option<String> {
    struct_fields(ir, ty)?.into_iter().find(|f| f.0 == json).map(|f| f.1)
}
