//! The facade as a user drives it, over an in-process HTTP service that plays the API (in
//! place of hyper: the SDK's layers run around it).

use futures_util::TryStreamExt;
use genesys_cloud::transport::http::{self, Method, StatusCode};
use genesys_cloud::transport::Body;
use genesys_cloud::{Client, ErrorKind};
use std::sync::{Arc, Mutex};

/// Answers by path; records every request.
#[derive(Default)]
struct FakeApi {
    seen: Mutex<Vec<http::Request<Body>>>,
}

impl FakeApi {
    fn answer(&self, request: http::Request<Body>) -> http::Response<Body> {
        let uri = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
        self.seen.lock().unwrap().push(request);
        let uri = uri.clone();
        let path = request_path(&uri);
        let (status, body): (u16, String) = match uri.as_str() {
            _ if path == "/api/v2/users/u-bad" => {
                (200, r#"{"id":"u-bad","images":[{"resolution":"x96","imageUri":"u"},{"resolution":96}]}"#.into())
            }
            _ if path == "/api/v2/users/me" => {
                (200, r#"{"id":"u-1","name":"Ann","state":"brand-new-state","version":3}"#.into())
            }
            u if u.starts_with("/api/v2/users/missing") => {
                (404, r#"{"message":"User not found","code":"not.found","status":404,"contextId":"ctx-1"}"#.into())
            }
            u if u.starts_with("/api/v2/routing/queues") => {
                let page: i64 = u
                    .split("pageNumber=")
                    .nth(1)
                    .and_then(|s| s.split('&').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1);
                let names: Vec<String> =
                    (0..2).map(|i| format!(r#"{{"name":"queue-{}"}}"#, (page - 1) * 2 + i)).collect();
                (
                    200,
                    format!(
                        r#"{{"entities":[{}],"pageNumber":{page},"pageSize":2,"pageCount":3,"total":6}}"#,
                        names.join(",")
                    ),
                )
            }
            "/api/v2/custom/thing?flag=on" => (200, r#"{"anything":[1,2]}"#.into()),
            _ => (500, "<html>unexpected</html>".into()),
        };
        let mut response = http::Response::new(Body::from(body));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        response.headers_mut().insert("inin-correlation-id", http::HeaderValue::from_static("corr-42"));
        response
    }
}

fn request_path(uri: &str) -> &str {
    uri.split('?').next().unwrap_or(uri)
}

fn client() -> (Client, Arc<FakeApi>) {
    let api = Arc::new(FakeApi::default());
    let plays = api.clone();
    let service =
        tower::service_fn(move |req| std::future::ready(Ok::<_, std::convert::Infallible>(plays.answer(req))));
    (Client::builder().access_token("fake-token").http_service(service).build().unwrap(), api)
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

#[test]
fn the_client_is_cheap_to_clone_and_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync::<Client>();
    let (a, api) = client();
    let b = a.clone();
    drop(a);
    // The clone shares the stack (executor, tokens, configuration): its calls go where the
    // original's did, also once the original is gone.
    block_on(b.users().get_users_me().send()).unwrap();
    assert_eq!(api.seen.lock().unwrap().len(), 1);
    assert_eq!(Arc::strong_count(&api), 2, "one stack for both handles, not a copy");
    assert!(Client::builder().base_url("ftp://nowhere").build().is_err(), "a bad base URL is an error, not a panic");
}

#[test]
fn typed_call_with_an_unknown_enum_value() {
    let (client, api) = client();
    let me = block_on(client.users().get_users_me().expand(["presence", "authorization"]).send()).unwrap();
    assert_eq!(me.name.as_deref(), Some("Ann"));
    assert_eq!(me.state.as_ref().map(|s| s.as_str()), Some("brand-new-state"));
    let seen = api.seen.lock().unwrap();
    let request = &seen[0];
    assert_eq!(request.method(), Method::GET);
    assert_eq!(request.uri(), "https://api.mypurecloud.com/api/v2/users/me?expand=presence&expand=authorization");
    assert_eq!(request.headers()["authorization"], "Bearer fake-token");
    assert_eq!(request.headers()["accept"], "application/json");
    let meta = genesys_cloud::transport::CallContext::of(request).and_then(|c| c.operation).unwrap();
    assert_eq!(meta.operation_id, "getUsersMe");
    assert!(meta.idempotent && meta.needs_auth);
}

#[test]
fn response_metadata_and_per_call_options() {
    let (client, api) = client();
    let response = block_on(
        client
            .users()
            .get_users_me()
            .with_header("X-Trace", "t-1")
            .with_timeout(std::time::Duration::from_secs(3))
            .without_retry()
            .send_with_response(),
    )
    .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.correlation_id(), Some("corr-42"));
    let seen = api.seen.lock().unwrap();
    assert_eq!(seen[0].headers()["x-trace"], "t-1");
    let context = genesys_cloud::transport::CallContext::of(&seen[0]).unwrap();
    let options = context.options.as_deref().unwrap();
    assert_eq!(options.timeout, Some(std::time::Duration::from_secs(3)));
    assert_eq!(options.retry.and_then(|r| r.max_attempts), Some(1));
}

#[test]
fn api_errors_are_typed_with_the_correlation_id() {
    let (client, _) = client();
    let err = block_on(client.users().get_user("missing").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Api);
    assert!(err.is_not_found());
    assert_eq!(err.correlation_id(), Some("corr-42"));
    assert_eq!(err.api_error().unwrap().code.as_deref(), Some("not.found"));
    assert_eq!(err.operation(), Some("getUser"));
}

#[test]
fn bad_input_is_a_build_error_and_nothing_is_sent() {
    let (client, api) = client();
    // A required query parameter left unset.
    let err = block_on(client.users().get_user_customattributes_bulk("u-1").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    assert!(err.to_string().contains("missing required parameter `schemaIds`"), "{err}");
    // An empty path parameter would call another endpoint.
    let err = block_on(client.users().get_user("").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    // A header that cannot be sent.
    let err = block_on(client.users().get_users_me().with_header("bad header", "v").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    assert!(api.seen.lock().unwrap().is_empty());
}

#[test]
fn path_parameters_are_percent_encoded() {
    let (client, api) = client();
    let _ = block_on(client.users().get_user("../../admin?x=1").send());
    assert_eq!(api.seen.lock().unwrap()[0].uri().path(), "/api/v2/users/..%2F..%2Fadmin%3Fx%3D1");
}

#[test]
fn listings_are_lazy_streams() {
    let (client, api) = client();
    let names: Vec<String> = block_on(
        client
            .routing()
            .get_routing_queues()
            .page_size(2)
            .into_paginator()
            .items()
            .map_ok(|q| q.name.unwrap_or_default())
            .try_collect(),
    )
    .unwrap();
    assert_eq!(names, ["queue-0", "queue-1", "queue-2", "queue-3", "queue-4", "queue-5"]);
    assert_eq!(api.seen.lock().unwrap().len(), 3, "one request per page, none past pageCount");
}

/// `try_next()` is the listing's own (no trait import), and the pages come with their
/// status, headers, correlation id and attempt count when asked.
#[test]
fn pages_with_their_metadata_and_try_next_without_imports() {
    let (client, _api) = client();
    block_on(async {
        let mut pages = client.routing().get_routing_queues().page_size(2).into_paginator().pages_with_response();
        let mut numbers = Vec::new();
        while let Some(page) = pages.try_next().await.unwrap() {
            assert_eq!(page.status, StatusCode::OK);
            assert_eq!(page.correlation_id(), Some("corr-42"));
            assert_eq!(page.attempts(), 1);
            numbers.push(page.value.page_number.unwrap());
        }
        assert_eq!(numbers, [1, 2, 3]);
    });
}

#[test]
fn raw_calls_any_path_but_only_on_the_api_host() {
    let (client, api) = client();
    let value: serde_json::Value =
        block_on(client.raw().request(Method::GET, "/api/v2/custom/thing").query("flag", "on").send_json()).unwrap();
    assert_eq!(value["anything"][1], 2);
    let err =
        block_on(client.raw().request(Method::GET, "https://evil.example/steal").send_json::<serde_json::Value>())
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    let err = block_on(client.raw().request(Method::GET, "//evil.example/steal").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Build);
    assert_eq!(api.seen.lock().unwrap().len(), 1);
}

#[test]
fn two_clients_do_not_share_state() {
    let (a, api_a) = client();
    let (b, api_b) = client();
    block_on(a.users().get_users_me().send()).unwrap();
    block_on(b.users().get_users_me().send()).unwrap();
    block_on(b.users().get_users_me().send()).unwrap();
    assert_eq!(api_a.seen.lock().unwrap().len(), 1);
    assert_eq!(api_b.seen.lock().unwrap().len(), 2);
}

#[test]
fn a_success_body_that_does_not_decode_keeps_the_response() {
    let (client, _) = client();
    let err = block_on(client.raw().request(Method::GET, "/api/v2/users/me").send_json::<Vec<u8>>()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.status(), Some(StatusCode::OK));
    assert_eq!(err.correlation_id(), Some("corr-42"));
    assert!(err.body_excerpt().unwrap().contains("Ann"));
}

#[test]
fn a_decode_error_names_the_json_path_of_the_value() {
    let (client, _) = client();
    // A generated model, decoded in place: the second image's resolution is a number.
    let err = block_on(client.users().get_user("u-bad").send()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Decode);
    assert_eq!(err.decode_path(), Some("images[1].resolution"), "{err}");
    assert!(err.to_string().contains("at `images[1].resolution`: invalid type: integer `96`"), "{err}");
    // Any other type, through the raw escape hatch.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Me {
        state: u8,
    }
    let err = block_on(client.raw().request(Method::GET, "/api/v2/users/me").send_json::<Me>()).unwrap_err();
    assert_eq!(err.decode_path(), Some("state"), "{err}");
}

/// Each client built from a configuration handle listens to its reloads; dropping the client
/// removes its listener (and so frees its token cache and settings): 1,000 clients built and
/// dropped leave none.
#[test]
fn a_dropped_client_removes_its_configuration_listener() {
    let handle = genesys_cloud::config::ConfigHandle::fixed(genesys_cloud::config::Config::default());
    for _ in 0..1000 {
        let client = Client::builder().config(handle.clone()).access_token("fake-token").build().unwrap();
        drop(client);
    }
    assert_eq!(handle.listener_count(), 0);
    let client = Client::builder().config(handle.clone()).access_token("fake-token").build().unwrap();
    let clone = client.clone();
    drop(client);
    assert_eq!(handle.listener_count(), 1, "a clone keeps the client, and its listener, alive");
    drop(clone);
    assert_eq!(handle.listener_count(), 0);
}
