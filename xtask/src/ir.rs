//! The generator's intermediate representation: every named Rust type the models crate
//! holds, built from a Swagger 2.0 document with errors that name the JSON pointer.

use crate::names::{self, Namer};
use genesys_cloud_spec::{escape_pointer, Document};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// A generator error: what went wrong and where in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenError {
    /// JSON pointer of the offending schema (`#/definitions/User/properties/name`).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for GenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

impl std::error::Error for GenError {}

fn err<T>(pointer: &str, message: impl Into<String>) -> Result<T, GenError> {
    Err(GenError { pointer: pointer.to_owned(), message: message.into() })
}

thread_local! {
    /// What the generator mapped instead of refusing, in this run.
    static WARNINGS: std::cell::RefCell<Vec<GenError>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Records a deviation from Swagger 2.0 the generator mapped, and what it did.
pub(crate) fn warn(pointer: &str, message: impl Into<String>) {
    WARNINGS.with(|w| w.borrow_mut().push(GenError { pointer: pointer.to_owned(), message: message.into() }));
}

/// The warnings of the run so far (and clears them).
pub fn take_warnings() -> Vec<GenError> {
    WARNINGS.with(|w| std::mem::take(&mut *w.borrow_mut()))
}

/// A field or value type.
#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    Bool,
    I32,
    I64,
    F32,
    F64,
    String,
    DateTime,
    Date,
    LocalDateTime,
    YearMonth,
    Base64,
    /// Any JSON value (a free-form schema).
    Any,
    /// A free-form JSON object.
    Object,
    Vec(Box<Ty>),
    Map(Box<Ty>),
    /// A generated type, by index into [`Ir::types`].
    Named(usize),
}

impl Ty {
    /// The named types this type mentions directly (not through a `Vec` or map).
    pub fn direct_named(&self) -> Option<usize> {
        match self {
            Ty::Named(i) => Some(*i),
            _ => None,
        }
    }

    /// Every named type this type mentions, through collections too.
    pub fn all_named(&self, out: &mut Vec<usize>) {
        match self {
            Ty::Named(i) => out.push(*i),
            Ty::Vec(t) | Ty::Map(t) => t.all_named(out),
            _ => {}
        }
    }
}

/// One property of a struct.
#[derive(Debug, Clone)]
pub struct Field {
    /// The JSON name.
    pub json: String,
    /// The Rust identifier (possibly `r#type`).
    pub ident: String,
    pub ty: Ty,
    /// Boxed to break a recursive containment cycle.
    pub boxed: bool,
    pub required: bool,
    pub read_only: bool,
    pub nullable: bool,
    /// `format` as written in the spec, for the docs.
    pub format: Option<String>,
    /// What the spec constrains the value to (enum values, ranges, lengths, pattern), for the
    /// docs.
    pub constraints: Vec<String>,
    /// The vendor's description, escaped for rustdoc.
    pub description: Option<String>,
}

/// The constraints a property schema states, in words: enum values, minimum and maximum,
/// lengths, pattern, item counts (of the items too, for arrays).
pub fn constraints(prop: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let num = |k: &str| prop.get(k).and_then(Value::as_f64);
    let exclusive = |k: &str| prop.get(k).and_then(Value::as_bool).unwrap_or(false);
    match (num("minimum"), num("maximum")) {
        (Some(lo), Some(hi)) => out.push(format!("from {lo} to {hi}")),
        (Some(lo), None) if exclusive("exclusiveMinimum") => out.push(format!("more than {lo}")),
        (Some(lo), None) => out.push(format!("at least {lo}")),
        (None, Some(hi)) if exclusive("exclusiveMaximum") => out.push(format!("less than {hi}")),
        (None, Some(hi)) => out.push(format!("at most {hi}")),
        (None, None) => {}
    }
    match (num("minLength"), num("maxLength")) {
        (Some(lo), Some(hi)) => out.push(format!("{lo} to {hi} characters")),
        (Some(lo), None) => out.push(format!("at least {lo} characters")),
        (None, Some(hi)) => out.push(format!("at most {hi} characters")),
        (None, None) => {}
    }
    match (num("minItems"), num("maxItems")) {
        (Some(lo), Some(hi)) => out.push(format!("{lo} to {hi} items")),
        (Some(lo), None) => out.push(format!("at least {lo} items")),
        (None, Some(hi)) => out.push(format!("at most {hi} items")),
        (None, None) => {}
    }
    if prop.get("uniqueItems").and_then(Value::as_bool) == Some(true) {
        out.push("items unique".into());
    }
    if let Some(p) = prop.get("pattern").and_then(Value::as_str) {
        out.push(format!("pattern `{}`", p.replace('`', "'")));
    }
    if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        let names: Vec<String> =
            values.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), |s| format!("`{s}`"))).collect();
        let shown = if names.len() > 12 {
            format!("{}, … ({} in all)", names[..12].join(", "), names.len())
        } else {
            names.join(", ")
        };
        out.push(format!("one of {shown}"));
    }
    if let Some(Value::Object(items)) = prop.get("items") {
        out.extend(constraints(items).into_iter().map(|c| format!("each item {c}")));
    }
    out
}

/// What a generated type is.
#[derive(Debug, Clone)]
pub enum Kind {
    Struct {
        fields: Vec<Field>,
        /// `additionalProperties` next to `properties`: extra keys of this value type.
        additional: Option<Ty>,
    },
    StringEnum(Vec<(String, String)>),
    IntEnum(Vec<(String, i64)>),
    /// A definition that is not an object with properties: an array, a map, a primitive.
    Newtype(Ty),
}

impl Kind {
    /// The types this one refers to directly: its fields' and its additional properties'
    /// types, or a newtype's.
    pub fn all_named(&self, out: &mut Vec<usize>) {
        match self {
            Kind::Struct { fields, additional } => {
                fields.iter().for_each(|f| f.ty.all_named(out));
                if let Some(a) = additional {
                    a.all_named(out);
                }
            }
            Kind::Newtype(ty) => ty.all_named(out),
            Kind::StringEnum(_) | Kind::IntEnum(_) => {}
        }
    }
}

impl Ir {
    /// Every type reachable from `roots` (themselves included).
    pub fn closure(&self, mut todo: Vec<usize>) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        while let Some(i) = todo.pop() {
            if seen.insert(i) {
                self.types[i].kind.all_named(&mut todo);
            }
        }
        seen
    }

    /// Where the words of a free list of strings are listed: the analytics `groupBy` and
    /// `metrics` lists hold dimension and metric names the spec enumerates only on a related
    /// property (`ConversationAggregateQueryPredicate.dimension`,
    /// `ConversationAggregationView.target`). Nearest first, breadth-first through the
    /// types `from` refers to: the struct holding that property, the property, and its enum type.
    pub fn vocabulary(&self, from: usize, field: &Field) -> Option<(usize, &Field, usize)> {
        let wanted: &[&str] = match field.json.as_str() {
            "groupBy" => &["dimension"],
            "metrics" => &["metric", "target"],
            _ => return None,
        };
        if field.ty != Ty::Vec(Box::new(Ty::String)) {
            return None;
        }
        let mut seen = BTreeSet::from([from]);
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(i) = queue.pop_front() {
            if let Kind::Struct { fields, .. } = &self.types[i].kind {
                for f in fields {
                    if let Ty::Named(e) = f.ty {
                        if wanted.contains(&f.json.as_str()) && matches!(self.types[e].kind, Kind::StringEnum(_)) {
                            return Some((i, f, e));
                        }
                    }
                }
            }
            let mut next = Vec::new();
            self.types[i].kind.all_named(&mut next);
            for n in next {
                if seen.insert(n) {
                    queue.push_back(n);
                }
            }
        }
        None
    }
}

/// One generated type.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// The Rust type name.
    pub name: String,
    /// The definition name, or `Parent.property` for a synthesized inline type.
    pub source: String,
    pub pointer: String,
    /// The top-level definition whose module holds this type (itself for definitions).
    pub owner: usize,
    pub kind: Kind,
}

/// The whole IR.
#[derive(Debug, Clone)]
pub struct Ir {
    pub types: Vec<TypeDef>,
    /// Indexes of the types that are top-level definitions, sorted by definition name.
    pub definitions: Vec<usize>,
    /// Module name of each definition, by type index.
    pub modules: HashMap<usize, String>,
    /// The spec's tags (sorted) with the definitions their operations reach directly.
    pub tag_roots: BTreeMap<String, BTreeSet<usize>>,
    /// Types synthesized from inline body and response schemas of operations, by pointer.
    pub op_types: HashMap<String, usize>,
}

/// Type names the crate root uses for its own items; definitions with these names get a suffix.
pub const RESERVED_TYPE_NAMES: &[&str] = &["Model", "Extras", "UnknownField", "YearMonth", "Base64Bytes", "Key"];

/// Each operation's tags with the types its body and response mention.
type OpRoots = Vec<(Vec<String>, Vec<usize>)>;

struct Builder<'a> {
    doc: &'a Document,
    types: Vec<TypeDef>,
    by_definition: HashMap<String, usize>,
    /// Synthesized types by the pointer of their schema, so a schema reached twice (e.g.
    /// through `allOf`) yields one type.
    by_pointer: HashMap<String, usize>,
    type_names: Namer,
}

/// Builds the IR of a whole document.
pub fn build(doc: &Document) -> Result<Ir, GenError> {
    let mut b = Builder {
        doc,
        types: Vec::new(),
        by_definition: HashMap::new(),
        by_pointer: HashMap::new(),
        type_names: Namer::with_reserved(RESERVED_TYPE_NAMES),
    };
    let root = doc.root();
    if let Some(defs) = root.get("definitions") {
        if !defs.is_object() {
            return err("#/definitions", "must be an object");
        }
    }
    let mut def_names: Vec<&String> = doc.definitions().keys().collect();
    def_names.sort();

    // Reserve every definition's name first, so inline types never take a definition's name.
    for name in &def_names {
        let pointer = format!("#/definitions/{}", escape_pointer(name));
        let rust = b.type_names.take(&names::type_name(name), "");
        let index = b.types.len();
        b.types.push(TypeDef {
            name: rust,
            source: (*name).clone(),
            pointer,
            owner: index,
            kind: Kind::Newtype(Ty::Any),
        });
        b.by_definition.insert((*name).clone(), index);
    }
    let definitions: Vec<usize> = (0..def_names.len()).collect();
    // Every definition that cannot be generated is reported, not only the first.
    let mut problems = Vec::new();
    for (index, name) in def_names.iter().enumerate() {
        let schema = &doc.definitions()[name.as_str()];
        let pointer = b.types[index].pointer.clone();
        match b.definition_kind(schema, &pointer, index) {
            Ok(kind) => b.types[index].kind = kind,
            Err(e) => problems.push(e),
        }
    }
    if let Some(first) = problems.first() {
        let mut message = first.message.clone();
        if problems.len() > 1 {
            message.push_str(&format!("\n{} more definitions cannot be generated:", problems.len() - 1));
            for e in &problems[1..] {
                message.push_str(&format!("\n  {e}"));
            }
        }
        return Err(GenError { pointer: first.pointer.clone(), message });
    }

    // Inline body and response schemas of operations that need a named type (objects with
    // properties, allOf, enums) become models of their own, named after the operation.
    let mut definitions = definitions;
    let op_roots = b.operation_types()?;
    for (i, t) in b.types.iter().enumerate() {
        if t.owner == i && i >= def_names.len() {
            definitions.push(i);
        }
    }
    let op_types: HashMap<String, usize> =
        b.by_pointer.iter().filter(|(p, _)| p.starts_with("#/paths/")).map(|(p, i)| (p.clone(), *i)).collect();

    let mut modules = HashMap::new();
    let mut module_names = Namer::with_reserved(&["support", "prelude", "generated"]);
    for &i in &definitions {
        let m = names::module_ident(&names::snake(&b.types[i].name));
        modules.insert(i, module_names.take(&m, "_"));
    }

    let mut tag_roots = b.tag_roots()?;
    for (tags, roots) in op_roots {
        for tag in tags {
            tag_roots.entry(tag).or_default().extend(roots.iter().map(|&r| b.types[r].owner));
        }
    }
    let mut ir = Ir { types: b.types, definitions, modules, tag_roots, op_types };
    box_recursive_fields(&mut ir);
    Ok(ir)
}

impl Builder<'_> {
    fn definition_kind(&mut self, schema: &Value, pointer: &str, index: usize) -> Result<Kind, GenError> {
        let obj = schema_object(schema, pointer)?;
        if obj.contains_key("$ref") {
            // A definition that is only a reference: a newtype around the target.
            return Ok(Kind::Newtype(self.ty(schema, pointer, index, &self.types[index].name.clone())?));
        }
        if obj.contains_key("enum") {
            return self.enum_kind(obj, pointer);
        }
        if obj.contains_key("allOf") || has_properties(obj) {
            return self.struct_kind(obj, pointer, index);
        }
        let name = self.types[index].name.clone();
        let ty = match type_of(obj, pointer)? {
            Some("object") | None => match obj.get("additionalProperties") {
                Some(Value::Object(extra)) if !extra.is_empty() => Ty::Map(Box::new(self.ty(
                    &Value::Object(extra.clone()),
                    &format!("{pointer}/additionalProperties"),
                    index,
                    &format!("{name}Value"),
                )?)),
                _ => Ty::Object,
            },
            Some(_) => self.ty(schema, pointer, index, &name)?,
        };
        Ok(Kind::Newtype(ty))
    }

    fn enum_kind(&mut self, obj: &Map<String, Value>, pointer: &str) -> Result<Kind, GenError> {
        let values = match obj.get("enum") {
            Some(Value::Array(v)) if !v.is_empty() => v,
            _ => return err(pointer, "`enum` must be a non-empty array"),
        };
        let mut variants = Namer::default();
        match type_of(obj, pointer)? {
            Some("string") | None => {
                let mut out = Vec::new();
                let mut seen = BTreeSet::new();
                for (i, v) in values.iter().enumerate() {
                    match v {
                        Value::String(s) => {
                            if seen.insert(s.clone()) {
                                out.push((variants.take(&names::variant(s), ""), s.clone()));
                            }
                        }
                        Value::Null => {} // `null` in an enum only says the value may be null.
                        other => {
                            return err(
                                &format!("{pointer}/enum/{i}"),
                                format!("a string enum value must be a string, found {other}"),
                            )
                        }
                    }
                }
                Ok(Kind::StringEnum(out))
            }
            Some("integer") => {
                let mut out = Vec::new();
                let mut seen = BTreeSet::new();
                for (i, v) in values.iter().enumerate() {
                    let Some(n) = v.as_i64() else {
                        return err(
                            &format!("{pointer}/enum/{i}"),
                            format!("an integer enum value must be an integer, found {v}"),
                        );
                    };
                    if seen.insert(n) {
                        let name = if n < 0 { format!("Minus{}", n.unsigned_abs()) } else { format!("V{n}") };
                        out.push((variants.take(&name, "_"), n));
                    }
                }
                Ok(Kind::IntEnum(out))
            }
            Some(other) => err(pointer, format!("enums of type `{other}` are not supported (only string and integer)")),
        }
    }

    /// Collects the properties of an object schema, following `allOf` (references included),
    /// as (json name, schema, pointer, required).
    fn collect_properties<'s>(
        &'s self,
        obj: &'s Map<String, Value>,
        pointer: &str,
        out: &mut Vec<(String, &'s Value, String)>,
        required: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Result<(), GenError> {
        if let Some(parts) = obj.get("allOf") {
            let Value::Array(parts) = parts else {
                return err(&format!("{pointer}/allOf"), "`allOf` must be an array");
            };
            for (i, part) in parts.iter().enumerate() {
                let part_pointer = format!("{pointer}/allOf/{i}");
                let part_obj = schema_object(part, &part_pointer)?;
                if let Some(reference) = part_obj.get("$ref") {
                    let (target_pointer, target) = self.resolve_definition(reference, &part_pointer)?;
                    if stack.contains(&target_pointer) {
                        return err(&part_pointer, format!("`allOf` cycle through {target_pointer}"));
                    }
                    stack.push(target_pointer.clone());
                    let target_obj = schema_object(target, &target_pointer)?;
                    self.collect_properties(target_obj, &target_pointer, out, required, stack)?;
                    stack.pop();
                } else {
                    self.collect_properties(part_obj, &part_pointer, out, required, stack)?;
                }
            }
        }
        if let Some(props) = obj.get("properties") {
            let Value::Object(props) = props else {
                return err(&format!("{pointer}/properties"), "`properties` must be an object");
            };
            let mut keys: Vec<&String> = props.keys().collect();
            keys.sort();
            for key in keys {
                let at = format!("{pointer}/properties/{}", escape_pointer(key));
                match out.iter_mut().find(|(json, _, _)| json == key) {
                    // A later declaration of the same property (allOf override) wins.
                    Some(slot) => *slot = (key.clone(), &props[key.as_str()], at),
                    None => out.push((key.clone(), &props[key.as_str()], at)),
                }
            }
        }
        if let Some(req) = obj.get("required") {
            let Value::Array(req) = req else {
                return err(&format!("{pointer}/required"), "`required` must be an array of names");
            };
            for (i, r) in req.iter().enumerate() {
                match r.as_str() {
                    Some(r) => {
                        required.insert(r.to_owned());
                    }
                    None => return err(&format!("{pointer}/required/{i}"), "`required` entries must be strings"),
                }
            }
        }
        Ok(())
    }

    fn struct_kind(&mut self, obj: &Map<String, Value>, pointer: &str, index: usize) -> Result<Kind, GenError> {
        let mut props = Vec::new();
        let mut required = BTreeSet::new();
        self.collect_properties(obj, pointer, &mut props, &mut required, &mut vec![pointer.to_owned()])?;
        let props: Vec<(String, Value, String)> = props.into_iter().map(|(j, s, p)| (j, s.clone(), p)).collect();
        let parent = self.types[index].name.clone();
        let mut idents = Namer::with_reserved(&["_nulls"]);
        let mut fields = Vec::new();
        for (json, schema, at) in props {
            let prop = schema_object(&schema, &at)?;
            // Inline types are named after the definition that declares the property, so a
            // property inherited through `allOf` keeps its parent's type.
            let hint = format!("{}{}", self.owner_name_for(&at, &parent), names::camel_part(&json));
            let ty = self.ty(&schema, &at, index, &hint)?;
            let ident = names::field_ident(&idents.take(&names::snake(&json), "_"));
            fields.push(Field {
                required: required.contains(&json),
                read_only: prop.get("readOnly").and_then(Value::as_bool).unwrap_or(false),
                nullable: prop.get("x-nullable").and_then(Value::as_bool).unwrap_or(false),
                format: prop.get("format").and_then(Value::as_str).map(str::to_owned),
                constraints: constraints(prop),
                description: crate::prose::shown(prop.get("description").and_then(Value::as_str)),
                json,
                ident,
                ty,
                boxed: false,
            });
        }
        let additional = match obj.get("additionalProperties") {
            Some(Value::Object(extra)) if !extra.is_empty() => Some(self.ty(
                &Value::Object(extra.clone()),
                &format!("{pointer}/additionalProperties"),
                index,
                &format!("{parent}Value"),
            )?),
            Some(Value::Object(_)) | Some(Value::Bool(true)) => Some(Ty::Any),
            None | Some(Value::Bool(false)) => None,
            Some(other) => {
                return err(
                    &format!("{pointer}/additionalProperties"),
                    format!("must be a schema or a boolean, found {other}"),
                )
            }
        };
        if additional.is_some() {
            // The catch-all map gets the field name `additional_properties`, deduplicated.
            idents.take("additional_properties", "_");
        }
        Ok(Kind::Struct { fields, additional })
    }

    /// The Rust name of the definition a pointer lies in (`#/definitions/X/...` → X's name).
    fn owner_name_for(&self, pointer: &str, fallback: &str) -> String {
        self.owner_of(pointer).map(|i| self.types[i].name.clone()).unwrap_or_else(|| fallback.to_owned())
    }

    fn owner_of(&self, pointer: &str) -> Option<usize> {
        let rest = pointer.strip_prefix("#/definitions/")?;
        let name = rest.split('/').next()?.replace("~1", "/").replace("~0", "~");
        self.by_definition.get(&name).copied()
    }

    fn resolve_definition<'s>(&'s self, reference: &Value, pointer: &str) -> Result<(String, &'s Value), GenError> {
        let Some(reference) = reference.as_str() else {
            return err(pointer, "`$ref` must be a string");
        };
        if !reference.starts_with("#/definitions/") {
            return err(pointer, format!("unsupported reference `{reference}`: schemas may only refer to `#/definitions/...` in this document"));
        }
        match self.doc.resolve(reference) {
            Some(target) => Ok((reference.to_owned(), target)),
            None => err(pointer, format!("reference `{reference}` points to no definition")),
        }
    }

    /// The type of a schema in a field or item position; inline objects and enums become
    /// named types (`hint`), owned by the definition the schema lies in.
    fn ty(&mut self, schema: &Value, pointer: &str, index: usize, hint: &str) -> Result<Ty, GenError> {
        let obj = schema_object(schema, pointer)?;
        if let Some(reference) = obj.get("$ref") {
            let (target_pointer, _) = self.resolve_definition(reference, pointer)?;
            let name = target_pointer["#/definitions/".len()..].replace("~1", "/").replace("~0", "~");
            return match self.by_definition.get(&name) {
                Some(&i) => Ok(Ty::Named(i)),
                None => err(pointer, format!("reference `{target_pointer}` must name a definition directly")),
            };
        }
        if obj.contains_key("enum") {
            let kind = self.enum_kind(obj, pointer)?;
            return Ok(Ty::Named(self.synthesize(pointer, index, hint, kind)));
        }
        // `{"description": …, "allOf": [{"$ref": …}]}`: a reference with a description (the
        // idiom published Genesys specs use for enum-typed properties), not a new object.
        if let Some(Value::Array(parts)) = obj.get("allOf") {
            let lone_ref = match parts.as_slice() {
                [Value::Object(part)] if part.len() == 1 && part.contains_key("$ref") => Some(&parts[0]),
                _ => None,
            };
            if let (Some(part), false) = (lone_ref, has_properties(obj) || obj.contains_key("additionalProperties")) {
                return self.ty(part, &format!("{pointer}/allOf/0"), index, hint);
            }
        }
        if obj.contains_key("allOf") || has_properties(obj) {
            if let Some(&i) = self.by_pointer.get(pointer) {
                return Ok(Ty::Named(i));
            }
            // Reserve the slot first: the struct may refer to itself.
            let i = self.synthesize(pointer, index, hint, Kind::Newtype(Ty::Any));
            let kind = self.struct_kind(obj, pointer, i)?;
            self.types[i].kind = kind;
            return Ok(Ty::Named(i));
        }
        let format = obj.get("format").and_then(Value::as_str);
        Ok(match type_of(obj, pointer)? {
            Some("string") => match format {
                Some("date-time") => Ty::DateTime,
                Some("date") => Ty::Date,
                Some("local-date-time") => Ty::LocalDateTime,
                Some("year-month") => Ty::YearMonth,
                Some("byte") => Ty::Base64,
                // binary, uri, uuid, password, email and unknown formats stay text: the
                // format is a hint, and a lenient String never fails to decode.
                _ => Ty::String,
            },
            Some("integer") => match format {
                Some("int32") => Ty::I32,
                _ => Ty::I64,
            },
            Some("number") => match format {
                Some("float") => Ty::F32,
                _ => Ty::F64,
            },
            Some("boolean") => Ty::Bool,
            Some("array") => {
                let Some(items) = obj.get("items") else {
                    return err(pointer, "an array schema needs `items`");
                };
                if items.is_array() {
                    return err(
                        &format!("{pointer}/items"),
                        "tuple-style `items` (an array of schemas) is not supported",
                    );
                }
                Ty::Vec(Box::new(self.ty(items, &format!("{pointer}/items"), index, &format!("{hint}Item"))?))
            }
            Some("object") | None => match obj.get("additionalProperties") {
                Some(Value::Object(extra)) if !extra.is_empty() => Ty::Map(Box::new(self.ty(
                    &Value::Object(extra.clone()),
                    &format!("{pointer}/additionalProperties"),
                    index,
                    &format!("{hint}Value"),
                )?)),
                _ => Ty::Any,
            },
            Some("file") => {
                return err(pointer, "`type: file` is only valid for form parameters and responses, not in a model")
            }
            Some(other) => return err(pointer, format!("unknown schema type `{other}`")),
        })
    }

    fn synthesize(&mut self, pointer: &str, index: usize, hint: &str, kind: Kind) -> usize {
        if let Some(&i) = self.by_pointer.get(pointer) {
            return i;
        }
        let i = self.types.len();
        // Types of operation schemas own themselves; inline types of definitions live with
        // the definition.
        let owner = self.owner_of(pointer).unwrap_or(if index == usize::MAX { i } else { self.types[index].owner });
        let wanted = names::type_name(hint);
        // A clash with a definition's name: `UserState` (definition) vs `User.state` (inline
        // enum) → `UserStateEnum`; numbers only when that is taken too.
        let suffix = if matches!(kind, Kind::StringEnum(_) | Kind::IntEnum(_)) { "Enum" } else { "Inline" };
        let name = if self.type_names.take_exact(&wanted) {
            wanted
        } else {
            self.type_names.take(&format!("{wanted}{suffix}"), "")
        };
        let source = match pointer.strip_prefix("#/definitions/") {
            Some(rest) => rest.replace("/properties/", ".").replace("~1", "/").replace("~0", "~"),
            None => pointer.to_owned(),
        };
        self.types.push(TypeDef { name, source, pointer: pointer.to_owned(), owner, kind });
        self.by_pointer.insert(pointer.to_owned(), i);
        i
    }

    /// Synthesizes types for the inline body and response schemas of every operation;
    /// returns each operation's tags with the types it mentions.
    fn operation_types(&mut self) -> Result<OpRoots, GenError> {
        let mut out = Vec::new();
        let Some(Value::Object(paths)) = self.doc.root().get("paths") else {
            return Ok(out);
        };
        let mut keys: Vec<&String> = paths.keys().collect();
        keys.sort();
        for path in keys {
            let Value::Object(item) = &paths[path.as_str()] else { continue };
            let mut methods: Vec<&String> = item.keys().collect();
            methods.sort();
            for method in methods {
                let Value::Object(op) = &item[method.as_str()] else { continue };
                if !["get", "put", "post", "delete", "options", "head", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let ptr = format!("#/paths/{}/{method}", escape_pointer(path));
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{method}{}", names::camel_part(path)));
                let base = names::camel_part(&id);
                let mut found = Vec::new();
                if let Some(Value::Array(params)) = op.get("parameters") {
                    for (i, p) in params.iter().enumerate() {
                        if let (Some("body"), Some(schema)) = (p.get("in").and_then(Value::as_str), p.get("schema")) {
                            let ty = self.ty(
                                schema,
                                &format!("{ptr}/parameters/{i}/schema"),
                                usize::MAX,
                                &format!("{base}Body"),
                            )?;
                            ty.all_named(&mut found);
                        }
                    }
                }
                if let Some(Value::Object(responses)) = op.get("responses") {
                    let mut codes: Vec<&String> = responses.keys().filter(|k| k.starts_with('2')).collect();
                    codes.sort();
                    if let Some(code) = codes.first() {
                        if let Some(schema) = responses[code.as_str()].get("schema") {
                            if schema.get("type").and_then(Value::as_str) != Some("file") {
                                let ty = self.ty(
                                    schema,
                                    &format!("{ptr}/responses/{code}/schema"),
                                    usize::MAX,
                                    &format!("{base}Response"),
                                )?;
                                ty.all_named(&mut found);
                            }
                        }
                    }
                }
                let tags: Vec<String> = match op.get("tags") {
                    Some(Value::Array(t)) if !t.is_empty() => {
                        t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
                    }
                    _ => vec!["default".to_owned()],
                };
                out.push((tags, found));
            }
        }
        Ok(out)
    }

    /// For each tag, the definitions its operations mention (parameters and responses).
    fn tag_roots(&self) -> Result<BTreeMap<String, BTreeSet<usize>>, GenError> {
        let mut roots: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
        let mut declared = Vec::new();
        if let Some(Value::Array(tags)) = self.doc.root().get("tags") {
            for t in tags {
                if let Some(name) = t.get("name").and_then(Value::as_str) {
                    declared.push(name.to_owned());
                }
            }
        }
        let Some(paths) = self.doc.root().get("paths") else {
            warn_unused_tags(&declared, &roots);
            return Ok(roots);
        };
        let Value::Object(paths) = paths else {
            return err("#/paths", "must be an object");
        };
        for (path, item) in paths {
            let Value::Object(item) = item else {
                return err(&format!("#/paths/{}", escape_pointer(path)), "a path item must be an object");
            };
            let shared_params = item.get("parameters");
            for (method, op) in item {
                if !["get", "put", "post", "delete", "options", "head", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let mut found = Vec::new();
                collect_refs(op, &mut found);
                if let Some(p) = shared_params {
                    collect_refs(p, &mut found);
                }
                let mut defs = BTreeSet::new();
                for r in found {
                    let r = self.follow_non_schema_ref(&r);
                    if let Some(i) = r
                        .strip_prefix("#/definitions/")
                        .and_then(|n| self.by_definition.get(&n.replace("~1", "/").replace("~0", "~")))
                    {
                        defs.insert(*i);
                    }
                }
                let tags: Vec<String> = match op.get("tags") {
                    Some(Value::Array(t)) if !t.is_empty() => {
                        t.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()
                    }
                    _ => vec!["default".to_owned()],
                };
                for tag in tags {
                    roots.entry(tag).or_default().extend(defs.iter().copied());
                }
            }
        }
        warn_unused_tags(&declared, &roots);
        Ok(roots)
    }

    /// `#/parameters/x` and `#/responses/x` references lead to schemas that may refer to
    /// definitions; follow them to the definitions they mention (first one suffices here:
    /// `collect_refs` on the operation already walked inline schemas).
    fn follow_non_schema_ref(&self, reference: &str) -> String {
        if reference.starts_with("#/parameters/") || reference.starts_with("#/responses/") {
            if let Some(target) = self.doc.resolve(reference) {
                let mut inner = Vec::new();
                collect_refs(target, &mut inner);
                if let Some(first) = inner.into_iter().next() {
                    return first;
                }
            }
        }
        reference.to_owned()
    }
}

/// Every string-valued `$ref` under `value` (a property *named* `$ref` holds an object and
/// is walked into, not taken for a reference).
pub fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

fn schema_object<'v>(schema: &'v Value, pointer: &str) -> Result<&'v Map<String, Value>, GenError> {
    match schema {
        Value::Object(obj) => Ok(obj),
        other => err(pointer, format!("a schema must be a JSON object, found {other}")),
    }
}

fn has_properties(obj: &Map<String, Value>) -> bool {
    matches!(obj.get("properties"), Some(Value::Object(p)) if !p.is_empty())
}

fn type_of<'v>(obj: &'v Map<String, Value>, pointer: &str) -> Result<Option<&'v str>, GenError> {
    match obj.get("type") {
        None => Ok(None),
        Some(Value::String(t)) => Ok(Some(t.as_str())),
        Some(other) => {
            err(&format!("{pointer}/type"), format!("`type` must be a string in Swagger 2.0, found {other}"))
        }
    }
}

/// Boxes every field whose type directly contains (without a `Vec` or map in between) the
/// struct it belongs to, so recursive and mutually recursive types have a finite size.
fn box_recursive_fields(ir: &mut Ir) {
    let n = ir.types.len();
    // Direct-containment edges.
    let edges: Vec<Vec<usize>> = ir
        .types
        .iter()
        .map(|t| match &t.kind {
            Kind::Struct { fields, .. } => fields.iter().filter_map(|f| f.ty.direct_named()).collect(),
            Kind::Newtype(ty) => ty.direct_named().into_iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    let scc = tarjan(n, &edges);
    for i in 0..n {
        if let Kind::Struct { fields, .. } = &mut ir.types[i].kind {
            for f in fields {
                if let Some(j) = f.ty.direct_named() {
                    f.boxed = scc[j] == scc[i];
                }
            }
        }
    }
    // A newtype that directly contains itself through a cycle is boxed via its struct
    // members; newtype-only cycles (A = B, B = A) cannot be represented.
}

/// Strongly connected components (iterative Tarjan); returns the component id of each node.
pub fn tarjan(n: usize, edges: &[Vec<usize>]) -> Vec<usize> {
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_comp = 0;
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = next_index;
        low[start] = next_index;
        next_index += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (v, ref mut child)) = call.last_mut() {
            if *child < edges[v].len() {
                let w = edges[v][*child];
                *child += 1;
                if index[w] == usize::MAX {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp[w] = next_comp;
                        if w == v {
                            break;
                        }
                    }
                    next_comp += 1;
                }
            }
        }
    }
    comp
}

/// Tags the spec declares that no operation has (a published swagger cut down to a few
/// operations keeps the whole list): no module and no feature for them, and one warning.
fn warn_unused_tags(declared: &[String], used: &BTreeMap<String, BTreeSet<usize>>) {
    let unused: Vec<&str> = declared.iter().filter(|t| !used.contains_key(*t)).map(String::as_str).collect();
    if let Some(first) = unused.first() {
        let more = if unused.len() > 1 { format!(" and {} more", unused.len() - 1) } else { String::new() };
        warn(
            "#/tags",
            format!(
                "{} declared tags have no operation (`{first}`{more}): no module or feature is generated for them",
                unused.len()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ir(defs: &str) -> Result<Ir, GenError> {
        let doc = Document::parse(&format!(r#"{{"swagger":"2.0","paths":{{}},"definitions":{defs}}}"#)).unwrap();
        build(&doc)
    }

    #[test]
    fn errors_name_the_pointer() {
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"type":"file"}}}}"#).unwrap_err();
        assert_eq!(e.pointer, "#/definitions/A/properties/x");
        let e = ir(r##"{"A":{"type":"object","properties":{"x":{"$ref":"#/definitions/Missing"}}}}"##).unwrap_err();
        assert!(e.message.contains("points to no definition"), "{e}");
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"$ref":"other.json#/X"}}}}"#).unwrap_err();
        assert!(e.message.contains("unsupported reference"), "{e}");
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"type":"array"}}}}"#).unwrap_err();
        assert_eq!(e.pointer, "#/definitions/A/properties/x");
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"type":["string","null"]}}}}"#).unwrap_err();
        assert_eq!(e.pointer, "#/definitions/A/properties/x/type");
        let e = ir(r##"{"A":{"allOf":[{"$ref":"#/definitions/B"}]},"B":{"allOf":[{"$ref":"#/definitions/A"}]}}"##)
            .unwrap_err();
        assert!(e.message.contains("cycle"), "{e}");
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"type":"string","enum":[1]}}}}"#).unwrap_err();
        assert_eq!(e.pointer, "#/definitions/A/properties/x/enum/0");
        let e = ir(r#"{"A":{"type":"object","properties":{"x":{"type":"weird"}}}}"#).unwrap_err();
        assert!(e.message.contains("unknown schema type"), "{e}");
    }

    #[test]
    fn a_lone_reference_in_all_of_is_the_reference() {
        let ir = ir(r##"{"Kind":{"type":"string","enum":["a","b"]},
            "Ref.Dotted":{"type":"object","id":"urn:jsonschema:x","properties":{"id":{"type":"string"}}},
            "A":{"type":"object","properties":{
                "kind":{"description":"d","allOf":[{"$ref":"#/definitions/Kind"}]},
                "typed":{"type":"object","$ref":"#/definitions/Ref.Dotted"}}}}"##)
        .unwrap();
        let a = ir.types.iter().find(|t| t.source == "A").unwrap();
        let Kind::Struct { fields, .. } = &a.kind else { panic!("A is a struct") };
        let ty_of = |name: &str| fields.iter().find(|f| f.json == name).unwrap().ty.clone();
        let named = |source: &str| Ty::Named(ir.types.iter().position(|t| t.source == source).unwrap());
        assert_eq!(ty_of("kind"), named("Kind"), "the enum itself, not an empty struct");
        assert_eq!(ty_of("typed"), named("Ref.Dotted"));
    }

    #[test]
    fn every_broken_definition_is_reported_at_once() {
        let e = ir(r##"{"A":{"type":"object","properties":{"x":{"type":"weird"}}},
            "B":{"type":"object","properties":{"y":{"$ref":"#/definitions/Missing"}}},
            "C":{"type":"object","properties":{"z":{"type":"string"}}}}"##)
        .unwrap_err();
        assert_eq!(e.pointer, "#/definitions/A/properties/x");
        let text = e.to_string();
        assert!(
            text.contains("unknown schema type") && text.contains("1 more definitions cannot be generated"),
            "{text}"
        );
        assert!(text.contains("#/definitions/B/properties/y: reference"), "{text}");
    }

    #[test]
    fn recursion_is_boxed_only_where_needed() {
        let ir = ir(r##"{
            "A":{"type":"object","properties":{"b":{"$ref":"#/definitions/B"},"list":{"type":"array","items":{"$ref":"#/definitions/A"}}}},
            "B":{"type":"object","properties":{"a":{"$ref":"#/definitions/A"},"c":{"$ref":"#/definitions/C"}}},
            "C":{"type":"object","properties":{"me":{"$ref":"#/definitions/C"}}}}"##)
        .unwrap();
        let boxed = |t: usize| match &ir.types[t].kind {
            Kind::Struct { fields, .. } => fields.iter().map(|f| (f.json.clone(), f.boxed)).collect::<Vec<_>>(),
            _ => vec![],
        };
        assert_eq!(boxed(0), vec![("b".into(), true), ("list".into(), false)]);
        assert_eq!(boxed(1), vec![("a".into(), true), ("c".into(), false)]);
        assert_eq!(boxed(2), vec![("me".into(), true)]);
    }
}
