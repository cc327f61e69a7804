//! Operations without a network: build requests with the generated builders and look at what
//! would be sent, then run calls through an in-process HTTP service that plays the API (the
//! SDK's layers, tokens and retries run around it as they would around hyper).
//!
//! Run with `cargo run -p genesys-cloud-examples --example operations`.

use genesys_cloud::transport::http;
use genesys_cloud::transport::Body;
use genesys_cloud::Client;

/// Answers `GET /api/v2/users/me` and routing queue pages; 404 for anything else.
fn local_api(request: http::Request<Body>) -> http::Response<String> {
    {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or("").to_owned();
        let (status, body) = match path.as_str() {
            "/api/v2/users/me" => {
                (200, r#"{"id":"7c1d","name":"Ann Agent","email":"ann@example.com","state":"active"}"#.to_owned())
            }
            "/api/v2/routing/queues" => {
                let page: usize = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("pageNumber="))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1);
                let entities: Vec<String> =
                    (0..3).map(|i| format!(r#"{{"id":"q{0}","name":"Queue {0}"}}"#, (page - 1) * 3 + i + 1)).collect();
                (
                    200,
                    format!(
                        r#"{{"entities":[{}],"pageNumber":{page},"pageSize":3,"pageCount":2,"total":6}}"#,
                        entities.join(",")
                    ),
                )
            }
            _ => (404, r#"{"message":"Not found here","code":"not.found","status":404}"#.to_owned()),
        };
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().insert("inin-correlation-id", http::HeaderValue::from_static("local-0001"));
        response
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let service = tower::service_fn(|req| std::future::ready(Ok::<_, std::convert::Infallible>(local_api(req))));
    let client = Client::builder().access_token("local-token").http_service(service).build()?;

    // What a call would send, without sending it.
    let parts = client.users().get_users().page_size(50).id(["a", "b c"]).state("active").build()?;
    println!("{} {}", parts.meta.method, parts.path_and_query());
    let parts = client.users().get_user("a user/with odd?chars").expand(["presence", "skills"]).build()?;
    println!(
        "{} {}  (operation {}, idempotent: {})",
        parts.meta.method,
        parts.path_and_query(),
        parts.meta.operation_id,
        parts.meta.idempotent
    );

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let me = client.users().get_users_me().send_with_response().await?;
        println!(
            "\nGET /api/v2/users/me → {} {:?} (correlation id {:?})",
            me.status,
            me.value.name,
            me.correlation_id()
        );

        let mut queues = client.routing().get_routing_queues().page_size(3).into_paginator().items();
        while let Some(q) = queues.try_next().await? {
            println!("queue {:?}", q.name.unwrap_or_default());
        }

        let err = client.users().get_user("nobody").send().await.unwrap_err();
        println!("\n{err}\n  not found: {}, retryable: {}", err.is_not_found(), err.is_retryable());
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
