//! The users feed: every write's event on `GET /changes`, at the position its answer names.

use kit::test_util::{change_position, changes};
use serde_json::{Value, json};

use crate::helpers::spawn_app;

/// The events of `subject`, in feed order.
fn of(events: &[Value], subject: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["subject"] == subject)
        .cloned()
        .collect()
}

#[tokio::test]
async fn each_write_is_an_event_at_the_position_it_answers_with() {
    let app = spawn_app("sqlite::memory:", None).await;
    let base = app.url("");

    let created = app
        .post_json("/users", &json!({"name": "Ada", "avatar_url": null}))
        .await;
    assert_eq!(created.status(), 201);
    let (source, seq) = change_position(&created);
    assert_eq!(source, "users");
    let user: Value = created.json().await.unwrap();
    let id = user["id"].to_string();
    let events = changes(&app.client, &base).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event["type"], "user.upserted");
    assert_eq!(event["subject"], id.as_str());
    assert_eq!(event["seq"], seq);
    assert_eq!(event["source"], "users");
    assert_eq!(event["origin"], "users");
    assert_eq!(event["data"], user, "data is the API's User");

    let patched = app
        .patch_json(&format!("/users/{id}"), &json!({"name": "Ada L."}))
        .await;
    assert_eq!(patched.status(), 200);
    let (_, patched_seq) = change_position(&patched);
    assert!(patched_seq > seq);
    let after_patch: Value = patched.json().await.unwrap();
    let events = changes(&app.client, &base).await;
    // Compacted: the user's latest event only, newer in version.
    let mine = of(&events, &id);
    assert_eq!(mine.len(), 1, "{events:?}");
    assert_eq!(mine[0]["seq"], patched_seq);
    assert_eq!(mine[0]["data"], after_patch);
    assert!(mine[0]["version"].as_i64() > event["version"].as_i64());

    let deleted = app.delete(&format!("/users/{id}")).await;
    assert_eq!(deleted.status(), 204);
    let (_, deleted_seq) = change_position(&deleted);
    let events = changes(&app.client, &base).await;
    let mine = of(&events, &id);
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["type"], "user.deleted");
    assert_eq!(mine[0]["seq"], deleted_seq);
    assert!(mine[0].get("data").is_none(), "a tombstone has no data");

    // Refused writes change nothing and name no position.
    let missing = app.delete(&format!("/users/{id}")).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("x-change-position").is_none());
    let bad = app.post_json("/users", &json!({"name": ""})).await;
    assert_eq!(bad.status(), 422);
    assert_eq!(changes(&app.client, &base).await.len(), 1);
}

#[tokio::test]
async fn the_demo_fill_records_its_users_as_replicated_from_demo() {
    let app = spawn_app("sqlite::memory:", Some("users=7,friends=2,messages=1")).await;
    let events = changes(&app.client, &app.url("")).await;
    assert_eq!(events.len(), 7);
    let world = kit::demo::World::new("users=7,friends=2,messages=1".parse().unwrap());
    for (event, user) in events.iter().zip(world.users()) {
        assert_eq!(event["type"], "user.upserted");
        assert_eq!(event["subject"], user.id.to_string());
        assert_eq!(event["origin"], "demo");
        assert_eq!(event["version"], user.created_at.as_micros());
        let api = app.get_json(&format!("/users/{}", user.id)).await;
        assert_eq!(event["data"], api, "data is what the API answers");
    }
    // New users follow the demo's: their events come after.
    let created = app.post_json("/users", &json!({"name": "New"})).await;
    assert_eq!(change_position(&created).1, 8);
}
