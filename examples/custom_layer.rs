//! A custom tower layer around the SDK's stack: count calls and time them. The stack itself
//! is swapped for an in-process double with `from_service`, so this runs offline.
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

fn main() -> Result<(), Error> {
    // Stands in for Genesys Cloud: every call gets a small user.
    let double: HttpService = BoxCloneSyncService::new(tower::service_fn(|req: Request<Bytes>| async move {
        let body = format!(r#"{{"id":"u-1","name":"Layer Demo","selfUri":"{}"}}"#, req.uri().path());
        Ok::<_, Error>(Response::new(Bytes::from(body)))
    }));
    let counter = CallCounter::default();
    let client = Client::builder().from_service(double).with_layer(counter.clone()).build()?;

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    rt.block_on(async {
        let me = client.users().get_users_me().send().await?;
        println!("hello, {}", me.name.unwrap_or_default());
        client.users().get_user("u-42").send().await?;
        client.raw().request(genesys_cloud::core::http::Method::GET, "/api/v2/anything").send().await?;
        Ok::<_, Error>(())
    })?;
    println!("the layer saw {} calls", counter.0.load(Ordering::SeqCst));
    Ok(())
}
