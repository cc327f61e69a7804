//! The mock through the real client over loopback.

use futures_util::TryStreamExt;
use genesys_cloud::transport::http::Method;
use genesys_cloud::transport::{Retry, Timeouts};
use genesys_cloud::{Client, ErrorKind};
use genesys_cloud_mock::{Fault, FaultKind, MockOptions, MockServer};
use std::time::Duration;

fn client(mock: &MockServer) -> Client {
    Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("mock-id", "mock-secret")
        .retry(Retry::default().backoff(Duration::from_millis(1), Duration::from_millis(5)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn answers_every_operation_and_checks_the_token() {
    let mock = MockServer::start().await.unwrap();
    assert_eq!(mock.operation_count(), 3355);
    let me = client(&mock).users().get_users_me().send_with_response().await.unwrap();
    assert_eq!(me.value.name.as_deref(), Some("Mock User"));
    assert!(me.correlation_id().unwrap().starts_with("mock-"));
    assert!(me.headers.get("inin-ratelimit-allowed").is_none(), "not limited, so no rate-limit headers");
    // Without a token: 401 with a Genesys error body.
    let anonymous = Client::builder().base_url(&mock.base_url()).build().unwrap();
    let e = anonymous.users().get_users_me().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("bad.credentials"));
}

#[tokio::test]
async fn validates_parameters_and_bodies() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let e = c.raw().request(Method::GET, "/api/v2/users").query("pageSize", "many").send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert!(e.api_error().unwrap().message.as_deref().unwrap().contains("pageSize"), "{e}");
    let e = c
        .raw()
        .request(Method::POST, "/api/v2/users")
        .json(&serde_json::json!(["not", "an", "object"]))
        .send()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("body must be object"), "{e}");
    // Deeper: a required property, a wrong type, an enum value.
    let user = |v: serde_json::Value| c.raw().request(Method::POST, "/api/v2/users").json(&v).send();
    let e = user(serde_json::json!({"name": "No Email", "divisionId": "d"})).await.unwrap_err();
    assert!(e.to_string().contains("body.email is required"), "{e}");
    let e = user(serde_json::json!({"name": 5, "email": "a@b.c", "divisionId": "d"})).await.unwrap_err();
    assert!(e.to_string().contains("body.name must be string"), "{e}");
    let e = user(serde_json::json!({"name": "n", "email": "a@b.c", "divisionId": "d", "state": "sleeping"}))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("body.state must be one of"), "{e}");
    let e = c.raw().request(Method::GET, "/api/v2/no/such/thing").send().await.unwrap_err();
    assert!(e.is_not_found());
}

#[tokio::test]
async fn users_crud_with_version_conflicts() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let mut new_user = genesys_cloud::models::CreateUser::default();
    new_user.name = Some("Created".into());
    new_user.email = Some("created@example.com".into());
    new_user.division_id = Some("home".into());
    let created = c.users().post_users(new_user).send().await.unwrap();
    let id = created.id.clone().unwrap();
    assert_eq!(created.version, Some(1));
    let mut patch = genesys_cloud::models::UpdateUser::default();
    patch.department = Some("Support".into());
    patch.version = Some(1);
    let updated = c.users().patch_user(id.clone(), patch.clone()).send().await.unwrap();
    assert_eq!((updated.department.as_deref(), updated.version), (Some("Support"), Some(2)));
    let e = c.users().patch_user(id.clone(), patch).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(409), "a stale version conflicts");
    c.users().delete_user(id.clone()).send().await.unwrap();
    assert!(c.users().get_user(id).send().await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn paginators_walk_real_pages() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let queues: Vec<String> = c
        .routing()
        .get_routing_queues()
        .page_size(10)
        .into_paginator()
        .items()
        .map_ok(|q| q.id.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(queues.len(), 45);
    assert_eq!(mock.hits("/api/v2/routing/queues"), 5);
    // A generated listing (sampled) pages too.
    let n = c.groups().get_groups().page_size(25).into_paginator().items().try_collect::<Vec<_>>().await.unwrap().len();
    assert_eq!(n, 60);
}

#[tokio::test]
async fn faults_reach_the_client_as_they_would_from_the_cloud() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    // 429 with Retry-After, then success.
    mock.inject(Fault::rate_limited("1").on_path("/api/v2/users/me"));
    let started = std::time::Instant::now();
    c.users().get_users_me().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900));
    // 503 twice: a GET is retried, a POST is not.
    mock.inject(Fault::status(503).times(2).on_path("/api/v2/groups"));
    c.groups().get_groups().send().await.unwrap();
    mock.inject(Fault::status(503).on_method("POST").on_path("/api/v2/groups"));
    let e = c.groups().post_groups(Default::default()).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    // Malformed JSON is a decode error with the body excerpt.
    mock.inject(Fault::new(FaultKind::TruncatedJson).on_path("/api/v2/users/me"));
    let e = c.users().get_users_me().send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(e.body_excerpt().unwrap().contains("truncated"));
    // A reset mid-body is a transport error; a GET is retried and succeeds.
    mock.inject(Fault::new(FaultKind::ResetMidBody).on_path("/api/v2/users/me"));
    c.users().get_users_me().send().await.unwrap();
    // Expired tokens: the client re-mints on 401 and replays.
    let before = mock.token_requests();
    mock.expire_tokens();
    c.users().get_users_me().send().await.unwrap();
    assert_eq!(mock.token_requests(), before + 1);
}

#[tokio::test]
async fn slow_answers_hit_the_attempt_timeout() {
    let mock = MockServer::start().await.unwrap();
    let c = Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("id", "secret")
        .retry(Retry::disabled())
        .timeouts(Timeouts::default().attempt(Duration::from_millis(200)))
        .build()
        .unwrap();
    c.users().get_users_me().send().await.unwrap();
    mock.inject(Fault::new(FaultKind::Latency(Duration::from_secs(2))).on_path("/api/v2/users/me"));
    assert_eq!(c.users().get_users_me().send().await.unwrap_err().kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn pkce_and_authorization_code_flows() {
    use genesys_cloud::auth::{pkce, Grant, Secret};
    use genesys_cloud_auth::request_token;
    let mock = MockServer::start_with(MockOptions::default().token_lifetime(Duration::from_secs(600))).await.unwrap();
    let login = genesys_cloud::transport::Transport::builder()
        .endpoint(genesys_cloud::transport::Endpoint::custom(&mock.base_url()).unwrap())
        .build()
        .unwrap();
    let verifier = pkce::generate_verifier(64).unwrap();
    let url = pkce::authorize_url(&mock.base_url(), "public-app", "http://localhost/cb", Some("st"), Some(&verifier));
    let path = url.trim_start_matches(&mock.base_url()).to_owned();
    let r = genesys_cloud_core::execute(
        &login,
        genesys_cloud::api::RequestParts::new(genesys_cloud::api::OperationMeta::raw(&Method::GET).unwrap(), path),
    )
    .await;
    // The authorize endpoint redirects (302), which the executor reports as a non-success.
    let e = r.unwrap_err();
    let location = e.headers().unwrap()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://localhost/cb?code=") && location.ends_with("&state=st"), "{location}");
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let wrong = Grant::Pkce {
        client_id: "public-app".into(),
        code: Secret::new(code.clone()),
        redirect_uri: "http://localhost/cb".into(),
        verifier: Secret::new("x".repeat(43)),
    };
    assert_eq!(request_token(&login, &wrong).await.unwrap_err().kind(), ErrorKind::Auth);
    // A code is single-use: get a fresh one and use the right verifier.
    let e = genesys_cloud_core::execute(
        &login,
        genesys_cloud::api::RequestParts::new(
            genesys_cloud::api::OperationMeta::raw(&Method::GET).unwrap(),
            url.trim_start_matches(&mock.base_url()).to_owned(),
        ),
    )
    .await
    .unwrap_err();
    let location = e.headers().unwrap()["location"].to_str().unwrap().to_owned();
    let code = location.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let right = Grant::Pkce {
        client_id: "public-app".into(),
        code: Secret::new(code),
        redirect_uri: "http://localhost/cb".into(),
        verifier,
    };
    let info = request_token(&login, &right).await.unwrap();
    assert_eq!(info.expires_in, Some(Duration::from_secs(600)));
    let refresh = right.refresh_with(info.refresh_token.clone().unwrap()).unwrap();
    assert!(request_token(&login, &refresh).await.is_ok());
    assert!(request_token(&login, &refresh).await.is_err(), "a rotated refresh token is spent");
}

#[tokio::test]
async fn a_fault_can_be_ordered_for_one_request() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let e = c.users().get_users_me().with_header("x-mock-fault", "418").without_retry().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(418));
    let e = c.users().get_users_me().with_header("x-mock-fault", "malformed-json").send().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    // The next request without the header is normal.
    assert!(c.users().get_users_me().send().await.is_ok());
    assert_eq!(
        FaultKind::parse("429; retry-after=2"),
        Some(FaultKind::Status { status: 429, retry_after: Some("2".into()) })
    );
    assert_eq!(FaultKind::parse("latency=250"), Some(FaultKind::Latency(Duration::from_millis(250))));
    assert_eq!(FaultKind::parse("nonsense"), None);
}

#[tokio::test]
async fn a_channel_takes_1000_topics_and_refuses_more_with_a_400() {
    use genesys_cloud::models::ChannelTopic;
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let channel = c.notifications().post_notifications_channels().send().await.unwrap().id.unwrap();
    let topics = |n: usize| -> Vec<ChannelTopic> {
        (0..n).map(|i| ChannelTopic::default().with(|t| t.id = Some(format!("v2.users.u{i}.presence")))).collect()
    };
    let e = c.notifications().put_notifications_channel_subscriptions(&channel, topics(1001)).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
    assert_eq!(mock.channel_topics(&channel).unwrap().len(), 0, "nothing of the refused request was kept");
    c.notifications().put_notifications_channel_subscriptions(&channel, topics(1000)).send().await.unwrap();
    assert_eq!(mock.channel_topics(&channel).unwrap().len(), 1000);
    // Adding (POST) past the limit is refused too.
    let one_more = vec![ChannelTopic::default().with(|t| t.id = Some("v2.users.extra.presence".into()))];
    let e = c.notifications().post_notifications_channel_subscriptions(&channel, one_more).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400), "{e}");
}

/// With a rate limit, each token is counted in its own window: the headers count down
/// truthfully, and past the allowance comes a 429 with `Retry-After` and Genesys's code.
#[tokio::test]
async fn a_rate_limit_counts_each_token_and_refuses_past_it_with_retry_after() {
    let mock = MockServer::start_with(MockOptions::default().rate_limit(3, Duration::from_secs(30))).await.unwrap();
    let unpaced = |mock: &MockServer| {
        Client::builder()
            .base_url(&mock.base_url())
            .client_credentials("mock-id", "mock-secret")
            .retry(Retry::disabled())
            .rate_limits(genesys_cloud::transport::RateLimits::unpaced())
            .build()
            .unwrap()
    };
    let c = unpaced(&mock);
    for n in 1..=3 {
        let me = c.users().get_users_me().send_with_response().await.unwrap();
        assert_eq!(me.headers["inin-ratelimit-allowed"], "3");
        assert_eq!(me.headers["inin-ratelimit-count"], n.to_string().as_str());
        let reset: u64 = me.headers["inin-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((1..=30).contains(&reset), "reset {reset}");
    }
    let e = c.users().get_users_me().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("too.many.requests.retry.after"));
    let wait = e.retry_after().expect("Retry-After on the 429");
    assert!(wait > Duration::ZERO && wait <= Duration::from_secs(30), "{wait:?}");
    assert_eq!((mock.rate_counted(), mock.rate_limited()), (3, 1));
    // Another token has an allowance of its own.
    let other = unpaced(&mock);
    other.users().get_users_me().send().await.unwrap();
    assert_eq!(mock.rate_counted(), 4);
}

/// With a client limit, an OAuth client's tokens share one allowance: a token with room left
/// is refused once its client's is used, with the client's headers and a 429; another client
/// has its own. Token requests are counted.
#[tokio::test]
async fn a_client_limit_counts_every_token_of_the_client() {
    let options =
        MockOptions::default().rate_limit(5, Duration::from_secs(30)).client_rate_limit(6, Duration::from_secs(30));
    let mock = MockServer::start_with(options).await.unwrap();
    let unpaced = |mock: &MockServer, id: &str| {
        Client::builder()
            .base_url(&mock.base_url())
            .client_credentials(id, "mock-secret")
            .retry(Retry::disabled())
            .rate_limits(genesys_cloud::transport::RateLimits::unpaced())
            .build()
            .unwrap()
    };
    let (a, b) = (unpaced(&mock, "shared-client"), unpaced(&mock, "shared-client"));
    for _ in 0..4 {
        a.users().get_users_me().send().await.unwrap();
    }
    // Token a has one left and the client two: the headers say the token's.
    let me = a.users().get_users_me().send_with_response().await.unwrap();
    assert_eq!(
        (&me.headers["inin-ratelimit-allowed"], &me.headers["inin-ratelimit-count"]),
        (&"5".parse().unwrap(), &"5".parse().unwrap())
    );
    // Token b is fresh; its client has one left: the headers say the client's.
    let me = b.users().get_users_me().send_with_response().await.unwrap();
    assert_eq!(
        (&me.headers["inin-ratelimit-allowed"], &me.headers["inin-ratelimit-count"]),
        (&"6".parse().unwrap(), &"6".parse().unwrap())
    );
    let e = b.users().get_users_me().send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert!(e.retry_after().is_some());
    assert_eq!(e.headers().unwrap()["inin-ratelimit-allowed"], "6");
    assert_eq!((mock.rate_counted(), mock.rate_limited(), mock.rate_limited_by_client()), (6, 1, 1));
    // Another OAuth client has an allowance of its own.
    unpaced(&mock, "other-client").users().get_users_me().send().await.unwrap();
    assert_eq!(mock.token_requests(), 3);
}

/// Ids round-trip: every listed user can be fetched, updated and deleted by its id, and is gone
/// after; unknown ids are 404s with a Genesys error body whose `contextId` is the answer's
/// correlation id; listed queues can be fetched too.
#[tokio::test]
async fn listed_ids_round_trip_and_unknown_ids_are_404s() {
    use genesys_cloud::prelude::*;
    let mock = MockServer::start_with(MockOptions::default().listing_total(30)).await.unwrap();
    let c = client(&mock);
    let users: Vec<_> = c.users().get_users().page_size(10).into_paginator().items().try_collect().await.unwrap();
    assert_eq!(users.len(), 30);
    for listed in &users {
        let id = listed.id.clone().unwrap();
        let fetched = c.users().get_user(&id).send().await.unwrap();
        assert_eq!((fetched.id, fetched.name), (listed.id.clone(), listed.name.clone()), "{id}");
    }
    let id = users[3].id.clone().unwrap();
    let patch = genesys_cloud::models::UpdateUser::default().with(|u| {
        u.name = Some("Renamed".into());
        u.version = Some(1);
    });
    assert_eq!(c.users().patch_user(&id, patch).send().await.unwrap().name.as_deref(), Some("Renamed"));
    assert_eq!(c.users().get_user(&id).send().await.unwrap().name.as_deref(), Some("Renamed"));
    c.users().delete_user(&id).send().await.unwrap();
    let e = c.users().get_user(&id).send().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let e = c.users().get_user("no-such-user").send().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let body = e.api_error().unwrap();
    assert_eq!(body.code.as_deref(), Some("not.found"));
    let header = e.headers().unwrap()["inin-correlation-id"].to_str().unwrap();
    assert_eq!(body.context_id.as_deref(), Some(header), "contextId is the correlation id");
    let queues: Vec<_> = c.routing().get_routing_queues().into_paginator().items().try_collect().await.unwrap();
    let queue = c.routing().get_routing_queue(queues[7].id.clone().unwrap()).send().await.unwrap();
    assert_eq!(queue.name, queues[7].name);
    assert!(c.routing().get_routing_queue("queue-999").send().await.unwrap_err().is_not_found());
}

/// A listing adds no field its entities do not declare: `IpAddressRange` has no `id`.
#[tokio::test]
async fn listings_add_no_undeclared_field() {
    let mock = MockServer::start().await.unwrap();
    let page: serde_json::Value =
        client(&mock).raw().request(Method::GET, "/api/v2/ipranges").send_json().await.unwrap();
    let entities = page["entities"].as_array().unwrap();
    assert!(!entities.is_empty());
    assert!(entities.iter().all(|e| e.get("id").is_none()), "{:?}", entities[0]);
}

/// Created queues and skills are kept: read back, listed, updated, deleted; a name in use is a 409, as a provisioning run meets it.
#[tokio::test]
async fn created_queues_and_skills_round_trip_like_users() {
    use genesys_cloud::models::{CreateQueueRequest, CreateRoutingSkill, QueueRequest};
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let routing = c.routing();
    let before = routing.get_routing_queues().send().await.unwrap().total.unwrap();

    let created = routing.post_routing_queues(CreateQueueRequest::default().name("Support EN")).send().await.unwrap();
    let id = created.id.clone().unwrap();
    assert_eq!(created.name.as_deref(), Some("Support EN"));
    let read = routing.get_routing_queue(&id).send().await.unwrap();
    assert_eq!(read.name.as_deref(), Some("Support EN"), "read back as created, not a sample");
    let listed = routing.get_routing_queues().page_size(500).send().await.unwrap();
    assert_eq!(listed.total, Some(before + 1));
    assert!(listed.entities.unwrap().iter().any(|q| q.id.as_deref() == Some(id.as_str())));

    let again = routing.post_routing_queues(CreateQueueRequest::default().name("support en")).send().await;
    let e = again.unwrap_err();
    assert!(e.is_conflict() && e.code() == Some("general.conflict"), "{e}");

    let renamed = routing.put_routing_queue(&id, QueueRequest::default().name("Support English")).send().await.unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Support English"));
    assert_eq!(routing.get_routing_queue(&id).send().await.unwrap().name.as_deref(), Some("Support English"));
    routing.delete_routing_queue(&id).send().await.unwrap();
    assert!(routing.get_routing_queue(&id).send().await.unwrap_err().is_not_found());

    let skill = routing.post_routing_skills(CreateRoutingSkill::default().name("Spanish")).send().await.unwrap();
    let skill_id = skill.id.clone().unwrap();
    assert_eq!(routing.get_routing_skill(&skill_id).send().await.unwrap().name.as_deref(), Some("Spanish"));
    let skills = routing.get_routing_skills().send().await.unwrap().entities.unwrap();
    assert_eq!(skills.iter().filter_map(|s| s.name.as_deref()).collect::<Vec<_>>(), ["Spanish"]);
}

#[tokio::test]
async fn a_text_operation_answers_its_media_type_and_refuses_a_client_that_takes_only_json() {
    let mock = MockServer::start().await.unwrap();
    let c = client(&mock);
    let template = "/api/v2/integrations/actions/a-1/templates/requestMapping.vm";
    // The raw escape hatch sends `Accept: application/json`, which this operation cannot
    // produce: a server that honours `Accept` answers 406.
    let e = c.raw().request(Method::GET, template).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(406), "{e}");
    assert_eq!(e.api_error().unwrap().code.as_deref(), Some("not.acceptable"));
    for accept in ["text/plain", "text/*", "application/json;q=0.9, */*;q=0.1"] {
        let answer = c
            .raw()
            .request(Method::GET, template)
            .with_header("accept", accept)
            .send_json_with_response::<serde_json::Value>()
            .await;
        // A 200 with text, not JSON: decoding it as JSON fails, with the status kept.
        let e = answer.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode, "{accept}: {e}");
        assert_eq!(e.status().map(|s| s.as_u16()), Some(200), "{accept}: {e}");
    }
    // A JSON operation still takes `application/json`, and `*/*`.
    for accept in ["application/json", "*/*"] {
        let me = c.raw().request(Method::GET, "/api/v2/users/me").with_header("accept", accept).send().await;
        assert!(me.is_ok(), "{accept}: {me:?}");
    }
}
