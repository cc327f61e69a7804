//! Runnable examples of genesys-cloud-rs; see the `[[example]]` targets in `Cargo.toml`.
//!
//! [`local_api`] is a stand-in for Genesys Cloud on loopback, so examples run offline until
//! the full mock server (`genesys-cloud-mock`) lands.

/// A tiny HTTP/1.1 server on `127.0.0.1` that answers the token endpoint and a few reads.
pub mod local_api {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// Starts the server on a free port; returns its base URL (`http://127.0.0.1:PORT`).
    pub async fn start() -> std::io::Result<String> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 16 * 1024];
                    loop {
                        let n = match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        let head = String::from_utf8_lossy(&buf[..n]);
                        let (status, body) = answer(head.lines().next().unwrap_or(""));
                        let reply = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ninin-correlation-id: local-{n}\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if stream.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Ok(base)
    }

    fn answer(request_line: &str) -> (&'static str, &'static str) {
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split('?').next().unwrap_or(path);
        match path {
            "/oauth/token" => {
                ("200 OK", r#"{"access_token":"local-access-token","token_type":"bearer","expires_in":86400}"#)
            }
            "/api/v2/users/me" => {
                ("200 OK", r#"{"id":"7c1d9b2e","name":"Ann Agent","email":"ann@example.com","state":"active"}"#)
            }
            "/api/v2/authorization/permissions" => (
                "200 OK",
                r#"{"entities":[{"domain":"routing","permissionMap":{}},{"domain":"analytics","permissionMap":{}}],"pageNumber":1,"pageSize":25,"pageCount":1,"total":2}"#,
            ),
            _ => ("404 Not Found", r#"{"message":"not found on the local API","code":"not.found","status":404}"#),
        }
    }
}
