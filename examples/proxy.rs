//! Calls through an authenticating HTTP proxy (CONNECT). The example runs a tiny proxy on
//! loopback in front of `genesys-cloud-mock`; with credentials for the real cloud set, it
//! uses the proxy the environment names (`HTTPS_PROXY`, `NO_PROXY`) instead.
//!
//! `cargo run -p genesys-cloud-examples --example proxy`

use genesys_cloud::config::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT proxy that wants `Proxy-Authorization: Basic base64(agent:proxy-pass)`.
async fn proxy() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
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
                let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                println!("  proxy: {}", head.lines().next().unwrap_or_default());
                if !head.to_ascii_lowercase().contains("proxy-authorization: basic ywdlbnq6chjvehktcgfzcw==") {
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
    Ok(url)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("GENESYS_CLOUD_CLIENT_ID").is_ok_and(|v| !v.is_empty()) {
        let (builder, _) = genesys_cloud_examples::connect().await?;
        let client = builder.proxy(Proxy::from_env()).build()?;
        println!(
            "through the environment's proxy: hello {}",
            client.users().get_users_me().send().await?.name.unwrap_or_default()
        );
        return Ok(());
    }
    let mock = genesys_cloud_mock::MockServer::start().await?;
    let proxy_url = proxy().await?;
    let client = genesys_cloud_examples::builder()?
        .base_url(&mock.base_url())
        .client_credentials("proxy-example-client", "proxy-example-secret")
        .proxy(Proxy::url(&proxy_url).with_credentials("agent", "proxy-pass"))
        .build()?;
    let me = client.users().get_users_me().send().await?;
    println!("through the proxy at {proxy_url}: hello {}", me.name.unwrap_or_default());
    Ok(())
}
