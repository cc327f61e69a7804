//! Standard tower layers in the SDK's stack, as they are: tower-http's `TraceLayer` around
//! each call, tower's `ConcurrencyLimitLayer` and a second `TraceLayer` around each attempt
//! (inside the SDK's retries). Runs on `genesys-cloud-mock` (or the real cloud when
//! credentials are set); a second client replaces the HTTP client underneath with an
//! in-process double, as tests do, and the SDK's layers still run around it.
//!
//! Run with `cargo run -p genesys-cloud-examples --example custom_layer`.

use genesys_cloud::transport::http::{Request, Response};
use genesys_cloud::transport::Body;
use genesys_cloud::Client;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tower_http::trace::TraceLayer;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let calls = Arc::new(AtomicUsize::new(0));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (c, a) = (calls.clone(), attempts.clone());
        let (builder, _mock) = genesys_cloud_examples::connect().await?;
        let client = builder
            // Each logical call once: its method, URI and how long it took, retries included.
            .with_layer(
                TraceLayer::new_for_http()
                    .on_request(move |req: &Request<Body>, _: &tracing::Span| {
                        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
                        println!("call #{n}: {} {}", req.method(), req.uri());
                    })
                    .on_response(|resp: &Response<Body>, took: Duration, _: &tracing::Span| {
                        println!("  -> {} in {took:?}", resp.status());
                    }),
            )
            // At most 8 attempts on the wire at once, whatever the application spawns.
            .with_attempt_layer(tower::limit::ConcurrencyLimitLayer::new(8))
            // Every attempt: a call the SDK retries shows here once per attempt.
            .with_attempt_layer(TraceLayer::new_for_http().on_request(move |req: &Request<Body>, _: &tracing::Span| {
                a.fetch_add(1, Ordering::SeqCst);
                println!("  attempt: {} {}", req.method(), req.uri());
            }))
            .build()?;
        let me = client.users().get_users_me().send().await?;
        println!("hello, {}", me.name.unwrap_or_default());
        client.users().get_user(me.id.unwrap_or_default()).send().await?;
        let _ =
            client.raw().request(genesys_cloud::transport::http::Method::GET, "/api/v2/no-such-endpoint").send().await;
        println!(
            "the call layer saw {} calls, the attempt layer {} attempts\n",
            calls.load(Ordering::SeqCst),
            attempts.load(Ordering::SeqCst)
        );

        // The HTTP client replaced by an in-process double: tokens, headers and retries of
        // the SDK still apply around it.
        let double = tower::service_fn(|req: Request<Body>| async move {
            let agent = req.headers().get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            let body = format!(r#"{{"id":"u-1","name":"Layer Demo ({agent})","selfUri":"{}"}}"#, req.uri().path());
            Ok::<_, std::convert::Infallible>(Response::new(body))
        });
        let doubled = Client::builder().access_token("not-a-real-token").http_service(double).build()?;
        let me = doubled.users().get_users_me().send().await?;
        println!("from the double: hello, {}", me.name.unwrap_or_default());
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
