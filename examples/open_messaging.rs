//! Open Messaging webhooks: a webhook server (hyper, on a loopback port) that mounts the SDK's
//! `WebhookService`, an Open Messaging integration pointing at it, and the mock delivering
//! agents' messages to it as Genesys Cloud does, signed with the integration's secret. One
//! message finds the handler's store down once and comes again; a delivery signed with
//! another secret is refused. Prints a line per message handled and per delivery.
//!
//! `cargo run -p genesys-cloud-examples --example open_messaging` (offline: the mock delivers).

use genesys_cloud::models::OpenIntegrationRequest;
use genesys_cloud::open_messaging::{OutboundMessage, WebhookService, WebhookVerifier};
use genesys_cloud_mock::{MockOptions, MockServer};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The service waits 10 s for an answer and 5 s between attempts; shorter here.
    let options = MockOptions::default().webhook_timing(Duration::from_secs(10), Duration::from_millis(200));
    let mock = MockServer::start_with(options).await?;
    let secret = "the-integration-secret-token";

    // The webhook: each genuine message goes to the handler; the first "m-2" finds it failing.
    let failed_once = Arc::new(AtomicBool::new(false));
    let handler = move |message: OutboundMessage| {
        let failed_once = failed_once.clone();
        async move {
            if message.id() == Some("m-2") && !failed_once.swap(true, Ordering::SeqCst) {
                return Err("the ticket store did not answer");
            }
            match &message {
                OutboundMessage::Message(m) => println!("handled message {:?}: {:?}", m.id, m.text),
                OutboundMessage::Event(e) => println!("handled event {:?}", e.id),
                other => println!("handled {other:?}"),
            }
            Ok(())
        }
    };
    let service = WebhookService::new(WebhookVerifier::new(secret), handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/genesys/open-messaging", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(service.clone());
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::spawn(connection);
        }
    });

    // The integration, made through the API, pointing at the webhook.
    let client = genesys_cloud::Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("example-client", "example-secret")
        .build()?;
    let integration = |secret: &str| {
        let mut request = OpenIntegrationRequest::default();
        request.name = Some("example webhook".into());
        request.outbound_notification_webhook_url = Some(url.clone());
        request.outbound_notification_webhook_signature_secret_token = Some(secret.into());
        request
    };
    let made =
        client.conversations().post_conversations_messaging_integrations_open(integration(secret)).send().await?;
    let id = made.id.ok_or("the integration has no id")?;

    for (n, text) in [(1, "Hello, how can I help?"), (2, "Your ticket is 4711.")] {
        let message = serde_json::json!({
            "id": format!("m-{n}"), "type": "Text", "direction": "Outbound", "text": text,
            "channel": {"platform": "Open", "type": "Private", "to": {"id": "customer-1"}, "from": {"id": id}},
        });
        let delivery = mock.deliver_open_message(&id, &message).await?;
        println!("delivery m-{n}: answers {:?}, delivered {}", delivery.attempts, delivery.delivered);
    }
    let forged = client
        .conversations()
        .post_conversations_messaging_integrations_open(integration("not-the-secret"))
        .send()
        .await?;
    let message = serde_json::json!({"id": "m-3", "type": "Text", "text": "forged"});
    let delivery = mock.deliver_open_message(&forged.id.ok_or("no id")?, &message).await?;
    println!("delivery signed with another secret: answers {:?}, delivered {}", delivery.attempts, delivery.delivered);
    Ok(())
}
