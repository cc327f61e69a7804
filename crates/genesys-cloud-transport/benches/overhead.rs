//! Per-call overhead of the SDK's stack against a bare hyper-util client, both doing the same
//! 3 KB GET on loopback in the same run. `cargo bench -p genesys-cloud-transport`.
//!
//! Prints the median per-call time of each over several alternating rounds and their ratio.

use genesys_cloud_core::bytes::Bytes;
use genesys_cloud_core::http::{Method, Request, Response};
use genesys_cloud_core::{execute, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, Transport};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::time::{Duration, Instant};

const CALLS_PER_ROUND: usize = 2000;
const ROUNDS: usize = 7;

async fn server(body: Bytes) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |_req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let mut r = Response::new(Full::new(body));
                        r.headers_mut().insert("content-type", "application/json".parse().unwrap());
                        r.headers_mut().insert("inin-correlation-id", "bench".parse().unwrap());
                        Ok::<_, std::convert::Infallible>(r)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc).await;
            });
        }
    });
    addr
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        // A 3 KB JSON body, like a user record.
        let body = Bytes::from(format!(r#"{{"id":"u-1","name":"Bench User","padding":"{}"}}"#, "x".repeat(3000)));
        let addr = server(body).await;
        let base = format!("http://{addr}");

        let bare: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let uri: hyper::Uri = format!("{base}/api/v2/users/me").parse().unwrap();
        let sdk = Transport::builder()
            .endpoint(Endpoint::custom(&base).unwrap())
            .access_token("bench-token")
            .build()
            .unwrap();
        let meta = OperationMeta::raw(&Method::GET).unwrap();

        let bare_call = || {
            let bare = bare.clone();
            let uri = uri.clone();
            async move {
                let req = Request::builder()
                    .uri(uri)
                    .header("authorization", "Bearer bench-token")
                    .body(Full::new(Bytes::new()))
                    .unwrap();
                let resp = bare.request(req).await.unwrap();
                let bytes = resp.into_body().collect().await.unwrap().to_bytes();
                assert!(bytes.len() > 3000);
            }
        };
        let sdk_call = || {
            let sdk = sdk.clone();
            async move {
                let resp = execute(&sdk, RequestParts::new(meta, "/api/v2/users/me".into())).await.unwrap();
                assert!(resp.body().len() > 3000);
            }
        };

        // Warm both pools.
        for _ in 0..500 {
            bare_call().await;
            sdk_call().await;
        }
        let (mut bare_rounds, mut sdk_rounds) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for _ in 0..CALLS_PER_ROUND {
                bare_call().await;
            }
            bare_rounds.push(t.elapsed() / CALLS_PER_ROUND as u32);
            let t = Instant::now();
            for _ in 0..CALLS_PER_ROUND {
                sdk_call().await;
            }
            sdk_rounds.push(t.elapsed() / CALLS_PER_ROUND as u32);
        }
        let (b, s) = (median(bare_rounds), median(sdk_rounds));
        println!("sequential 3 KB GET on loopback, {ROUNDS} rounds x {CALLS_PER_ROUND} calls, median per call:");
        println!("  bare hyper-util client: {:>8.1} us", b.as_secs_f64() * 1e6);
        println!("  genesys-cloud stack:    {:>8.1} us", s.as_secs_f64() * 1e6);
        println!("  ratio: {:.3} (target <= 1.10)", s.as_secs_f64() / b.as_secs_f64());
    });
}
