//! Requests through a small CONNECT proxy on loopback, with proxy authentication.

use genesys_cloud_core::http::Method;
use genesys_cloud_core::{execute, ErrorKind, OperationMeta, RequestParts};
use genesys_cloud_transport::{Endpoint, Proxy, Retry, Transport};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// An origin server answering every request with a small JSON body.
async fn origin() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    let body = r#"{"via":"proxy-test"}"#;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if s.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// A CONNECT proxy that demands `Proxy-Authorization: Basic base64(user:pass)` and records
/// the CONNECT heads it receives.
async fn proxy(expected_auth: &'static str) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                log.lock().unwrap().push(head.clone());
                let target = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let authorized =
                    head.lines().any(|l| l.eq_ignore_ascii_case(&format!("proxy-authorization: {expected_auth}")));
                if !head.starts_with("CONNECT ") || !authorized {
                    let _ = client
                        .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
                        .await;
                    return;
                }
                let Ok(mut upstream) = TcpStream::connect(&target).await else { return };
                let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

async fn get(t: &Transport) -> Result<String, genesys_cloud_core::Error> {
    let parts = RequestParts::new(OperationMeta::raw(&Method::GET).unwrap(), "/api/v2/ping".into());
    let r = execute(t, parts).await?;
    Ok(String::from_utf8_lossy(r.body()).to_string())
}

// base64("agent:pa ss:w0rd")
const AUTH: &str = "Basic YWdlbnQ6cGEgc3M6dzByZA==";

#[tokio::test]
async fn tunnels_through_an_authenticating_proxy() {
    let target = origin().await;
    let (proxy_url, heads) = proxy(AUTH).await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&target).unwrap())
        .proxy(Proxy::url(proxy_url).with_credentials("agent", "pa ss:w0rd"))
        .build()
        .unwrap();
    assert_eq!(get(&t).await.unwrap(), r#"{"via":"proxy-test"}"#);
    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with(&format!("CONNECT {} HTTP/1.1", target.trim_start_matches("http://"))),
        "{}",
        heads[0]
    );
}

#[tokio::test]
async fn a_refused_proxy_login_is_a_connect_error_without_the_password() {
    let target = origin().await;
    let (proxy_url, _) = proxy(AUTH).await;
    let config = Proxy::url(proxy_url).with_credentials("agent", "wrong-secret-pw");
    assert!(!format!("{config:?}").contains("wrong-secret-pw"));
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&target).unwrap())
        .retry(Retry::disabled())
        .proxy(config)
        .build()
        .unwrap();
    let e = get(&t).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    let shown = format!("{e} {e:?}");
    assert!(shown.contains("proxy authorization required"), "{shown}");
    assert!(!shown.contains("wrong-secret-pw"), "{shown}");
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let target = origin().await;
    let (proxy_url, heads) = proxy(AUTH).await;
    let t = Transport::builder()
        .endpoint(Endpoint::custom(&target).unwrap())
        .proxy(Proxy::url(proxy_url).with_no_proxy("127.0.0.1"))
        .build()
        .unwrap();
    assert_eq!(get(&t).await.unwrap(), r#"{"via":"proxy-test"}"#);
    assert!(heads.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_proxy_url_that_cannot_be_used_is_a_build_error_naming_it() {
    for bad in ["http://", "http://proxy example:3128"] {
        let e = Transport::builder()
            .endpoint(Endpoint::custom("http://127.0.0.1:9").unwrap())
            .proxy(Proxy::url(bad))
            .build()
            .err()
            .unwrap_or_else(|| panic!("{bad} was taken"));
        assert_eq!(e.kind(), ErrorKind::Build, "{bad}");
        assert!(e.to_string().contains("proxy URL"), "{e}");
    }
}

/// An `https://` proxy would be sent its CONNECT and `Proxy-Authorization` in clear text (the
/// client speaks plain HTTP to a proxy): such a URL is a build error that says why, and the
/// listener at that address (standing in for a TLS proxy: it records whatever bytes come)
/// receives nothing.
#[tokio::test]
async fn an_https_proxy_url_is_refused_before_anything_is_sent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Arc<Mutex<Vec<u8>>> = Arc::default();
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                log.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        }
    });
    let target = origin().await;
    let proxy = Proxy::url(format!("https://{addr}")).with_credentials("agent", "pa ss:w0rd");
    let built = Transport::builder().endpoint(Endpoint::custom(&target).unwrap()).proxy(proxy).build();
    let e = built.expect_err("an https:// proxy is refused");
    assert_eq!(e.kind(), ErrorKind::Build);
    assert!(e.to_string().contains("clear text") && e.to_string().contains("https://"), "{e}");
    assert!(!e.to_string().contains("w0rd"), "{e}");
    // One connection to the listener proves it would have seen any earlier bytes.
    let mut probe = TcpStream::connect(addr).await.unwrap();
    probe.write_all(b"probe").await.unwrap();
    drop(probe);
    while !received.lock().unwrap().ends_with(b"probe") {
        tokio::task::yield_now().await;
    }
    assert_eq!(*received.lock().unwrap(), b"probe", "nothing but the probe reached the proxy");
}
