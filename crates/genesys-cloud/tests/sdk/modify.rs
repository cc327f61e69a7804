//! Read-modify-write against the mock, which refuses a stale `version` with 409 as the
//! platform does: ten tasks each add one to a user's counter ten times. Through
//! `client.modify()` the counter ends at 100; by hand (read, change, write the version read)
//! the writes that lose the race are refused and their updates lost.

use genesys_cloud::models::{CreateUser, UpdateUser};
use genesys_cloud::Client;
use genesys_cloud_mock::MockServer;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// A user whose `title` holds a counter at 0.
async fn counter_user(client: &Client, email: &str) -> String {
    let mut create = CreateUser::default();
    create.name = Some("Counter".into());
    create.email = Some(email.into());
    create.password = Some("a-Passw0rd-long-enough".into());
    create.division_id = Some("mock-division-home".into());
    let user = client.users().post_users(create).send().await.unwrap();
    let id = user.id.unwrap();
    let mut update = UpdateUser::default();
    update.title = Some("0".into());
    update.version = user.version;
    client.users().patch_user(id.clone(), update).send().await.unwrap();
    id
}

fn count(title: Option<&str>) -> u32 {
    title.and_then(|t| t.parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_writers_lose_no_update_through_the_helper_and_lose_some_by_hand() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::builder().base_url(&mock.base_url()).client_credentials("rmw", "rmw-secret").build().unwrap();

    let id = counter_user(&client, "helper@example.com").await;
    let conflicts = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (client, id, conflicts) = (client.clone(), id.clone(), conflicts.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    let done = client
                        .modify()
                        .user(id.clone(), |user| user.title = Some((count(user.title.as_deref()) + 1).to_string()))
                        .await
                        .unwrap();
                    conflicts.fetch_add(done.attempts - 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let user = client.users().get_user(id).send().await.unwrap();
    assert_eq!(count(user.title.as_deref()), 100, "no update lost");
    let conflicts = conflicts.load(Ordering::Relaxed);
    assert!(conflicts > 0, "the writers did race: {conflicts} conflicts, each read and applied again");

    // By hand: read, change, write back the version read; a conflict loses the update.
    let id = counter_user(&client, "by-hand@example.com").await;
    let refused = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (client, id, refused) = (client.clone(), id.clone(), refused.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    let user = client.users().get_user(id.clone()).send().await.unwrap();
                    let mut update = UpdateUser::default();
                    update.title = Some((count(user.title.as_deref()) + 1).to_string());
                    update.version = user.version;
                    match client.users().patch_user(id.clone(), update).send().await {
                        Ok(_) => {}
                        Err(e) if e.is_conflict() => {
                            refused.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let user = client.users().get_user(id).send().await.unwrap();
    let by_hand = count(user.title.as_deref());
    let refused = refused.load(Ordering::Relaxed);
    assert_eq!(by_hand + refused, 100, "every update either landed or was refused");
    assert!(refused > 0, "by hand, updates were lost: the counter ended at {by_hand}");
    println!(
        "through the helper: 100 of 100 ({conflicts} conflicts retried); by hand: {by_hand} of 100 ({refused} lost)"
    );
}

#[tokio::test]
async fn a_conflict_that_never_clears_ends_after_the_attempts_with_the_conflict() {
    let mock = MockServer::start().await.unwrap();
    let client = Client::builder().base_url(&mock.base_url()).client_credentials("rmw", "rmw-secret").build().unwrap();
    let id = counter_user(&client, "stuck@example.com").await;
    mock.inject(
        genesys_cloud_mock::Fault::status(409).on_path(format!("/api/v2/users/{id}")).on_method("PATCH").times(100),
    );
    let applied = AtomicU32::new(0);
    let e = client
        .modify()
        .attempts(3)
        .user(id, |_| {
            applied.fetch_add(1, Ordering::Relaxed);
        })
        .await
        .unwrap_err();
    assert!(genesys_cloud::modify::is_version_conflict(&e), "{e}");
    assert_eq!(applied.load(Ordering::Relaxed), 3, "three reads, each applied once");
}
