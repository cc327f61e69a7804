//! Open Messaging webhooks over real sockets: an integration made through the client on the
//! mock, the mock delivering agents' messages to a hyper server that mounts the SDK's
//! `WebhookService`, as Genesys Cloud does (signed, sent again after a 5xx); signed, tampered,
//! unsigned, malformed and oversized requests posted straight to it.
#![cfg(feature = "open-messaging")]

use genesys_cloud::models::OpenIntegrationRequest;
use genesys_cloud::open_messaging::{OutboundMessage, WebhookService, WebhookVerifier, SIGNATURE_HEADER};
use genesys_cloud::Client;
use genesys_cloud_mock::{MockOptions, MockServer};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "open-messaging-secret-token";

/// A hyper server on a free loopback port serving `service`; its URL.
async fn serve<S>(service: S) -> String
where
    S: tower_service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<http_body_util::Full<bytes::Bytes>>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/genesys/open-messaging", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    url
}

fn text_message(id: &str, text: &str) -> serde_json::Value {
    json!({
        "id": id, "type": "Text", "direction": "Outbound", "text": text,
        "channel": {"platform": "Open", "type": "Private", "messageId": id, "to": {"id": "customer-1"},
                    "from": {"id": "mock-open-integration"}, "time": "2026-12-07T10:15:30.000Z"},
        "conversationId": "conversation-1",
    })
}

/// Posts `body` with `signature` to `url`; the status.
async fn post(url: &str, body: &[u8], signature: Option<&str>) -> u16 {
    let uri: hyper::Uri = url.parse().unwrap();
    let stream = tokio::net::TcpStream::connect(uri.authority().unwrap().as_str()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::post(uri.path()).header("host", uri.authority().unwrap().as_str());
    if let Some(signature) = signature {
        request = request.header(SIGNATURE_HEADER, signature);
    }
    let request = request.body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(body))).unwrap();
    sender.send_request(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_mock_delivers_agents_messages_to_the_webhook_signed_and_again_after_a_failure() {
    let mock = MockServer::start_with(
        MockOptions::default().webhook_timing(Duration::from_secs(10), Duration::from_millis(20)),
    )
    .await
    .unwrap();
    let received: Arc<Mutex<Vec<OutboundMessage>>> = Arc::default();
    let failures_left = Arc::new(Mutex::new(2));
    let handler = {
        let received = received.clone();
        let failures_left = failures_left.clone();
        move |message: OutboundMessage| {
            let received = received.clone();
            let failures_left = failures_left.clone();
            async move {
                // The handler's store is down for the first two attempts of "m-retry".
                if message.id() == Some("m-retry") {
                    let mut left = failures_left.lock().unwrap();
                    if *left > 0 {
                        *left -= 1;
                        return Err("the store is down");
                    }
                }
                received.lock().unwrap().push(message);
                Ok(())
            }
        }
    };
    let url = serve(WebhookService::new(WebhookVerifier::new(SECRET), handler)).await;

    let client = Client::builder().base_url(&mock.base_url()).client_credentials("id", "secret").build().unwrap();
    let mut request = OpenIntegrationRequest::default();
    request.name = Some("webhook test".into());
    request.outbound_notification_webhook_url = Some(url.clone());
    request.outbound_notification_webhook_signature_secret_token = Some(SECRET.into());
    let integration =
        client.conversations().post_conversations_messaging_integrations_open(request).send().await.unwrap();
    let id = integration.id.unwrap();

    let delivery = mock.deliver_open_message(&id, &text_message("m-1", "hello")).await.unwrap();
    assert_eq!((delivery.attempts.as_slice(), delivery.delivered), (&[200u16][..], true));
    let delivery = mock.deliver_open_message(&id, &text_message("m-retry", "again")).await.unwrap();
    assert_eq!(delivery.attempts, [503, 503, 200], "a handler's failure is a 503, which the service retries");
    let typing = json!({"id": "e-1", "type": "Event", "channel": {"platform": "Open", "type": "Private"},
                        "events": [{"eventType": "Typing", "typing": {"type": "On"}}]});
    assert!(mock.deliver_open_message(&id, &typing).await.unwrap().delivered);

    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 3, "each message handled once: {received:?}");
    let OutboundMessage::Message(first) = &received[0] else { panic!("{:?}", received[0]) };
    assert_eq!(first.text.as_deref(), Some("hello"));
    let to = first.channel.as_ref().and_then(|c| c.to.as_ref()).and_then(|t| t.id.as_deref());
    assert_eq!(to, Some("customer-1"));
    assert!(matches!(&received[2], OutboundMessage::Event(_)));

    // An integration whose webhook holds another secret: every attempt refused, none retried.
    let mut request = OpenIntegrationRequest::default();
    request.name = Some("wrong secret".into());
    request.outbound_notification_webhook_url = Some(url);
    request.outbound_notification_webhook_signature_secret_token = Some("another-secret".into());
    let other = client.conversations().post_conversations_messaging_integrations_open(request).send().await.unwrap();
    let delivery = mock.deliver_open_message(&other.id.unwrap(), &text_message("m-2", "forged")).await.unwrap();
    assert_eq!((delivery.attempts.as_slice(), delivery.delivered), (&[401u16][..], false));
}

#[tokio::test]
async fn signed_tampered_unsigned_malformed_and_oversized_requests() {
    let handled = Arc::new(Mutex::new(0));
    let counter = handled.clone();
    let service = WebhookService::new(WebhookVerifier::new(SECRET), move |_: OutboundMessage| {
        *counter.lock().unwrap() += 1;
        async { Ok::<(), std::convert::Infallible>(()) }
    })
    .body_limit(4096);
    let url = serve(service).await;
    let verifier = WebhookVerifier::new(SECRET);
    let body = text_message("m-1", "hello").to_string();
    let signature = verifier.sign(body.as_bytes());

    assert_eq!(post(&url, body.as_bytes(), Some(&signature)).await, 200);
    let tampered = body.replace("hello", "hellO");
    assert_eq!(post(&url, tampered.as_bytes(), Some(&signature)).await, 401);
    assert_eq!(post(&url, body.as_bytes(), None).await, 401);
    assert_eq!(post(&url, body.as_bytes(), Some("sha256=garbage")).await, 401);
    let not_a_message = b"{\"hello\": true}";
    assert_eq!(post(&url, not_a_message, Some(&verifier.sign(not_a_message))).await, 400);
    let large = text_message("m-3", &"x".repeat(8192)).to_string();
    assert_eq!(post(&url, large.as_bytes(), Some(&verifier.sign(large.as_bytes()))).await, 413);
    assert_eq!(*handled.lock().unwrap(), 1, "only the genuine message reached the handler");
}
