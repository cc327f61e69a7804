// The harness of the generated operations test (hand-written, shared with the golden api
// crate). It computes what each request must look like from the spec on its own, so a
// generator mistake in a path, an encoding, a query format, a header or a body shows up
// as a failure.

use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http;
use genesys_cloud_core::{BoxFuture, Error, Executor, SharedExecutor};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A path parameter value that needs percent-encoding.
pub const PATH_VALUE: &str = "id with/slash?&é";
/// A query or header value that needs percent-encoding in a query.
pub const QUERY_VALUE: &str = "a b&c=d";

pub fn date() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2024, 5, 6).unwrap()
}

pub fn date_time() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123Z").unwrap().with_timezone(&chrono::Utc)
}

pub type CaseFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(u16, String), Error>> + Send>>;
pub type Case = (&'static str, fn(&Harness) -> CaseFuture);

/// Sends a call and forgets its type: the one generic step of every case, instantiated once
/// per response type (not once per operation), which keeps the generated test quick to build.
pub fn erase<T: Send + 'static, M: genesys_cloud_core::executor::DecodeAs<T>>(
    call: genesys_cloud_core::CallWithResponse<T, M>,
) -> CaseFuture {
    Box::pin(async move { call.await.map(|r| (r.status.as_u16(), std::any::type_name::<T>().to_owned())) })
}

#[derive(Default)]
struct Exchange {
    response: Bytes,
    request: Option<http::Request<Bytes>>,
}

/// Records the request and answers with the prepared response.
struct Recorder(Mutex<Exchange>);

impl Executor for Recorder {
    fn execute(&self, request: http::Request<Bytes>) -> BoxFuture<'static, Result<http::Response<Bytes>, Error>> {
        let mut ex = self.0.lock().unwrap();
        ex.request = Some(request);
        let mut response = http::Response::new(ex.response.clone());
        response.headers_mut().insert("inin-correlation-id", http::HeaderValue::from_static("test-correlation"));
        Box::pin(async move { Ok(response) })
    }
}

struct Op {
    method: String,
    path: String,
    params: Vec<Value>,
    body: Option<Value>,
    response: Option<(String, Value)>,
    tag: String,
    pointer: String,
}

pub struct Harness {
    recorder: Arc<Recorder>,
    pub(crate) executor: SharedExecutor,
    doc: Document,
    ops: BTreeMap<String, Op>,
}

impl api_tags::Tags for Harness {
    fn executor(&self) -> SharedExecutor {
        self.executor.clone()
    }
}

/// Re-exported by the generated test as `api::Tags`.
mod api_tags {
    pub use super::super::api::Tags;
}

impl Harness {
    pub(crate) fn new(spec: &str) -> Self {
        let doc = Document::parse(spec).expect("the spec parses");
        let mut ops = BTreeMap::new();
        for (path, item) in doc.root()["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else { continue };
                let pointer = format!("#/paths/{}/{method}", genesys_cloud_spec::escape_pointer(path));
                let mut params: Vec<Value> = Vec::new();
                let mut body = None;
                for (i, p) in op.get("parameters").and_then(Value::as_array).into_iter().flatten().enumerate() {
                    let (p, at) = match p.get("$ref").and_then(Value::as_str) {
                        Some(r) => (doc.resolve(r).unwrap().clone(), r.to_owned()),
                        None => (p.clone(), format!("{pointer}/parameters/{i}")),
                    };
                    if p["in"] == "body" {
                        body = Some(Value::String(format!("{at}/schema")));
                    } else {
                        params.push(p);
                    }
                }
                for p in item.get("parameters").and_then(Value::as_array).into_iter().flatten() {
                    if !params.iter().any(|o| o["name"] == p["name"] && o["in"] == p["in"]) {
                        params.push(p.clone());
                    }
                }
                let mut codes: Vec<&String> = op["responses"].as_object().unwrap().keys().filter(|k| k.starts_with('2')).collect();
                codes.sort();
                let response = codes.first().and_then(|c| {
                    op["responses"][c.as_str()].get("schema").map(|s| (format!("{pointer}/responses/{c}/schema"), s.clone()))
                });
                let tag = op["tags"][0].as_str().unwrap_or("default").to_owned();
                ops.insert(id.to_owned(), Op { method: method.to_uppercase(), path: path.clone(), params, body, response, tag, pointer });
            }
        }
        let recorder = Arc::new(Recorder(Mutex::new(Exchange::default())));
        Self { executor: recorder.clone(), recorder, doc, ops }
    }

    pub(crate) fn tag_of(&self, op: &str) -> String {
        self.ops.get(op).map(|o| o.tag.clone()).unwrap_or_default()
    }

    fn sampler(&self) -> Sampler<'_> {
        Sampler::new(&self.doc, SampleOptions { max_depth: 2, ..Default::default() })
    }

    /// A sample body for the operation, decoded into the builder's body type.
    pub fn body<T: serde::de::DeserializeOwned>(&self, op: &str) -> T {
        // Decoded from text, as a response is: the same deserializer as the responses', so
        // the test compiles one decode per model, not two.
        let json = serde_json::to_vec(&self.body_json(op)).expect("a sample serializes");
        serde_json::from_slice(&json).expect("the sample body decodes into the body type")
    }

    fn body_json(&self, op: &str) -> Value {
        let pointer = self.ops[op].body.as_ref().and_then(Value::as_str).expect("the operation has a body");
        self.sampler().at_pointer(pointer).unwrap_or(Value::Null)
    }
}

/// Percent-encodes with the RFC 3986 unreserved set (written here independently of the SDK).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn sample_text(p: &Value) -> Vec<String> {
    // Enum parameters are sent their first value.
    if let Some(first) = p["enum"].as_array().and_then(|v| v.first()).and_then(Value::as_str) {
        return vec![first.to_owned()];
    }
    if let Some(first) = p["items"]["enum"].as_array().and_then(|v| v.first()).and_then(Value::as_str) {
        return vec![first.to_owned()];
    }
    let one = |t: &Value| -> String {
        match (t["type"].as_str(), t["format"].as_str()) {
            (Some("integer"), _) => "7".into(),
            (Some("number"), _) => "2.5".into(),
            (Some("boolean"), _) => "true".into(),
            (Some("string"), Some("date")) => "2024-05-06".into(),
            (Some("string"), Some("date-time")) => "2024-05-06T07:08:09.123Z".into(),
            _ => QUERY_VALUE.into(),
        }
    };
    if p["type"] == "array" {
        match p["items"]["type"].as_str() {
            Some("string") if p["items"].get("format").is_none() => vec![QUERY_VALUE.into(), "second".into()],
            Some("integer") => vec!["1".into(), "2".into()],
            // The generator makes an array of objects (or of arrays) one string parameter.
            Some("object" | "array") | None => vec![QUERY_VALUE.into()],
            _ => vec![],
        }
    } else {
        vec![one(p)]
    }
}

pub struct Results {
    pub(crate) passed: usize,
    pub(crate) failures: Vec<String>,
    pub(crate) per_tag: BTreeMap<String, (usize, usize)>,
}

impl Results {
    pub fn report_and_assert(&self) {
        for (tag, (ok, bad)) in &self.per_tag {
            println!("{tag}: {ok} passed, {bad} failed");
        }
        println!("{} passed, {} failed", self.passed, self.failures.len());
        assert!(self.failures.is_empty(), "{} operations failed:\n{}", self.failures.len(), self.failures.join("\n"));
    }
}

fn check(h: &Harness, id: &str, case: fn(&Harness) -> CaseFuture) -> Result<(), String> {
    let op = h.ops.get(id).ok_or("no such operation in the spec")?;
    let response = match &op.response {
        None => Bytes::new(),
        Some((ptr, schema)) if schema["type"] == "string" => Bytes::from(serde_json::to_vec(&"text").unwrap()),
        Some((ptr, _)) => Bytes::from(serde_json::to_vec(&h.sampler().at_pointer(ptr).unwrap_or(Value::Null)).unwrap()),
    };
    {
        let mut ex = h.recorder.0.lock().unwrap();
        ex.response = response;
        ex.request = None;
    }
    let outcome = futures_executor::block_on(case(h));
    let request = h.recorder.0.lock().unwrap().request.take().ok_or("nothing was sent")?;
    outcome.map_err(|e| format!("the call failed: {e}"))?;

    if request.method().as_str() != op.method {
        return Err(format!("method {} instead of {}", request.method(), op.method));
    }
    let mut path = op.path.clone();
    for p in op.params.iter().filter(|p| p["in"] == "path") {
        let first_enum = p["enum"].as_array().and_then(|v| v.first()).and_then(Value::as_str);
        let value = match p["type"].as_str() {
            // An enum path parameter is sent its first value, as a query parameter is.
            _ if first_enum.is_some() => encode(first_enum.unwrap_or_default()),
            Some("integer") => "7".to_owned(),
            _ if p["format"] == "date" => "2024-05-06".to_owned(),
            _ => encode(PATH_VALUE),
        };
        path = path.replace(&format!("{{{}}}", p["name"].as_str().unwrap()), &value);
    }
    if request.uri().path() != path {
        return Err(format!("path {} instead of {path}", request.uri().path()));
    }
    let got: Vec<(String, String)> = request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    let mut expected = Vec::new();
    for p in op.params.iter().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap().to_owned();
        let values = sample_text(p);
        if values.is_empty() {
            continue;
        }
        let sep = match p["collectionFormat"].as_str() {
            Some("multi") => None,
            Some("ssv") => Some(" "),
            Some("tsv") => Some("\t"),
            Some("pipes") => Some("|"),
            _ if p["type"] == "array" => Some(","),
            _ => None,
        };
        match sep {
            Some(sep) => expected.push((name, values.join(sep))),
            None => expected.extend(values.into_iter().map(|v| (name.clone(), v))),
        }
    }
    let mut g = got.clone();
    g.sort();
    expected.sort();
    if g != expected {
        return Err(format!("query {got:?} instead of {expected:?}"));
    }
    for p in op.params.iter().filter(|p| p["in"] == "header") {
        let name = p["name"].as_str().unwrap();
        let want = sample_text(p).join(",");
        let have = request.headers().get(name).and_then(|v| v.to_str().ok());
        if have != Some(want.as_str()) {
            return Err(format!("header {name} is {have:?} instead of {want:?}"));
        }
    }
    if op.body.is_some() {
        let sent: Value = serde_json::from_slice(request.body()).map_err(|e| format!("the body is not JSON: {e}"))?;
        let want = h.body_json(id);
        if sent != want {
            return Err(format!("body {sent} instead of {want}"));
        }
        if request.headers().get("content-type").map(|v| v.as_bytes()) != Some(b"application/json") {
            return Err("no JSON content type".into());
        }
    } else if !request.body().is_empty() {
        return Err("a body was sent for an operation without one".into());
    }
    let meta = request.extensions().get::<&'static genesys_cloud_core::OperationMeta>().ok_or("no operation metadata")?;
    if meta.operation_id != id || meta.path_template != op.path {
        return Err(format!("metadata names {} {}", meta.operation_id, meta.path_template));
    }
    let _ = &op.pointer;
    Ok(())
}

pub fn run(spec: &str, cases: Vec<Case>) -> Results {
    let h = Harness::new(spec);
    let mut results = Results { passed: 0, failures: Vec::new(), per_tag: BTreeMap::new() };
    for (id, case) in cases {
        let tag = h.ops.get(id).map(|o| o.tag.clone()).unwrap_or_default();
        let entry = results.per_tag.entry(tag).or_default();
        match check(&h, id, case) {
            Ok(()) => {
                results.passed += 1;
                entry.0 += 1;
            }
            Err(e) => {
                results.failures.push(format!("{id}: {e}"));
                entry.1 += 1;
            }
        }
    }
    results
}
