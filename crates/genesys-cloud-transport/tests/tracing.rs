//! `tracing`: with a subscriber, each call is a span holding its attempts and the token
//! request. Its own test binary: `tracing` caches per-callsite interest process-wide, and a
//! test on another thread registering the same callsites with no subscriber would race it.

#[path = "transport/common.rs"]
#[allow(dead_code)]
mod common;
use common::{serve, Reply};

use genesys_cloud_auth::{ClientCredentials, Grant, Secret};
use genesys_cloud_core::http::Method;
use genesys_cloud_core::{execute, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, Retry, Transport};
use std::sync::Arc;
/// The metadata of the spans seen, for `current_span`.
static CALL_META: std::sync::Mutex<Vec<&'static tracing::Metadata<'static>>> = std::sync::Mutex::new(Vec::new());

/// A `tracing` subscriber that records span names and events with the span they happened in.
#[derive(Default)]
struct Recorder {
    next: std::sync::atomic::AtomicU64,
    spans: std::sync::Mutex<Vec<(u64, &'static str, String)>>,
    stack: std::sync::Mutex<Vec<u64>>,
    /// (message, operation field, name of the innermost entered span)
    events: std::sync::Mutex<Vec<(String, String, Option<&'static str>)>>,
}

#[derive(Default)]
struct Fields {
    message: String,
    operation: String,
}

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "operation" => self.operation = format!("{value:?}"),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            "operation" => self.operation = value.to_owned(),
            _ => {}
        }
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        self.spans.lock().unwrap().push((id, attrs.metadata().name(), fields.operation));
        CALL_META.lock().unwrap().push(attrs.metadata());
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let inner = self.stack.lock().unwrap().last().copied();
        let name = inner.and_then(|id| self.spans.lock().unwrap().iter().find(|s| s.0 == id).map(|s| s.1));
        self.events.lock().unwrap().push((fields.message, fields.operation, name));
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.stack.lock().unwrap().push(span.into_u64());
    }
    // As real subscribers do (tracing-subscriber's registry): `Span::current()` works, so work
    // handed to another task (the token request) can stay in the span that started it.
    fn current_span(&self) -> tracing_core::span::Current {
        let inner = self.stack.lock().unwrap().last().copied();
        let spans = self.spans.lock().unwrap();
        let found = inner.and_then(|id| spans.iter().find(|s| s.0 == id).map(|s| (id, s.1)));
        let meta =
            found.and_then(|(id, name)| CALL_META.lock().unwrap().iter().find(|m| m.name() == name).map(|m| (id, *m)));
        match meta {
            Some((id, meta)) => tracing_core::span::Current::new(tracing::span::Id::from_u64(id), meta),
            None => tracing_core::span::Current::none(),
        }
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.stack.lock().unwrap().pop();
    }
}

#[tokio::test]
async fn with_a_subscriber_each_call_is_a_span_holding_its_attempts_and_the_token_request() {
    let recorder = Arc::new(Recorder::default());
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let server = serve(Arc::new(|_, path, _, _| match path {
        "/oauth/token" => Reply::ok(r#"{"access_token":"tok","expires_in":3600}"#),
        _ => Reply::ok(r#"{"name":"x"}"#),
    }))
    .await;
    let grant = Grant::Saml2Bearer {
        client: ClientCredentials::new("client-id", "client-secret"),
        org_name: "acme".into(),
        assertion: Secret::new("assertion"),
    };
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&server.base()).unwrap())
        .grant(grant)
        .retry(Retry::disabled())
        .build()
        .unwrap();
    let parts = RequestParts::new(OperationMeta::raw(&Method::GET).unwrap(), "/api/v2/things".into());
    execute(&t, parts).await.unwrap();
    let spans = recorder.spans.lock().unwrap().clone();
    assert_eq!(spans.iter().filter(|s| s.1 == "genesys_cloud.call").count(), 1, "{spans:?}");
    let events = recorder.events.lock().unwrap().clone();
    let attempts: Vec<_> = events.iter().filter(|e| e.0 == "http attempt").collect();
    assert_eq!(attempts.len(), 2, "the token request and the call: {events:?}");
    assert!(attempts.iter().all(|e| e.2 == Some("genesys_cloud.call")), "inside the call's span: {events:?}");
    assert!(attempts.iter().any(|e| e.1 == genesys_cloud_auth::TOKEN_OPERATION.operation_id), "{events:?}");
}
