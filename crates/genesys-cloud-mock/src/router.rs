//! Every operation of the spec, found by method and path template.

use genesys_cloud_spec::{escape_pointer, Document};
use serde_json::Value;

/// One operation as the mock needs it.
#[derive(Debug, Clone)]
pub struct Route {
    /// `operationId`.
    pub id: String,
    /// Upper-case method.
    pub method: String,
    /// The path template.
    pub template: String,
    segments: Vec<Segment>,
    /// Non-body parameters (resolved).
    pub params: Vec<Value>,
    /// The body schema, when the operation takes one, and whether it is required.
    pub body: Option<(Value, bool)>,
    /// The pointer of the 2xx response schema, if any.
    pub response: Option<String>,
    /// Whether a bearer token is required.
    pub secured: bool,
    /// The media types the operation produces (the spec's `produces`, else the document's).
    pub produces: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

impl Route {
    fn literal_count(&self) -> usize {
        self.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count()
    }

    /// The path parameters of `path`, when it matches this template.
    fn matches(&self, parts: &[&str]) -> Option<Vec<(String, String)>> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(l) if l == part => {}
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), percent_decode(part))),
            }
        }
        Some(params)
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A matched route with its decoded path parameters.
pub type Matched<'a> = (&'a Route, Vec<(String, String)>);

/// All routes, most specific first.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Reads every operation of the document.
    pub fn new(doc: &Document) -> Self {
        let mut routes = Vec::new();
        for (path, item) in doc.root()["paths"].as_object().into_iter().flatten() {
            let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for (method, op) in item.as_object().into_iter().flatten() {
                if !["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                    continue;
                }
                let pointer = format!("#/paths/{}/{method}", escape_pointer(path));
                let mut params = Vec::new();
                let mut body = None;
                for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten().chain(shared.iter()) {
                    let p = match p.get("$ref").and_then(Value::as_str) {
                        Some(r) => doc.resolve(r).cloned().unwrap_or(Value::Null),
                        None => p.clone(),
                    };
                    if p["in"] == "body" {
                        body = Some((p["schema"].clone(), p["required"].as_bool().unwrap_or(false)));
                    } else if !params.iter().any(|q: &Value| q["name"] == p["name"] && q["in"] == p["in"]) {
                        params.push(p);
                    }
                }
                let mut codes: Vec<&String> = op["responses"]
                    .as_object()
                    .map(|r| r.keys().filter(|k| k.starts_with('2')).collect())
                    .unwrap_or_default();
                codes.sort();
                let response = codes
                    .first()
                    .filter(|c| op["responses"][c.as_str()].get("schema").is_some())
                    .map(|c| format!("{pointer}/responses/{c}/schema"));
                let segments = path
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_owned()),
                        None => Segment::Literal(s.to_owned()),
                    })
                    .collect();
                routes.push(Route {
                    id: op["operationId"].as_str().unwrap_or_default().to_owned(),
                    method: method.to_uppercase(),
                    template: path.clone(),
                    segments,
                    params,
                    body,
                    response,
                    secured: op.get("security").and_then(Value::as_array).is_some_and(|a| !a.is_empty()),
                    produces: op
                        .get("produces")
                        .or_else(|| doc.root().get("produces"))
                        .and_then(Value::as_array)
                        .map(|p| p.iter().filter_map(|t| t.as_str().map(str::to_ascii_lowercase)).collect())
                        .unwrap_or_default(),
                });
            }
        }
        // Literal segments beat parameters: `/users/me` before `/users/{userId}`.
        routes.sort_by(|a, b| b.literal_count().cmp(&a.literal_count()).then(a.template.cmp(&b.template)));
        Self { routes }
    }

    /// Every route, most specific first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route of a request, with its path parameters; `Err(true)` when the path exists
    /// with another method (405), `Err(false)` when nothing matches (404).
    pub fn find(&self, method: &str, path: &str) -> Result<Matched<'_>, bool> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut path_exists = false;
        for route in &self.routes {
            if let Some(params) = route.matches(&parts) {
                if route.method == method {
                    return Ok((route, params));
                }
                path_exists = true;
            }
        }
        Err(path_exists)
    }
}
