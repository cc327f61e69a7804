//! What the fleet's tests share: a `redis-server` of each test's own, and namespaces no other
//! run shares.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `redis-server` of this test's own.
pub struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// A server on a free loopback port, answering `PING` when this returns.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Self { port, child: None };
        redis.restart().await;
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server again on the same port, empty.
    pub async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian's package redis-server; .ci/run installs it)");
        self.child = Some(child);
        // Ready when it answers PING; 200 tries 25 ms apart.
        for _ in 0..200 {
            if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut answer = [0u8; 7];
                if stream.write_all(b"PING\r\n").await.is_ok()
                    && stream.read_exact(&mut answer).await.is_ok()
                    && &answer == b"+PONG\r\n"
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not answer on port {}", self.port);
    }

    /// Kills the server (SIGKILL) and waits for it to go.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A namespace no other test run shares.
pub fn namespace(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// A client of the mock at `base_url` on the OAuth client `fleet-client`, through `fleet`.
pub fn client_at(base_url: &str, fleet: &genesys_cloud::fleet::Fleet) -> genesys_cloud::Client {
    genesys_cloud::Client::builder()
        .base_url(base_url)
        .client_credentials("fleet-client", "fleet-secret")
        .fleet(fleet)
        .build()
        .unwrap()
}
