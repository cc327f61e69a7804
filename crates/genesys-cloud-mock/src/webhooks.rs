//! Open Messaging integrations and the webhook deliveries Genesys Cloud makes to them: an
//! integration created through the API keeps its `outboundNotificationWebhookUrl` and its
//! signature secret; a delivery posts a normalized message there, signed as the service signs
//! (`X-Hub-Signature-256: sha256=` and the base64 HMAC-SHA256 of the body), and sends it again
//! as the service does: up to 5 times more, after a time-out (10 s) or a 429 or 5xx answer,
//! 5 s apart (both scaled by [`MockOptions::webhook_timing`](crate::MockOptions::webhook_timing)).

use crate::notify::lock;
use bytes::Bytes;
use hmac::Mac as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// How many times a delivery is sent again at most (the service's retry policy).
pub const WEBHOOK_RETRIES: usize = 5;

/// One Open Messaging integration's webhook.
#[derive(Debug, Clone)]
struct Integration {
    url: String,
    secret: String,
    headers: BTreeMap<String, String>,
}

/// The Open Messaging integrations created so far.
#[derive(Debug, Default)]
pub(crate) struct OpenIntegrations {
    by_id: Mutex<BTreeMap<String, Integration>>,
}

/// What one delivery to a webhook came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// Each attempt's answer: its status, or 0 for no answer in time (or no connection).
    pub attempts: Vec<u16>,
    /// Whether the last attempt was answered with a 2xx.
    pub delivered: bool,
}

impl OpenIntegrations {
    /// `POST /api/v2/conversations/messaging/integrations/open`: the integration, kept, as the
    /// service answers it (the spec requires the secret token in the answer).
    pub(crate) fn create(&self, id: String, body: &[u8]) -> Result<Value, String> {
        let sent: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
        let text = |field: &str| sent.get(field).and_then(Value::as_str).map(str::to_owned);
        let name = text("name").ok_or("name is required")?;
        let url = text("outboundNotificationWebhookUrl").ok_or("outboundNotificationWebhookUrl is required")?;
        let secret = text("outboundNotificationWebhookSignatureSecretToken")
            .ok_or("outboundNotificationWebhookSignatureSecretToken is required")?;
        let headers = sent
            .get("webhookHeaders")
            .and_then(Value::as_object)
            .map(|h| h.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
            .unwrap_or_default();
        lock(&self.by_id).insert(id.clone(), Integration { url: url.clone(), secret: secret.clone(), headers });
        Ok(json!({
            "id": id, "name": name, "outboundNotificationWebhookUrl": url, "status": "Active",
            "outboundNotificationWebhookSignatureSecretToken": secret,
            "createStatus": "Completed", "selfUri": format!("/api/v2/conversations/messaging/integrations/open/{id}"),
        }))
    }

    /// The integration as `GET …/integrations/open/{id}` answers it.
    pub(crate) fn get(&self, id: &str) -> Option<Value> {
        let by_id = lock(&self.by_id);
        let i = by_id.get(id)?;
        Some(
            json!({"id": id, "outboundNotificationWebhookUrl": i.url, "status": "Active", "createStatus": "Completed"}),
        )
    }

    /// `DELETE …/integrations/open/{id}`: whether it was there.
    pub(crate) fn delete(&self, id: &str) -> bool {
        lock(&self.by_id).remove(id).is_some()
    }

    /// Posts `message` to integration `id`'s webhook, signed, sending it again as the service
    /// does; `timeout` for each answer and `delay` between attempts.
    pub(crate) async fn deliver(
        &self,
        id: &str,
        message: &Value,
        timeout: Duration,
        delay: Duration,
    ) -> Result<WebhookDelivery, String> {
        let integration = lock(&self.by_id).get(id).cloned().ok_or(format!("no open messaging integration {id}"))?;
        let body = Bytes::from(message.to_string());
        let signature = sign(&integration.secret, &body);
        let mut attempts = Vec::new();
        loop {
            let status = match tokio::time::timeout(timeout, post(&integration, &body, &signature)).await {
                Ok(Ok(status)) => status,
                Ok(Err(_)) | Err(_) => 0,
            };
            attempts.push(status);
            let retryable = status == 0 || status == 429 || status >= 500;
            if !retryable || attempts.len() > WEBHOOK_RETRIES {
                return Ok(WebhookDelivery { delivered: (200..300).contains(&status), attempts });
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// The signature header's value for `body` under `secret`.
pub(crate) fn sign(secret: &str, body: &[u8]) -> String {
    use base64::Engine as _;
    // HMAC takes a key of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()))
}

/// One POST of the body to the webhook (plain HTTP: the mock's webhooks are local); its status.
async fn post(integration: &Integration, body: &Bytes, signature: &str) -> Result<u16, String> {
    let uri: hyper::Uri = integration.url.parse().map_err(|e| format!("the webhook URL: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err("the mock posts to http:// webhooks only".into());
    }
    let host = uri.host().ok_or("the webhook URL has no host")?.to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut request = hyper::Request::post(path)
        .header("host", uri.authority().map_or(host.as_str(), |a| a.as_str()))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature);
    for (name, value) in &integration.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request.body(http_body_util::Full::new(body.clone())).map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_the_base64_hmac_of_the_body() {
        // RFC 4231's second case (key "Jefe"), in base64.
        let signature = super::sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(signature, "sha256=W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
    }
}
