//! Read-modify-write: ten tasks each add one to a counter kept in a user's `title`, ten times,
//! against the mock (which refuses a stale `version` with 409, as the platform does). First by
//! hand (read, change, write back the version read: a conflict loses the update), then through
//! `client.modify().user(…)`, which reads and applies again on a conflict. Prints one line
//! for each way: where the counter ended and how many writes were refused or retried.
//!
//! `cargo run -p genesys-cloud-examples --example read_modify_write`

use genesys_cloud::models::{CreateUser, UpdateUser};
use genesys_cloud::Client;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

fn count(title: Option<&str>) -> u32 {
    title.and_then(|t| t.parse().ok()).unwrap_or(0)
}

async fn counter_user(client: &Client, email: &str) -> Result<String, genesys_cloud::Error> {
    let mut create = CreateUser::default();
    create.name = Some("Counter".into());
    create.email = Some(email.into());
    create.password = Some("a-Passw0rd-long-enough".into());
    create.division_id = Some("mock-division-home".into());
    let user = client.users().post_users(create).send().await?;
    let id = user.id.unwrap_or_default();
    let mut update = UpdateUser::default();
    update.title = Some("0".into());
    update.version = user.version;
    client.users().patch_user(id.clone(), update).send().await?;
    Ok(id)
}

/// Ten tasks, ten increments each, with `increment` doing one; the counter at the end and the
/// sum of what the increments returned.
async fn race<F, Fut>(client: &Client, id: &str, increment: F) -> Result<(u32, u32), genesys_cloud::Error>
where
    F: Fn(Client, String) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<u32, genesys_cloud::Error>> + Send,
{
    let counted = Arc::new(AtomicU32::new(0));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (client, id, counted, increment) = (client.clone(), id.to_owned(), counted.clone(), increment.clone());
            tokio::spawn(async move {
                for _ in 0..10 {
                    counted.fetch_add(increment(client.clone(), id.clone()).await?, Ordering::Relaxed);
                }
                Ok::<_, genesys_cloud::Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| genesys_cloud::Error::build(e.to_string()))??;
    }
    let user = client.users().get_user(id).send().await?;
    Ok((count(user.title.as_deref()), counted.load(Ordering::Relaxed)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (builder, _mock) = genesys_cloud_examples::connect().await?;
    let client = builder.build()?;

    let id = counter_user(&client, "rmw-by-hand@example.com").await?;
    let (by_hand, lost) = race(&client, &id, |client, id| async move {
        let user = client.users().get_user(id.clone()).send().await?;
        let mut update = UpdateUser::default();
        update.title = Some((count(user.title.as_deref()) + 1).to_string());
        update.version = user.version;
        match client.users().patch_user(id, update).send().await {
            Ok(_) => Ok(0),
            Err(e) if e.is_conflict() => Ok(1),
            Err(e) => Err(e),
        }
    })
    .await?;
    println!("by hand: the counter ended at {by_hand} of 100 ({lost} updates lost to version conflicts)");

    let id = counter_user(&client, "rmw-helper@example.com").await?;
    let (helped, retried) = race(&client, &id, |client, id| async move {
        let done = client.modify().user(id, |u| u.title = Some((count(u.title.as_deref()) + 1).to_string())).await?;
        Ok(done.attempts - 1)
    })
    .await?;
    println!("client.modify(): the counter ended at {helped} of 100 ({retried} conflicts read and applied again)");
    Ok(())
}
