//! Asynchronous jobs against the mock's stateful jobs, over real sockets; and 404s right after
//! a create.

use genesys_cloud::jobs::{families, JobOptions, JobState};
use genesys_cloud::models::AsyncConversationQuery;
use genesys_cloud::prelude::*;
use genesys_cloud::transport::Retry;
use genesys_cloud::Client;
use genesys_cloud::RetryOverride;
use genesys_cloud_mock::{MockOptions, MockServer};
use genesys_cloud_spec::{Document, SampleOptions, Sampler};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn client(mock: &MockServer) -> Client {
    Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("mock-id", "mock-secret")
        .retry(Retry::default().backoff(Duration::from_millis(5), Duration::from_millis(50)))
        .build()
        .unwrap()
}

fn quick() -> JobOptions {
    JobOptions::default().poll(Duration::from_millis(20), Duration::from_millis(100))
}

fn details_query() -> Value {
    json!({"interval": "2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", "order": "asc"})
}

/// Hang guard: nothing here takes more than a few seconds.
async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut).await.expect("the job hung")
}

/// The spec's families of that shape are exactly the list, and the mock runs them all.
#[tokio::test]
async fn every_jobs_family_of_the_spec_is_listed() {
    let doc = Document::parse(genesys_cloud_mock::SPEC).unwrap();
    let paths = doc.root()["paths"].as_object().unwrap();
    let refers = |v: &Value, name: &str| v["$ref"].as_str().is_some_and(|r| r.ends_with(&format!("/{name}")));
    let mut found = BTreeSet::new();
    for (path, item) in paths {
        let Some(family) = path.strip_suffix("/jobs") else { continue };
        let submits = item["post"]["responses"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(code, r)| code.starts_with('2') && refers(&r["schema"], "AsyncQueryResponse"));
        let status = &paths.get(&format!("{family}/jobs/{{jobId}}")).unwrap_or(&Value::Null)["get"];
        let results = &paths.get(&format!("{family}/jobs/{{jobId}}/results")).unwrap_or(&Value::Null)["get"];
        if submits && refers(&status["responses"]["200"]["schema"], "AsyncQueryStatus") && results.is_object() {
            found.insert(family.to_owned());
        }
    }
    let listed: BTreeSet<String> = families::ALL.iter().map(|f| f.path().to_owned()).collect();
    assert_eq!(listed, found);
    assert_eq!(found.len(), 22);
    for f in families::ALL {
        let status = &paths[&format!("{}/jobs/{{jobId}}", f.path())];
        assert_eq!(f.cancellable(), status.get("delete").is_some(), "{}", f.path());
        assert!(doc.definition(f.item_model()).is_some() && doc.definition(f.query_model()).is_some());
    }
    let mock = MockServer::start().await.unwrap();
    assert_eq!(mock.job_families(), 22);
}

/// Submit, poll through QUEUED and PENDING, read 250 conversations over three cursors into the
/// generated model; the progress says so; a job read to the end is not cancelled.
#[tokio::test]
async fn a_details_job_is_submitted_polled_and_read_across_cursors() {
    let options = MockOptions::default().job_delay(Duration::from_millis(300)).job_items(250);
    let mock = MockServer::start_with(options).await.unwrap();
    let client = client(&mock);
    // A typed family: the query is the spec's model, built with its setters, and the results'
    // type is inferred.
    let jobs = client.jobs(families::CONVERSATIONS_DETAILS).options(quick().page_size(100));
    let query = AsyncConversationQuery::default().interval("2026-11-01T00:00:00Z/2026-11-02T00:00:00Z");
    let job = jobs.submit(&query).await.unwrap();
    assert!(job.id().starts_with("mock-job-"));
    let progress = job.progress();
    bounded(job.wait()).await.unwrap();
    let status = job.status().await.unwrap();
    let (submitted, done, expires) =
        (status.submission_date.unwrap(), status.completion_date.unwrap(), status.expiration_date.unwrap());
    assert!(submitted <= done && done < expires, "{status:?}");
    assert_eq!(expires - submitted, chrono::Duration::days(1), "the mock keeps results for a day");
    let conversations: Vec<_> = bounded(job.results().try_collect()).await.unwrap();
    assert_eq!(conversations.len(), 250);
    let ids: BTreeSet<_> = conversations.iter().map(|c| c.conversation_id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 250, "every conversation once");
    let p = progress.borrow().clone();
    assert_eq!((&p.state, p.pages, p.items), (&JobState::Fulfilled, 3, 250));
    assert!(p.polls >= 2, "queued or pending first, then fulfilled: {p:?}");
    assert!(p.elapsed >= Duration::from_millis(300), "at least the job's 300 ms: {p:?}");
    assert_eq!(mock.hits(&format!("{}/jobs/{}/results", families::CONVERSATIONS_DETAILS.path(), "mock-job-000001")), 3);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(mock.job_counts(), (1, 0), "read to the end: nothing to cancel");
}

/// FAILED and EXPIRED are typed errors, with the server's message.
#[tokio::test]
async fn failed_and_expired_jobs_are_typed_errors() {
    let mock = MockServer::start_with(MockOptions::default().job_delay(Duration::from_millis(100))).await.unwrap();
    let jobs = client(&mock).jobs(families::USERS_DETAILS.untyped()).options(quick());
    let failed = jobs.submit_with(&details_query(), &[("x-mock-job", "failed")]).await.unwrap();
    let e = bounded(failed.wait()).await.unwrap_err();
    assert!(e.is_job_failed(), "{e}");
    assert!(e.to_string().contains("mock: the job failed"), "the server's message: {e}");
    let expired = jobs.submit_with(&details_query(), &[("x-mock-job", "expired")]).await.unwrap();
    let mut results = expired.results();
    let e = bounded(results.try_next()).await.unwrap_err();
    assert!(e.is_job_expired(), "{e}");
    assert_eq!(e.kind(), genesys_cloud::ErrorKind::JobExpired);
}

/// A client whose calls with method DELETE are counted as they start (a standard tower layer
/// around each call), and the counter.
fn counting_deletes(mock: &MockServer) -> (Client, Arc<AtomicUsize>) {
    let deletes = Arc::new(AtomicUsize::new(0));
    let seen = deletes.clone();
    let count = tower::util::MapRequestLayer::new(move |req: genesys_cloud::transport::http::Request<_>| {
        if req.method() == genesys_cloud::transport::http::Method::DELETE {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        req
    });
    let client = Client::builder()
        .base_url(&mock.base_url())
        .client_credentials("mock-id", "mock-secret")
        .retry(Retry::default().backoff(Duration::from_millis(5), Duration::from_millis(50)))
        .with_layer(count)
        .build()
        .unwrap();
    (client, deletes)
}

/// Lets every task spawned so far run up to its first wait (the tests run on one thread): a
/// cancel spawned by a drop has then started its `DELETE` call.
async fn let_spawned_tasks_start() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// A job this handle submitted, dropped before any result was read, is cancelled with a
/// `DELETE`.
#[tokio::test]
async fn a_submitted_job_dropped_unread_is_cancelled() {
    let options = MockOptions::default().job_delay(Duration::from_millis(500)).job_items(500);
    let mock = MockServer::start_with(options).await.unwrap();
    let (client, deletes) = counting_deletes(&mock);
    let job =
        client.jobs(families::CONVERSATIONS_DETAILS.untyped()).options(quick()).submit(&details_query()).await.unwrap();
    drop(job);
    let_spawned_tasks_start().await;
    assert_eq!(deletes.load(Ordering::SeqCst), 1, "the drop started a cancel");
    bounded(async {
        while mock.job_counts().1 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(mock.job_counts(), (1, 1));
}

/// Only the owner cancels, only while the results are unread, never after an error: a job
/// attached to by id, a job whose results were started, and a job whose results stream
/// failed are all left running when dropped, and can be read again by id.
#[tokio::test]
async fn a_job_is_not_cancelled_on_drop_unless_owned_unread_and_error_free() {
    let options = MockOptions::default().job_delay(Duration::from_millis(50)).job_items(500);
    let mock = MockServer::start_with(options).await.unwrap();
    let (client, deletes) = counting_deletes(&mock);
    let jobs = client.jobs(families::CONVERSATIONS_DETAILS.untyped()).options(quick().page_size(100));

    // Attached by id: another process may own it.
    let submitted = jobs.submit(&details_query()).await.unwrap();
    let id = submitted.id().to_owned();
    let attached = jobs.attach(&id);
    bounded(attached.wait()).await.unwrap();
    drop(attached);
    let_spawned_tasks_start().await;
    assert_eq!(deletes.load(Ordering::SeqCst), 0, "an attached job is not cancelled on drop");

    // Results started, then dropped.
    let mut results = submitted.results();
    assert!(bounded(results.try_next()).await.unwrap().is_some());
    drop(results);
    let_spawned_tasks_start().await;
    assert_eq!(deletes.load(Ordering::SeqCst), 0, "a job whose results were started is not cancelled");

    // A results stream that failed on a transient error.
    let failing = jobs.submit(&details_query()).await.unwrap();
    let failing_id = failing.id().to_owned();
    let results_path = format!("{}/jobs/{failing_id}/results", families::CONVERSATIONS_DETAILS.path());
    mock.inject(genesys_cloud_mock::Fault::status(503).on_path(&results_path).times(10));
    let mut results = failing.results();
    let e = bounded(results.try_next()).await.unwrap_err();
    assert!(e.status().is_some_and(|s| s.as_u16() == 503), "{e}");
    drop(results);
    let_spawned_tasks_start().await;
    assert_eq!(deletes.load(Ordering::SeqCst), 0, "a job that saw an error is not cancelled");
    mock.clear_faults();

    // Both jobs are still there, whole.
    for id in [id, failing_id] {
        let items: Vec<Value> = bounded(jobs.attach(&id).results().try_collect()).await.unwrap();
        assert_eq!(items.len(), 500, "job {id} was read again from the start");
    }
    assert_eq!(mock.job_counts(), (2, 0), "nothing was cancelled");
}

/// An explicit cancel works on any job, attached ones too.
#[tokio::test]
async fn cancel_works_on_an_attached_job() {
    let options = MockOptions::default().job_delay(Duration::from_secs(30));
    let mock = MockServer::start_with(options).await.unwrap();
    let (client, deletes) = counting_deletes(&mock);
    let jobs = client.jobs(families::CONVERSATIONS_DETAILS.untyped()).options(quick());
    // The submitting handle stays alive (dropped unread, it would cancel the job itself).
    let submitted = jobs.submit(&details_query()).await.unwrap();
    bounded(jobs.attach(submitted.id()).cancel()).await.unwrap();
    assert_eq!(deletes.load(Ordering::SeqCst), 1);
    assert_eq!(mock.job_counts(), (1, 1));
    let e = bounded(submitted.wait()).await.unwrap_err();
    assert!(e.is_job_failed() && e.to_string().contains("cancelled"), "{e}");
}

/// A status answer's Retry-After is the next wait: a job of 2.5 s is polled about twice, not
/// every 20 ms.
#[tokio::test]
async fn a_status_retry_after_is_waited_for() {
    let mock = MockServer::start_with(MockOptions::default().job_delay(Duration::from_millis(2500))).await.unwrap();
    let job = client(&mock)
        .jobs(families::CONVERSATIONS_DETAILS.untyped())
        .options(quick())
        .submit(&details_query())
        .await
        .unwrap();
    bounded(job.wait()).await.unwrap();
    let polls = job.progress().borrow().polls;
    assert!((2..=3).contains(&polls), "polled {polls} times");
}

/// Every family runs through the same helper: a query sampled from its query model, the
/// results read to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_runs_through_the_one_helper() {
    let options = MockOptions::default().job_delay(Duration::from_millis(20)).job_items(30);
    let mock = MockServer::start_with(options).await.unwrap();
    let client = client(&mock);
    let doc = Document::parse(genesys_cloud_mock::SPEC).unwrap();
    let sampler = Sampler::new(&doc, SampleOptions { max_depth: 1, ..Default::default() });
    for family in families::ALL {
        let query = sampler.definition(family.query_model()).unwrap();
        let job = client.jobs(*family).options(quick().page_size(10)).submit(&query).await.unwrap();
        let items: Vec<Value> = bounded(job.results().try_collect()).await.unwrap();
        assert_eq!(items.len(), 30, "{}", family.path());
    }
    assert_eq!(mock.job_counts(), (22, 0));
}

/// Right after a create, a read can answer 404 for a while: the per-call option waits it out;
/// without it, the 404 is the answer.
#[tokio::test]
async fn a_read_right_after_a_create_waits_out_the_404s_when_asked() {
    let mock =
        MockServer::start_with(MockOptions::default().eventual_consistency(Duration::from_millis(600))).await.unwrap();
    let client = client(&mock);
    let user = genesys_cloud::models::CreateUser::default().with(|u| {
        u.name = Some("Eve".into());
        u.email = Some("eve@example.com".into());
        u.division_id = Some("home".into());
    });
    let created = client.users().post_users(user.clone()).send().await.unwrap();
    let id = created.id.unwrap();
    let e = client.users().get_user(&id).send().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
    let read =
        bounded(client.users().get_user(&id).with_retry(RetryOverride::eventually_consistent()).send()).await.unwrap();
    assert_eq!(read.id.as_deref(), Some(id.as_str()));
    assert!(mock.hits(&format!("/api/v2/users/{id}")) >= 3, "404s, then the user");
    // A bounded wait: past it, the 404 is the answer.
    let user = user.email("eve.two@example.com"); // an email in use is a 409
    let other = client.users().post_users(user).send().await.unwrap().id.unwrap();
    let short = RetryOverride::default().not_found_for(Duration::from_millis(100));
    let e = client.users().get_user(&other).with_retry(short).send().await.unwrap_err();
    assert!(e.is_not_found(), "{e}");
}

/// A report computed from an export agrees with the aggregate the mock answers for the same
/// interval: the mock draws both from its own queues (a queue created first is in both).
#[tokio::test]
async fn a_per_queue_count_from_an_export_equals_the_aggregate() {
    use genesys_cloud::models::{AnalyticsConversation, ConversationAggregationQuery, CreateQueueRequest};
    use std::collections::BTreeMap;
    let mock = MockServer::start_with(MockOptions::default().job_delay(Duration::from_millis(50)).job_items(500))
        .await
        .unwrap();
    let client = client(&mock);
    let created =
        client.routing().post_routing_queues(CreateQueueRequest::default().name("Billing")).send().await.unwrap();
    let billing = created.id.unwrap();
    let interval = "2026-12-01T00:00:00.000Z/2026-12-02T00:00:00.000Z";

    let query = AsyncConversationQuery::default().interval(interval).order("asc");
    let job =
        client.jobs(families::CONVERSATIONS_DETAILS).options(quick().page_size(100)).submit(&query).await.unwrap();
    let conversations: Vec<AnalyticsConversation> = bounded(job.results().try_collect()).await.unwrap();
    let mut exported: BTreeMap<String, u64> = BTreeMap::new();
    for c in &conversations {
        let queue = c
            .participants
            .iter()
            .flatten()
            .flat_map(|p| p.sessions.iter().flatten())
            .flat_map(|s| s.segments.iter().flatten())
            .find_map(|s| s.queue_id.clone())
            .expect("every conversation waited in a queue");
        *exported.entry(queue).or_default() += 1;
    }

    let aggregate = ConversationAggregationQuery::default()
        .interval(interval)
        .group_by(vec!["queueId".to_owned()])
        .metrics(vec!["nConnected".to_owned(), "tHandle".to_owned()]);
    let answer = client.analytics().post_analytics_conversations_aggregates_query(aggregate).send().await.unwrap();
    let mut aggregated: BTreeMap<String, u64> = BTreeMap::new();
    for result in answer.results.unwrap() {
        let queue = result.group.unwrap()["queueId"].clone();
        let data = result.data.unwrap();
        assert_eq!(data.len(), 1, "no granularity: one interval");
        assert_eq!(data[0].interval.as_deref(), Some(interval));
        let metrics = data[0].metrics.as_ref().unwrap();
        let n = metrics[0].stats.as_ref().unwrap().count.unwrap();
        assert_eq!(metrics[0].metric.as_deref(), Some("nConnected"));
        assert_eq!(metrics[1].stats.as_ref().unwrap().sum, Some(45_000.0 * n as f64), "tHandle: 45 s each");
        aggregated.insert(queue, n as u64);
    }
    assert_eq!(exported.values().sum::<u64>(), 500);
    assert_eq!(exported, aggregated, "the report from the export is the aggregate");
    assert_eq!(exported.len(), 46, "the 45 queues of the fixed set and the one created");
    assert!(exported.contains_key(&billing));

    let hourly = ConversationAggregationQuery::default()
        .interval(interval)
        .granularity("PT1H")
        .group_by(vec!["mediaType".to_owned()])
        .metrics(vec!["nConnected".to_owned()]);
    let answer = client.analytics().post_analytics_conversations_aggregates_query(hourly).send().await.unwrap();
    let results = answer.results.unwrap();
    assert_eq!(results.len(), 4, "voice, chat, email, message");
    assert!(results.iter().all(|r| r.data.as_ref().unwrap().len() == 24), "24 hours each");
    let e = client
        .analytics()
        .post_analytics_conversations_aggregates_query(
            ConversationAggregationQuery::default().metrics(vec!["nConnected".to_owned()]),
        )
        .send()
        .await
        .unwrap_err();
    assert!(e.is_bad_request(), "no interval: {e}");
}

/// An export stopped part-way resumes from its last full page: the job is submitted once, the
/// page being read when it stopped is read again (at least once), nothing is lost, and a
/// second exporter of the same query meanwhile is refused. Read to its end, the checkpoint is
/// gone and the next export submits again.
#[tokio::test]
async fn an_export_stopped_part_way_resumes_from_its_last_page() {
    use genesys_cloud::jobs::MemoryCheckpointStore;
    let options = MockOptions::default().job_delay(Duration::from_millis(200)).job_items(1000);
    let mock = MockServer::start_with(options).await.unwrap();
    let client = client(&mock);
    let store = Arc::new(MemoryCheckpointStore::default());
    let jobs = client
        .jobs(families::CONVERSATIONS_DETAILS)
        .options(quick().page_size(100))
        .checkpointed(store.clone(), "resume-test");
    let query = AsyncConversationQuery::default().interval("2026-11-01T00:00:00Z/2026-11-02T00:00:00Z");
    let id = |c: &genesys_cloud::models::AnalyticsConversation| c.conversation_id.clone().unwrap();

    let mut first = jobs.export(&query).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 250 {
        seen.push(id(&bounded(first.try_next()).await.unwrap().unwrap()));
    }
    // A second exporter of the same query while the first holds its lease.
    let refused = jobs.export(&query).await.unwrap_err();
    assert_eq!(refused.kind(), genesys_cloud::ErrorKind::Leased, "{refused}");
    drop(first);
    let_spawned_tasks_start().await;

    let resumed: Vec<_> = bounded(jobs.export(&query).await.unwrap().try_collect()).await.unwrap();
    assert_eq!(mock.job_counts().0, 1, "the job was submitted once");
    assert_eq!(resumed.len(), 800, "from the third page on: the page read half-way is read again");
    seen.extend(resumed.iter().map(id));
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 1000, "no conversation lost");
    assert_eq!(seen.len() - unique.len(), 50, "the half-read page, once more");

    // Done: the next export of the query is a new job.
    let again: Vec<_> = bounded(jobs.export(&query).await.unwrap().try_collect()).await.unwrap();
    assert_eq!((again.len(), mock.job_counts().0), (1000, 2));
}
