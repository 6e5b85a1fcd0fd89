//! The messages feed, and the messages service following the users feed: the cascade of a
//! deleted user and the refusal of unknown authors.

use std::time::Duration;

use kit::feed::nats::Bus;
use kit::test_util::{change_position, changes, eventually};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, ids, spawn_app, spawn_following, spawn_users};

/// Posts `text` as `author`, asserting the 201; the message and its feed position.
async fn post(app: &TestApp, author: i64, text: &str) -> (Value, u64) {
    let response = app
        .post_json("/messages", &json!({"author_id": author, "text": text}))
        .await;
    assert_eq!(response.status(), 201, "post as {author}");
    let (source, seq) = change_position(&response);
    assert_eq!(source, "messages");
    (response.json().await.unwrap(), seq)
}

#[tokio::test]
async fn each_write_is_an_event_at_the_position_it_answers_with() {
    let app = spawn_app("sqlite::memory:", None).await;
    let base = app.url("");
    let (message, seq) = post(&app, 4, "hello").await;
    let id = message["id"].to_string();
    let events = changes(&app.client, &base).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "message.upserted");
    assert_eq!(events[0]["subject"], id.as_str());
    assert_eq!(events[0]["seq"], seq);
    assert_eq!(events[0]["data"], message, "data is the API's Message");

    let deleted = app.delete(&format!("/messages/{id}")).await;
    assert_eq!(deleted.status(), 204);
    let (_, deleted_seq) = change_position(&deleted);
    let events = changes(&app.client, &base).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "message.deleted");
    assert_eq!(events[0]["seq"], deleted_seq);

    let missing = app.delete(&format!("/messages/{id}")).await;
    assert_eq!(missing.status(), 404);
    assert!(missing.headers().get("x-change-position").is_none());
}

#[tokio::test]
async fn the_demo_fill_records_its_messages_as_replicated_from_demo() {
    let spec = "users=6,friends=2,messages=3";
    let app = spawn_app("sqlite::memory:", Some(spec)).await;
    let events = changes(&app.client, &app.url("")).await;
    let world = kit::demo::World::new(spec.parse().unwrap());
    let messages: Vec<_> = world.messages().collect();
    assert_eq!(events.len(), messages.len());
    for (event, message) in events.iter().zip(&messages) {
        assert_eq!(event["type"], "message.upserted");
        assert_eq!(event["subject"], message.id.to_string());
        assert_eq!(event["origin"], "demo");
        assert_eq!(event["version"], message.created_at.as_micros());
        let api = app.get_json(&format!("/messages/{}", message.id)).await;
        assert_eq!(event["data"], api);
    }
}

async fn a_deleted_user_takes_their_messages(bus: Option<Bus>) {
    let users = spawn_users(bus.clone()).await;
    let app = spawn_following(&users.url(""), bus.clone()).await;
    let mut ids_of = Vec::new();
    for name in ["A", "B"] {
        let response = users.post_json("/users", &json!({ "name": name })).await;
        assert_eq!(response.status(), 201);
        let user: Value = response.json().await.unwrap();
        ids_of.push(user["id"].as_i64().unwrap());
    }
    let (a, b) = (ids_of[0], ids_of[1]);
    // Authors created a moment ago are waited for, not refused.
    let (first, _) = post(&app, a, "one").await;
    let (second, _) = post(&app, a, "two").await;
    let (kept, _) = post(&app, b, "stays").await;

    // An unknown author is refused as the monolith refuses it.
    let response = app
        .post_json("/messages", &json!({"author_id": 999, "text": "who?"}))
        .await;
    let problem = assert_problem(response, 422, "validation-failed").await;
    assert_eq!(problem["errors"]["author_id"][0], "no user with id 999");

    assert_eq!(users.delete(&format!("/users/{a}")).await.status(), 204);
    eventually("a's messages deleted", Duration::from_secs(10), || async {
        let page = app.get_json(&format!("/users/{a}/messages")).await;
        ids(&page["messages"]).is_empty().then_some(())
    })
    .await;
    let page = app.get_json(&format!("/users/{b}/messages")).await;
    assert_eq!(ids(&page["messages"]), [kept["id"].as_i64().unwrap()]);
    let events = changes(&app.client, &app.url("")).await;
    let deleted: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "message.deleted")
        .map(|e| e["subject"].as_str().unwrap())
        .collect();
    let (one, two) = (first["id"].to_string(), second["id"].to_string());
    assert_eq!(deleted, [one.as_str(), two.as_str()]);
    let response = app
        .post_json("/messages", &json!({"author_id": a, "text": "gone"}))
        .await;
    assert_problem(response, 422, "validation-failed").await;

    let transport = if bus.is_some() { "nats" } else { "http" };
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let labels = format!(r#"{{consumer="messages",source="users",transport="{transport}"}}"#);
    assert!(
        metrics.contains(&format!("feed_consumer_lag_events{labels}")),
        "{metrics}"
    );
    if let Some(bus) = bus {
        let _ = bus.delete_stream("users").await;
        let _ = bus.delete_stream("messages").await;
    }
}

#[tokio::test]
async fn a_deleted_user_takes_their_messages_over_http() {
    a_deleted_user_takes_their_messages(None).await;
}

#[tokio::test]
async fn a_deleted_user_takes_their_messages_over_jetstream() {
    let Some(bus) = kit::test_util::nats_bus().await else {
        eprintln!("TEST_NATS_URL unset: JetStream run skipped");
        return;
    };
    a_deleted_user_takes_their_messages(Some(bus)).await;
}
