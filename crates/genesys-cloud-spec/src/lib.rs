//! A small reader for Swagger 2.0 documents and a generator of schema-valid sample JSON.
//!
//! The sampler works on the raw JSON of the spec, independently of the code generator, so the
//! generated models can be tested against it: a model that drops, renames or mistypes a field
//! fails the round trip of a sample made here.

pub mod jobs;

use serde_json::{Map, Value};
use std::fmt;

/// A parsed Swagger 2.0 document.
#[derive(Debug, Clone)]
pub struct Document {
    root: Value,
}

/// Why a document could not be read.
#[derive(Debug)]
pub enum SpecError {
    /// The text is not JSON.
    Json(serde_json::Error),
    /// The JSON is not a Swagger 2.0 document.
    NotSwagger2(String),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Json(e) => write!(f, "the spec is not valid JSON: {e}"),
            SpecError::NotSwagger2(why) => write!(f, "not a Swagger 2.0 document: {why}"),
        }
    }
}

impl std::error::Error for SpecError {}

impl Document {
    /// Parses a Swagger 2.0 document from JSON text.
    pub fn parse(text: &str) -> Result<Self, SpecError> {
        let root: Value = serde_json::from_str(text).map_err(SpecError::Json)?;
        Self::from_value(root)
    }

    /// Wraps an already parsed JSON value, checking that it is Swagger 2.0.
    pub fn from_value(root: Value) -> Result<Self, SpecError> {
        match root.get("swagger") {
            Some(Value::String(v)) if v == "2.0" => Ok(Self { root }),
            Some(other) => Err(SpecError::NotSwagger2(format!("/swagger is {other}, expected \"2.0\""))),
            None => Err(SpecError::NotSwagger2("/swagger is missing".into())),
        }
    }

    /// The whole document.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// The `definitions` object (empty when absent).
    pub fn definitions(&self) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.root.get("definitions").and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// One definition by name.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.definitions().get(name)
    }

    /// Resolves a local reference such as `#/definitions/User` (JSON pointer escapes honoured).
    pub fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }
}

/// Which enum values the sampler writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumChoice {
    /// A value from the enum, chosen deterministically from the property's location.
    Known,
    /// A value that is in no enum: [`UNKNOWN_STRING`] or [`UNKNOWN_INTEGER`].
    Unknown,
}

/// The string the sampler writes for enums in [`EnumChoice::Unknown`] mode.
pub const UNKNOWN_STRING: &str = "SAMPLE_VALUE_NOT_IN_ENUM";
/// The integer the sampler writes for integer enums in [`EnumChoice::Unknown`] mode.
pub const UNKNOWN_INTEGER: i64 = 987_654_321;

/// Options of a [`Sampler`].
#[derive(Debug, Clone, Copy)]
pub struct SampleOptions {
    /// How many `$ref` hops deep objects are filled; deeper references are left out.
    pub max_depth: usize,
    /// Which enum values to write.
    pub enums: EnumChoice,
    /// Mixed into every deterministic choice: the same seed gives the same samples.
    pub seed: u64,
    /// Adds [`UNDECLARED_FIELD`] to every object that declares its properties and no
    /// `additionalProperties`, at every level: a field from a newer API than the spec, for
    /// tests that such fields survive a round trip.
    pub undeclared_fields: bool,
}

impl Default for SampleOptions {
    fn default() -> Self {
        Self { max_depth: 3, enums: EnumChoice::Known, seed: 0, undeclared_fields: false }
    }
}

/// The name of the field [`SampleOptions::undeclared_fields`] adds.
pub const UNDECLARED_FIELD: &str = "fieldNotInTheSpec";

/// The value of the field [`SampleOptions::undeclared_fields`] adds: nested, with a `null`.
pub fn undeclared_value() -> Value {
    serde_json::json!({"nested": [1, {"deeper": null}], "flag": true})
}

/// Makes sample JSON for the schemas of a [`Document`]: every property populated (down to
/// [`SampleOptions::max_depth`] references), values in their declared format and range.
#[derive(Debug, Clone, Copy)]
pub struct Sampler<'a> {
    doc: &'a Document,
    options: SampleOptions,
}

/// Sample values written for each string format; they are in canonical form, so a typed
/// round trip gives back the same text.
pub fn sample_string(format: Option<&str>) -> &'static str {
    match format {
        Some("date-time") => "2024-05-06T07:08:09.123Z",
        Some("date") => "2024-05-06",
        Some("local-date-time") => "2024-05-06T07:08:09.123",
        Some("year-month") => "2024-05",
        Some("byte") => "aGVsbG8gZ2VuZXN5cw==",
        Some("uuid") => "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        Some("uri") | Some("url") => "https://example.com/sample",
        Some("email") => "sample@example.com",
        _ => "sample",
    }
}

impl<'a> Sampler<'a> {
    /// A sampler over `doc`.
    pub fn new(doc: &'a Document, options: SampleOptions) -> Self {
        Self { doc, options }
    }

    /// A sample of the named definition, or `None` when there is no such definition.
    pub fn definition(&self, name: &str) -> Option<Value> {
        let schema = self.doc.definition(name)?;
        self.schema(schema, &format!("#/definitions/{name}"), 0)
    }

    /// A sample of the schema at a local JSON pointer (`#/definitions/User`,
    /// `#/paths/~1api~1v2~1things/post/parameters/0/schema`).
    pub fn at_pointer(&self, pointer: &str) -> Option<Value> {
        let schema = self.doc.resolve(pointer)?;
        self.schema(schema, pointer, 0)
    }

    /// A sample of any schema; `location` seeds the enum choice, `depth` counts `$ref` hops.
    /// `None` when the schema lies deeper than the options allow. Past that depth, a field its
    /// object requires is still written, with only its own required fields (so every sample
    /// has every required field, however deep).
    pub fn schema(&self, schema: &Value, location: &str, depth: usize) -> Option<Value> {
        self.sample(schema, location, depth, false)
    }

    /// How far past `max_depth` required fields are still followed (a cycle of required
    /// references ends here).
    const REQUIRED_DEPTH: usize = 12;

    fn sample(&self, schema: &Value, location: &str, depth: usize, required: bool) -> Option<Value> {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let limit = if required { self.options.max_depth + Self::REQUIRED_DEPTH } else { self.options.max_depth };
            if depth >= limit {
                return None;
            }
            let target = self.doc.resolve(reference)?;
            return self.sample(target, reference, depth + 1, required);
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            return Some(self.enum_value(schema, values, location));
        }
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            // A lone reference with a description: the reference's value (an enum, say).
            let own = schema.get("properties").is_some() || schema.get("additionalProperties").is_some();
            if let ([part], false) = (parts.as_slice(), own) {
                if part.get("$ref").is_some() {
                    return self.sample(part, &format!("{location}/allOf/0"), depth, required);
                }
            }
            let mut merged = Map::new();
            for (i, part) in parts.iter().enumerate() {
                if let Some(Value::Object(obj)) = self.sample(part, &format!("{location}/allOf/{i}"), depth, required) {
                    merged.extend(obj);
                }
            }
            if schema.get("properties").is_some() || schema.get("additionalProperties").is_some() {
                if let Some(Value::Object(own)) = self.object(schema, location, depth) {
                    merged.extend(own);
                }
            }
            return Some(Value::Object(merged));
        }
        let ty = schema.get("type").and_then(Value::as_str);
        let format = schema.get("format").and_then(Value::as_str);
        Some(match ty {
            Some("string") => Value::String(self.string(schema, format, location)),
            Some("integer") => Value::from(clamp_i64(schema, 42)),
            Some("number") => clamp_f64(schema, 1.5),
            Some("boolean") => Value::Bool(true),
            Some("array") => {
                let items = schema.get("items")?;
                // An empty array is a whole value: items past the depth are left out.
                match self.sample(items, &format!("{location}/items"), depth, false) {
                    Some(v) => Value::Array(vec![v]),
                    None => Value::Array(Vec::new()),
                }
            }
            Some("object") | None => return self.object(schema, location, depth),
            Some(_) => Value::String("sample".into()),
        })
    }

    fn object(&self, schema: &Value, location: &str, depth: usize) -> Option<Value> {
        let mut out = Map::new();
        let props = schema.get("properties").and_then(Value::as_object);
        let required: Vec<&str> =
            schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
        // Past the depth, only what the object requires.
        let minimal = depth > self.options.max_depth;
        if let Some(props) = props {
            for (name, prop) in props {
                let needed = required.contains(&name.as_str());
                if minimal && !needed {
                    continue;
                }
                let at = format!("{location}/properties/{}", escape_pointer(name));
                if let Some(v) = self.sample(prop, &at, depth, needed) {
                    out.insert(name.clone(), v);
                }
            }
        }
        if minimal {
            return Some(Value::Object(out));
        }
        match schema.get("additionalProperties") {
            Some(Value::Object(extra)) if !extra.is_empty() => {
                if let Some(v) =
                    self.schema(&Value::Object(extra.clone()), &format!("{location}/additionalProperties"), depth)
                {
                    out.insert("sampleKey".into(), v);
                }
            }
            Some(Value::Object(_)) | Some(Value::Bool(true)) => {
                out.insert("sampleKey".into(), Value::String("sample".into()));
            }
            _ if props.is_none() => {
                // A free-form object: any JSON object is valid.
                out.insert("anyKey".into(), Value::String("any value".into()));
            }
            Some(Value::Bool(false)) => {}
            _ if self.options.undeclared_fields => {
                out.insert(UNDECLARED_FIELD.into(), undeclared_value());
            }
            _ => {}
        }
        Some(Value::Object(out))
    }

    fn string(&self, schema: &Value, format: Option<&str>, location: &str) -> String {
        // A format's canonical sample stands (it is what the typed field writes back).
        let pattern = schema.get("pattern").and_then(Value::as_str).filter(|_| format.is_none());
        if let Some(s) = pattern.and_then(|p| self.matching(p, location)) {
            return s;
        }
        let mut s = sample_string(format).to_owned();
        if format.is_none() {
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            let max = schema.get("maxLength").and_then(Value::as_u64).map(|m| m as usize);
            while s.len() < min {
                s.push('x');
            }
            if let Some(max) = max {
                s.truncate(max.max(min));
            }
        }
        s
    }

    /// A string that matches `pattern` (the whole string, anchored or not), drawn from an RNG
    /// seeded by the location and the seed; `None` for a pattern that cannot be sampled.
    fn matching(&self, pattern: &str, location: &str) -> Option<String> {
        use rand::{Rng, SeedableRng};
        let body = pattern.strip_prefix('^').unwrap_or(pattern);
        let body = body.strip_suffix('$').filter(|b| !b.ends_with('\\')).unwrap_or(body);
        let regex = rand_regex::Regex::compile(body, 8).ok()?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(fnv1a(location) ^ self.options.seed);
        Some(rng.sample::<String, _>(&regex))
    }

    fn enum_value(&self, schema: &Value, values: &[Value], location: &str) -> Value {
        let integer = schema.get("type").and_then(Value::as_str) == Some("integer");
        match self.options.enums {
            EnumChoice::Unknown if integer => Value::from(UNKNOWN_INTEGER),
            EnumChoice::Unknown => Value::String(UNKNOWN_STRING.into()),
            EnumChoice::Known if values.is_empty() => Value::String("sample".into()),
            EnumChoice::Known => values[((fnv1a(location) ^ self.options.seed) % values.len() as u64) as usize].clone(),
        }
    }
}

fn clamp_i64(schema: &Value, preferred: i64) -> i64 {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let mut v = preferred;
    if let Some(max) = max {
        v = v.min(max.floor() as i64);
    }
    if let Some(min) = min {
        v = v.max(min.ceil() as i64);
    }
    v
}

fn clamp_f64(schema: &Value, preferred: f64) -> Value {
    let min = schema.get("minimum").and_then(Value::as_f64);
    let max = schema.get("maximum").and_then(Value::as_f64);
    let mut v = preferred;
    if let Some(max) = max {
        v = v.min(max);
    }
    if let Some(min) = min {
        v = v.max(min);
    }
    serde_json::Number::from_f64(v).map(Value::Number).unwrap_or(Value::from(0))
}

/// Escapes a name for use inside a JSON pointer (`~` → `~0`, `/` → `~1`).
pub fn escape_pointer(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

/// A stable 64-bit FNV-1a hash, for deterministic choices.
pub fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Document {
        Document::parse(
            r##"{"swagger":"2.0","definitions":{
                "A":{"type":"object","properties":{
                    "$ref":{"type":"string"},
                    "n":{"type":"integer","minimum":50},
                    "e":{"type":"string","enum":["x","y"]},
                    "self":{"$ref":"#/definitions/A"},
                    "when":{"type":"string","format":"date-time"}}}}}"##,
        )
        .unwrap()
    }

    #[test]
    fn samples_every_property_within_limits() {
        let d = doc();
        let v = Sampler::new(&d, SampleOptions { max_depth: 2, enums: EnumChoice::Known, ..Default::default() })
            .definition("A")
            .unwrap();
        assert_eq!(v["$ref"], "sample");
        assert_eq!(v["n"], 50);
        assert!(v["e"] == "x" || v["e"] == "y");
        assert_eq!(v["when"], "2024-05-06T07:08:09.123Z");
        // Recursion stops at the depth limit instead of looping.
        assert!(v["self"]["self"].is_object());
        assert!(v["self"]["self"].get("self").is_none());
    }

    #[test]
    fn unknown_mode_writes_values_outside_the_enum() {
        let d = doc();
        let v = Sampler::new(&d, SampleOptions { max_depth: 1, enums: EnumChoice::Unknown, ..Default::default() })
            .definition("A")
            .unwrap();
        assert_eq!(v["e"], UNKNOWN_STRING);
    }

    #[test]
    fn rejects_other_versions() {
        assert!(matches!(Document::parse(r#"{"openapi":"3.0.0"}"#), Err(SpecError::NotSwagger2(_))));
        assert!(matches!(Document::parse("{"), Err(SpecError::Json(_))));
    }

    #[test]
    fn patterns_are_honoured() {
        let doc = Document::parse(
            r##"{"swagger":"2.0","definitions":{"P":{"type":"object","properties":{
                "id":{"type":"string","pattern":"[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-4[a-fA-F0-9]{3}-[89abAB][a-fA-F0-9]{3}-[a-fA-F0-9]{12}"},
                "colour":{"type":"string","pattern":"^#([A-Fa-f0-9]{6}|[A-Fa-f0-9]{3})$"},
                "digits":{"type":"string","pattern":"^[0-9]*$"},
                "odd":{"type":"string","pattern":"(?=lookahead)"}}}}}"##,
        )
        .unwrap();
        for seed in 0..20 {
            let v = Sampler::new(&doc, SampleOptions { seed, ..Default::default() }).definition("P").unwrap();
            let id = v["id"].as_str().unwrap();
            let hex = |c: char| c.is_ascii_hexdigit();
            assert_eq!(id.len(), 36, "{id}");
            assert!(
                id.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { hex(c) }),
                "{id}"
            );
            assert_eq!(&id[14..15], "4", "{id}");
            let colour = v["colour"].as_str().unwrap();
            assert!(
                colour.starts_with('#') && [4, 7].contains(&colour.len()) && colour[1..].chars().all(hex),
                "{colour}"
            );
            assert!(v["digits"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()));
            // A pattern the generator cannot sample falls back to the plain sample.
            assert_eq!(v["odd"], "sample");
        }
    }
}
