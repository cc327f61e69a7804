//! Every operation of the mock, called over loopback, and each 2xx answer checked against its
//! response schema by a validator of its own (not the sampler's, not the mock's request
//! check): types, `required`, enums, `pattern` (the `regex` crate), formats (chrono), lengths
//! and ranges, and no field the definition does not declare. Prints `N passed, N failed`.

use genesys_cloud::futures::{stream, StreamExt};
use genesys_cloud::transport::http::Method;
use genesys_cloud::Client;
use genesys_cloud_mock::{MockServer, Router, SPEC};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use serde_json::Value;
use std::collections::BTreeMap;

struct Validator<'a> {
    doc: &'a Document,
    patterns: std::sync::Mutex<BTreeMap<String, Option<regex::Regex>>>,
}

impl Validator<'_> {
    fn resolve<'s>(&'s self, mut schema: &'s Value) -> &'s Value {
        for _ in 0..16 {
            match schema.get("$ref").and_then(Value::as_str).and_then(|r| self.doc.resolve(r)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// Declared properties and required names, `allOf` parts merged.
    fn object_parts<'s>(
        &'s self,
        schema: &'s Value,
        props: &mut BTreeMap<&'s str, &'s Value>,
        required: &mut Vec<&'s str>,
    ) {
        for (k, v) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            props.insert(k, v);
        }
        required
            .extend(schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str));
        for part in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.object_parts(self.resolve(part), props, required);
        }
    }

    fn matches(&self, pattern: &str, s: &str) -> bool {
        let mut cache = self.patterns.lock().unwrap();
        let re = cache.entry(pattern.to_owned()).or_insert_with(|| regex::Regex::new(pattern).ok());
        re.as_ref().is_none_or(|re| re.is_match(s))
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>, depth: usize) {
        if depth > 64 || value.is_null() {
            return;
        }
        let schema = self.resolve(schema);
        let ty = schema.get("type").and_then(Value::as_str);
        let is_object = ty == Some("object")
            || (ty.is_none() && (schema.get("properties").is_some() || schema.get("allOf").is_some()));
        let fail = |out: &mut Vec<String>, what: String| out.push(format!("{at}: {what}"));
        match (ty, value) {
            (Some("string"), Value::String(s)) => {
                if let Some(values) = schema.get("enum").and_then(Value::as_array) {
                    if !values.iter().any(|v| v.as_str() == Some(s)) {
                        fail(out, format!("{s:?} is not one of the enum"));
                    }
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
                    if !self.matches(p, s) {
                        fail(out, format!("{s:?} does not match {p}"));
                    }
                }
                let ok = match schema.get("format").and_then(Value::as_str) {
                    Some("date-time") => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
                    Some("date") => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok(),
                    Some("uuid") => s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-'),
                    _ => true,
                };
                if !ok {
                    fail(out, format!("{s:?} is not a {}", schema["format"]));
                }
                let len = s.chars().count() as u64;
                if schema.get("minLength").and_then(Value::as_u64).is_some_and(|m| len < m)
                    || schema.get("maxLength").and_then(Value::as_u64).is_some_and(|m| len > m)
                {
                    fail(out, format!("{s:?} has a length out of range"));
                }
            }
            (Some("integer"), v) if v.is_i64() || v.is_u64() => self.range(schema, v, at, out),
            (Some("number"), Value::Number(_)) => self.range(schema, value, at, out),
            (Some("boolean"), Value::Bool(_)) => {}
            (Some("array"), Value::Array(items)) => {
                let item = schema.get("items").unwrap_or(&Value::Null);
                for (i, v) in items.iter().enumerate() {
                    self.check(item, v, &format!("{at}[{i}]"), out, depth + 1);
                }
            }
            (_, Value::Object(obj)) if is_object => {
                let (mut props, mut required) = (BTreeMap::new(), Vec::new());
                self.object_parts(schema, &mut props, &mut required);
                let extra = schema.get("additionalProperties");
                for name in required {
                    if !obj.contains_key(name) {
                        fail(out, format!("required field `{name}` is missing"));
                    }
                }
                for (k, v) in obj {
                    match (props.get(k.as_str()), extra) {
                        (Some(p), _) => self.check(p, v, &format!("{at}.{k}"), out, depth + 1),
                        (None, Some(Value::Object(e))) => {
                            self.check(&Value::Object(e.clone()), v, &format!("{at}.{k}"), out, depth + 1)
                        }
                        (None, Some(Value::Bool(true))) => {}
                        (None, _) if props.is_empty() && schema.get("allOf").is_none() => {} // a free-form object
                        (None, _) => fail(out, format!("field `{k}` is not declared")),
                    }
                }
            }
            (None, _) if !is_object => {}
            (expected, v) => fail(out, format!("expected {}, found {v}", expected.unwrap_or("object"))),
        }
    }

    fn range(&self, schema: &Value, v: &Value, at: &str, out: &mut Vec<String>) {
        let n = v.as_f64().unwrap_or(0.0);
        if schema.get("minimum").and_then(Value::as_f64).is_some_and(|m| n < m)
            || schema.get("maximum").and_then(Value::as_f64).is_some_and(|m| n > m)
        {
            out.push(format!("{at}: {n} is out of range"));
        }
    }
}

/// A value for a required parameter of this type.
fn parameter_value(p: &Value) -> String {
    if let Some(first) = p["enum"].as_array().and_then(|e| e.first()).and_then(Value::as_str) {
        return first.to_owned();
    }
    if let Some(first) = p["items"]["enum"].as_array().and_then(|e| e.first()).and_then(Value::as_str) {
        return first.to_owned();
    }
    match (p["type"].as_str(), p["format"].as_str()) {
        (Some("integer" | "number"), _) => "1".into(),
        (Some("boolean"), _) => "true".into(),
        (_, Some("date-time")) => "2026-11-01T00:00:00Z".into(),
        (_, Some("date")) => "2026-11-01".into(),
        _ if p["name"] == "interval" => "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z".into(),
        _ => "mock-id".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_every_operation_matches_its_schema_strictly() {
    let mock = MockServer::start().await.unwrap();
    let doc = Document::parse(SPEC).unwrap();
    let router = Router::new(&doc);
    let client = Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("strict", "strict")
        .retry(genesys_cloud::transport::Retry::disabled())
        .build()
        .unwrap();
    let inputs = Sampler::new(&doc, SampleOptions { max_depth: 2, ..Default::default() });
    // Writes first, then reads, then deletes, one at a time: the reads answer from the state
    // the writes left (stored presences, queue members, created users), and the order is the
    // same on every run.
    let mut routes: Vec<_> =
        router.routes().iter().filter(|r| !matches!(r.method.as_str(), "HEAD" | "OPTIONS")).collect();
    routes.sort_by_key(|r| match r.method.as_str() {
        "POST" | "PUT" | "PATCH" => 0,
        "GET" => 1,
        _ => 2,
    });
    let calls: Vec<_> = routes
        .into_iter()
        .map(|route| {
            let mut path = route.template.clone();
            let mut request;
            for p in &route.params {
                if p["in"] == "path" {
                    path = path.replace(&format!("{{{}}}", p["name"].as_str().unwrap_or_default()), "mock-id");
                }
            }
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            request = client.raw().request(method, path);
            for p in route.params.iter().filter(|p| p["in"] == "query" && p["required"] == true) {
                request = request.query(p["name"].as_str().unwrap_or_default(), &parameter_value(p));
            }
            for p in route.params.iter().filter(|p| p["in"] == "header" && p["required"] == true) {
                request = request.with_header(p["name"].as_str().unwrap_or_default(), parameter_value(p));
            }
            if let Some((schema, _)) = &route.body {
                let body = inputs.schema(schema, &format!("#/paths/{}/body", route.id), 0).unwrap_or(Value::Null);
                request = request.json(&body);
            }
            let response = route.response.clone();
            let id = route.id.clone();
            async move { (id, response, request.send_json_with_response::<Value>().await) }
        })
        .collect();
    let results: Vec<_> = stream::iter(calls).buffered(1).collect().await;
    let validator = Validator { doc: &doc, patterns: Default::default() };
    let (mut passed, mut failed, mut refused) = (0, Vec::new(), BTreeMap::<u16, usize>::new());
    for (id, pointer, result) in results {
        match result {
            Ok(answer) => {
                let Some(pointer) = pointer else {
                    passed += 1;
                    continue;
                };
                let schema = doc.resolve(&pointer).cloned().unwrap_or(Value::Null);
                let mut problems = Vec::new();
                validator.check(&schema, &answer.value, "$", &mut problems, 0);
                if problems.is_empty() {
                    passed += 1;
                } else {
                    failed.push(format!("{id}: {} (and {} more)", problems[0], problems.len() - 1));
                }
            }
            Err(e) if e.is_decode() && pointer.is_none() => passed += 1, // no body, and none expected
            Err(e) => *refused.entry(e.status().map_or(0, |s| s.as_u16())).or_default() += 1,
        }
    }
    let mut classes = BTreeMap::<&str, usize>::new();
    for f in &failed {
        let class = [
            "is missing",
            "is not declared",
            "does not match",
            "is not one of the enum",
            "expected",
            "is not a",
            "out of range",
        ]
        .into_iter()
        .find(|c| f.contains(c))
        .unwrap_or("other");
        *classes.entry(class).or_default() += 1;
    }
    for f in failed.iter().take(40) {
        println!("{f}");
    }
    println!("failures by kind: {classes:?}");
    println!("{passed} passed, {} failed; not answered 2xx: {refused:?}", failed.len());
    assert!(failed.is_empty(), "{} answers do not match their schema", failed.len());
}
