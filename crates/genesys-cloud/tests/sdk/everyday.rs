//! Everyday code with one import: models built with setters, JSON in and out, an explicit
//! null, and a duplicate told apart from other failures. Nothing here imports a trait; if a
//! method moved back onto a trait, this module would stop compiling.

use genesys_cloud::models::{CreateUser, UpdateUser, User};
use genesys_cloud::{Client, StatusCode};
use genesys_cloud_mock::MockServer;

fn client(mock: &MockServer) -> Client {
    Client::builder().base_url(&mock.base_url()).client_credentials("mock-id", "mock-secret").build().unwrap()
}

#[test]
fn a_body_is_built_with_setters_and_read_back_from_json() {
    let body = CreateUser::default()
        .name("Ann Lee")
        .email("ann@example.com")
        .department("Support")
        .title(String::from("Agent"));
    assert_eq!(body.name.as_deref(), Some("Ann Lee"));
    let json = body.to_json().unwrap();
    assert_eq!(CreateUser::from_json(&json).unwrap(), body);

    let mut patch = UpdateUser::default().version(3).with(|u| u.title = None);
    patch.set_null("title").unwrap();
    assert!(patch.set_null("no-such-field").is_err(), "a typo is an error");
    let sent: serde_json::Value = serde_json::from_str(&patch.to_json().unwrap()).unwrap();
    assert_eq!(sent, serde_json::json!({"version": 3, "title": null}));
}

#[tokio::test]
async fn a_duplicate_email_is_a_conflict_the_caller_can_tell_apart() {
    let mock = MockServer::start().await.unwrap();
    let client = client(&mock);
    let ann = CreateUser::default().name("Ann").email("ann@example.com").division_id("home");
    let created: User = client.users().post_users(ann.clone()).send().await.unwrap();
    assert!(created.id.is_some());

    let again = CreateUser::default().name("Ann again").email("ANN@example.com").division_id("home");
    let e = client.users().post_users(again).send().await.unwrap_err();
    assert!(e.is_conflict() && e.is_status(409), "{e}");
    assert_eq!(e.status(), Some(StatusCode::CONFLICT));
    assert_eq!(e.code(), Some("general.conflict"));
    assert!(!e.is_bad_request() && !e.is_forbidden() && !e.is_retryable());

    let other = CreateUser::default().name("Bo").email("bo@example.com").division_id("home");
    assert!(client.users().post_users(other).send().await.is_ok(), "another email is fine");
}
