//! Models without a client: read a user as the API sends it, change it, and write the JSON a
//! PATCH would send, including an explicit `null` and an enum value this SDK does not know.
//!
//! Run with `cargo run -p genesys-cloud-examples --example models`.

use genesys_cloud_models::prelude::*;
use genesys_cloud_models::{Queue, User, UserStateEnum};

/// A user as `GET /api/v2/users/{userId}` returns it (abridged), with a field and an enum value
/// from a newer API than this SDK.
const USER: &str = r#"{
  "id": "a1b2c3d4-0000-4000-8000-000000000001",
  "name": "Ann Agent",
  "email": "ann@example.com",
  "state": "pending-review",
  "department": "Support",
  "title": null,
  "version": 7,
  "dateLastLogin": "2026-11-28T09:15:02.417Z",
  "someFutureField": {"flag": true}
}"#;

fn main() -> Result<(), serde_json::Error> {
    let user = User::from_json(USER)?;
    println!(
        "Read {} ({}), version {:?}",
        user.name.as_deref().unwrap_or("?"),
        user.email.as_deref().unwrap_or("?"),
        user.version
    );
    match &user.state {
        Some(UserStateEnum::Active) => println!("state: active"),
        Some(UserStateEnum::Unknown(raw)) => {
            println!("state: {raw:?} (unknown to this SDK, kept verbatim)")
        }
        Some(other) => println!("state: {other}"),
        None => println!("state: absent"),
    }
    if let Some(at) = user.date_last_login {
        println!("last login: {} (typed chrono::DateTime<Utc>)", at.format("%Y-%m-%d %H:%M UTC"));
    }
    println!("Debug shows present fields only:\n  {user:?}");

    // Modify and write back: the unknown enum value, the explicit null and the field from a
    // newer API all survive, so the PUT erases nothing on the server.
    let mut edited = user.clone();
    edited.department = Some("Escalations".into());
    println!("\nPUT body:\n{}", edited.to_json_pretty()?);

    // A PATCH that clears the department: `None` alone would omit it; set_null sends null.
    let mut patch = User::default().with(|u| u.version = user.version);
    patch.set_null("department").expect("User has a department field");
    println!("\nPATCH body: {}", patch.to_json()?);

    // Build a queue outside the crate: Default plus fields, or `with` in one expression.
    let queue = Queue::default().with(|q| {
        q.name = Some("Tier 2".into());
        q.description = Some("Escalated calls".into());
    });
    println!("\nNew queue: {}", queue.to_json()?);
    Ok(())
}
