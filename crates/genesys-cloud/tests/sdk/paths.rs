//! Path parameters cannot change the shape of the request's path: `.` and `..` (which servers
//! and proxies that remove dot segments would resolve, RFC 3986 §5.2.4) are build errors, and
//! nothing reaches the network. Checked over a real socket that counts its connections.

use genesys_cloud::transport::http::Method;
use genesys_cloud::Client;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that counts connections, records request lines (and whole heads) and answers 204
/// to each request.
struct Counting {
    base_url: String,
    connections: Arc<AtomicUsize>,
    lines: Arc<Mutex<Vec<String>>>,
    heads: Arc<Mutex<Vec<String>>>,
}

async fn counting_server() -> Counting {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (count, seen, whole) = (connections.clone(), lines.clone(), heads.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (seen, whole) = (seen.clone(), whole.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let mut have = Vec::new();
                loop {
                    let Ok(n) = stream.read(&mut buf).await else { return };
                    if n == 0 {
                        return;
                    }
                    have.extend_from_slice(&buf[..n]);
                    while let Some(end) = have.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&have[..end]).into_owned();
                        seen.lock().unwrap().push(head.lines().next().unwrap_or_default().to_owned());
                        whole.lock().unwrap().push(head.to_ascii_lowercase());
                        have.drain(..end + 4);
                        let reply = "HTTP/1.1 204 No Content\r\ninin-correlation-id: c-1\r\n\r\n";
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Counting { base_url, connections, lines, heads }
}

fn client(server: &Counting) -> Client {
    Client::builder().base_url(&server.base_url).access_token("a-token").build().unwrap()
}

#[tokio::test]
async fn dot_segment_path_parameters_are_build_errors_and_nothing_is_sent() {
    let server = counting_server().await;
    let client = client(&server);
    for bad in ["..", "."] {
        let err = client.users().delete_user_routingskill("u1", bad).send().await.unwrap_err();
        assert!(err.is_build(), "{err:?}");
        assert_eq!(err.operation(), Some("deleteUserRoutingskill"));
        assert!(err.message().contains("`skillId`"), "the error names the parameter: {err}");
        let err = client.users().delete_user_routingskill(bad, "s1").send().await.unwrap_err();
        assert!(err.is_build() && err.message().contains("`userId`"), "{err}");
    }
    // An id that only looks like dots is an ordinary id; `/` is escaped, never a separator.
    client.users().delete_user_routingskill("u1", "...").send().await.unwrap();
    client.users().delete_user_routingskill("u1", "../u2").send().await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1, "the refused calls opened no connection");
    assert_eq!(
        *server.lines.lock().unwrap(),
        [
            "DELETE /api/v2/users/u1/routingskills/... HTTP/1.1",
            "DELETE /api/v2/users/u1/routingskills/..%2Fu2 HTTP/1.1"
        ]
    );
}

#[tokio::test]
async fn raw_paths_with_dot_segments_are_build_errors_too() {
    let server = counting_server().await;
    let client = client(&server);
    for bad in ["/api/v2/users/u1/routingskills/..", "/api/v2/users/./u1", "/api/v2/users/%2E%2e", "/api/v2/x/../y"] {
        let err = client.raw().request(Method::DELETE, bad).send().await.unwrap_err();
        assert!(err.is_build(), "{bad}: {err:?}");
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
    client.raw().request(Method::DELETE, "/api/v2/users/u1/routingskills/s1").send().await.unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// `raw().send_parts` sends a builder's parts as they are and checks their path as
/// `raw().request` does: parts changed to a dot segment are a build error, and nothing is sent.
#[tokio::test]
async fn raw_send_parts_sends_built_parts_and_checks_their_path() {
    let server = counting_server().await;
    let client = client(&server);
    let parts = client.users().delete_user_routingskill("u1", "s1").build().unwrap();
    let mut changed = parts.clone();
    changed.path = "/api/v2/users/u1/routingskills/..".to_owned();
    let err = client.raw().send_parts(changed).await.unwrap_err();
    assert!(err.is_build(), "{err:?}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 0, "the refused parts opened no connection");
    let response = client.raw().send_parts(parts).await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(*server.lines.lock().unwrap(), ["DELETE /api/v2/users/u1/routingskills/s1 HTTP/1.1"]);
}

/// `raw().get_url` follows an absolute link through the client's stack: the token goes with
/// it on the client's own host and nowhere else; anything but an absolute http(s) URL is a
/// build error. Two servers on loopback.
#[tokio::test]
async fn raw_get_url_takes_the_token_only_to_the_clients_host() {
    let api = counting_server().await;
    let elsewhere = counting_server().await;
    let client = client(&api);
    client.raw().get_url(&format!("{}/api/v2/downloads/d1", api.base_url)).await.unwrap();
    client.raw().get_url(&format!("{}/files/d1?sig=abc", elsewhere.base_url)).await.unwrap();
    let bearer = "authorization: bearer a-token";
    assert!(api.heads.lock().unwrap()[0].contains(bearer), "{:?}", api.heads);
    let there = elsewhere.heads.lock().unwrap().clone();
    assert!(there[0].starts_with("get /files/d1?sig=abc http/1.1"), "{there:?}");
    assert!(!there[0].contains("authorization"), "no token to another host: {there:?}");
    for bad in ["/api/v2/users/me", "ftp://files.example/d1", "not a url", "https:///nohost"] {
        let err = client.raw().get_url(bad).await.unwrap_err();
        assert!(err.is_build(), "{bad}: {err:?}");
    }
}
