//! A custom tower layer around the SDK's stack: count calls and time them. Runs on
//! `genesys-cloud-mock` (or the real cloud when credentials are set); a second client swaps
//! the whole stack for an in-process double with `from_service`, as tests do.
//!
//! Run with `cargo run --example custom_layer`.

use genesys_cloud::core::bytes::Bytes;
use genesys_cloud::core::http::{Request, Response};
use genesys_cloud::prelude::*;
use genesys_cloud::transport::HttpService;
use genesys_cloud::{Client, Error};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::ServiceExt;

/// Counts every logical call (retries inside the SDK are not counted twice) and prints its
/// operation id and duration.
#[derive(Clone, Default)]
struct CallCounter(Arc<AtomicUsize>);

impl tower::Layer<HttpService> for CallCounter {
    type Service = HttpService;
    fn layer(&self, inner: HttpService) -> HttpService {
        let count = self.0.clone();
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Bytes>| {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let op =
                req.extensions().get::<&'static genesys_cloud::core::OperationMeta>().map_or("raw", |m| m.operation_id);
            let inner = inner.clone();
            async move {
                let started = Instant::now();
                let result = inner.oneshot(req).await;
                let status = result.as_ref().map(|r| r.status().as_u16()).unwrap_or(0);
                println!("call #{n}: {op} -> {status} in {:?}", started.elapsed());
                result
            }
        }))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        // The layer around the real stack.
        let counter = CallCounter::default();
        let (builder, _mock) = genesys_cloud_examples::connect().await?;
        let client = builder.with_layer(counter.clone()).build()?;
        let me = client.users().get_users_me().send().await?;
        println!("hello, {}", me.name.unwrap_or_default());
        client.users().get_user(me.id.unwrap_or_default()).send().await?;
        let _ = client.raw().request(genesys_cloud::core::http::Method::GET, "/api/v2/no-such-endpoint").send().await;
        println!("the layer saw {} calls\n", counter.0.load(Ordering::SeqCst));

        // The same layer around a test double that replaces the stack.
        let double: HttpService = BoxCloneSyncService::new(tower::service_fn(|req: Request<Bytes>| async move {
            let body = format!(r#"{{"id":"u-1","name":"Layer Demo","selfUri":"{}"}}"#, req.uri().path());
            Ok::<_, Error>(Response::new(Bytes::from(body)))
        }));
        let doubled = Client::builder().from_service(double).with_layer(counter.clone()).build()?;
        let me = doubled.users().get_users_me().send().await?;
        println!("from the double: hello, {}", me.name.unwrap_or_default());
        println!("the layer saw {} calls in all", counter.0.load(Ordering::SeqCst));
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
