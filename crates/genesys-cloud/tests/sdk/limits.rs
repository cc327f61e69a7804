//! The org's effective limits read through the client, against the mock, which states the
//! rates it enforces (the platform's when it enforces none).

use genesys_cloud::Client;
use genesys_cloud_mock::{MockOptions, MockServer};
use std::time::Duration;

fn client_of(mock: &MockServer) -> Client {
    Client::builder().base_url(&mock.base_url()).client_credentials("limits", "limits-secret").build().unwrap()
}

#[tokio::test]
async fn the_orgs_limits_are_read_and_seed_the_pacer() {
    let limited = MockServer::start_with(
        MockOptions::default()
            .rate_limit(120, Duration::from_secs(60))
            .client_rate_limit(1000, Duration::from_secs(60)),
    )
    .await
    .unwrap();
    let client = client_of(&limited);
    let limits = client.limits().await.unwrap();
    assert_eq!(limits.token_rate_per_minute(), Some(120));
    assert_eq!(limits.client_rate_per_minute(), Some(1000));
    assert_eq!(limits.get("platform.api", "client.credentials.token.rate.per.minute"), Some(300));
    assert!(client.seed_pacer(&limits), "the pacer takes the token's rate");

    let plain = MockServer::start().await.unwrap();
    let limits = client_of(&plain).limits().await.unwrap();
    assert_eq!((limits.token_rate_per_minute(), limits.client_rate_per_minute()), (Some(300), Some(3000)));
    // Other namespaces, one call each; every limit is listed with its namespace.
    let more = client_of(&plain).limits_in(&["platform.api", "analytics"]).await.unwrap();
    assert!(more.len() >= 3 && more.iter().all(|(namespace, key, _)| !namespace.is_empty() && !key.is_empty()));
    assert!(!client_of(&plain).seed_pacer(&genesys_cloud::limits::OrgLimits::default()));
}

/// `limits()` follows what the client calls: `platform.api` at first, then the namespace of
/// each API called since, each read once per `limits()`.
#[tokio::test]
async fn the_limits_read_are_those_of_the_apis_the_client_calls() {
    let mock = MockServer::start().await.unwrap();
    let client = client_of(&mock);
    assert_eq!(client.namespaces_used(), ["platform.api"]);
    let first = client.limits().await.unwrap();
    assert!(first.iter().all(|(namespace, _, _)| namespace == "platform.api"));

    client.users().get_users().send().await.unwrap();
    client.routing().get_routing_queues().send().await.unwrap();
    client.conversations().get_conversations().send().await.unwrap();
    assert_eq!(client.namespaces_used(), ["conversation", "platform.api", "routing", "users"]);

    let limits = client.limits().await.unwrap();
    for namespace in ["conversation", "routing", "users"] {
        let path = format!("/api/v2/organizations/limits/namespaces/{namespace}");
        assert_eq!(mock.hits(&path), 1, "{namespace} read once");
        assert!(limits.iter().any(|(n, _, _)| n == namespace), "{namespace}'s limits are listed under it");
    }
    assert_eq!(mock.hits("/api/v2/organizations/limits/namespaces/platform.api"), 2);
    assert_eq!(mock.hits("/api/v2/organizations/limits/namespaces/analytics"), 0, "an API not called is not read");
    assert_eq!(limits.token_rate_per_minute(), Some(300));
}
