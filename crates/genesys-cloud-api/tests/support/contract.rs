// Every generated operation through the real transport (hyper, retries, the token cache)
// against `genesys-cloud-mock` on loopback: the request must be accepted by the mock's router
// and validation, and the mock's sampled answer must decode into the operation's type.

use super::support::{Case, Harness, Results};
use genesys_cloud_auth::Grant;
use genesys_cloud_transport::{Endpoint, Retry, Transport};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Operations whose body the mock checks against its own state; see `run`.
const STATEFUL_BODIES: &[&str] =
    &["postAnalyticsConversationsAggregatesQuery", "patchUserPresence", "patchUserPresencesPurecloud"];

pub fn run(spec: &str, cases: Vec<Case>) -> Results {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
    rt.block_on(async {
        let mock = genesys_cloud_mock::MockServer::start().await.expect("the mock starts");
        let transport = Transport::builder()
            .endpoint(Endpoint::custom(&mock.base_url()).expect("a base URL"))
            .grant(Grant::client_credentials("contract-test", "contract-secret"))
            .retry(Retry::disabled())
            .build()
            .expect("a transport");
        let mut h = Harness::new(spec);
        h.executor = Arc::new(transport);
        let mut results = Results { passed: 0, failures: Vec::new(), per_tag: BTreeMap::new() };
        for (id, case) in cases {
            let entry = results.per_tag.entry(h.tag_of(id)).or_default();
            match case(&h).await {
                // A stateful collection of the mock (users, queues, jobs, notification
                // channels, a queue's members) answers an id it never issued as the API does:
                // 404 `not.found`. The request was still routed (a path the mock does not know
                // is a 404 saying so, and fails here) and validated.
                Ok(_) => {
                    results.passed += 1;
                    entry.0 += 1;
                }
                Err(e)
                    if e.is_not_found()
                        && (id.contains("NotificationsChannel") || id.contains("RoutingQueueMember") || e.api_error().is_some_and(|b| {
                            b.code.as_deref() == Some("not.found")
                                && !b.message.as_deref().unwrap_or_default().starts_with("no operation matches")
                        })) =>
                {
                    results.passed += 1;
                    entry.0 += 1;
                }
                // The mock checks these bodies against its own state, as the API does (a
                // presence definition the org has, a real interval): a sampled body is refused
                // with a 400 after it was routed and validated.
                Err(e) if e.is_bad_request() && STATEFUL_BODIES.contains(&id) => {
                    results.passed += 1;
                    entry.0 += 1;
                }
                Err(e) => {
                    results.failures.push(format!("{id}: {e}"));
                    entry.1 += 1;
                }
            }
        }
        assert_eq!(mock.token_requests(), 1, "one token for every call");
        results
    })
}
