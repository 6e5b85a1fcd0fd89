use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(
    create_read_delete_round_trip,
    text_limits_hold_and_refused_bodies_write_nothing
);

async fn create_read_delete_round_trip(database_url: &str) {
    let app = spawn_app(database_url, None).await;

    // Author 3 exists nowhere: this service cannot know and does not ask.
    let response = app
        .post_json(
            "/messages",
            &json!({"author_id": 3, "text": "hello\nworld"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: serde_json::Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(location, format!("/messages/{id}"));
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["author_id", "created_at", "id", "text"]);
    assert_eq!(created["author_id"], 3);
    assert_eq!(created["text"], "hello\nworld");
    let created_at = created["created_at"].as_str().unwrap();
    assert!(
        kit::timestamp::Timestamp::parse_rfc3339(created_at).is_ok(),
        "{created_at}"
    );

    let fetched: serde_json::Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);

    assert_eq!(app.delete(&location).await.status(), 204);
    let problem = assert_problem(app.get(&location).await, 404, "not-found").await;
    assert_eq!(problem["detail"], format!("no message with id {id}"));
    assert_eq!(problem["instance"], location);
    assert_problem(app.delete(&location).await, 404, "not-found").await;
}

async fn text_limits_hold_and_refused_bodies_write_nothing(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let first = app.create_message(1, "first").await["id"].as_i64().unwrap();

    // The limit counts characters, not bytes: each of these is 1000 characters.
    let mut last = first;
    for one in ["x", "é", "🦀"] {
        let text = one.repeat(1000);
        let created = app.create_message(1, &text).await;
        assert_eq!(created["text"], text, "stored and returned unchanged");
        last = created["id"].as_i64().unwrap();
    }

    for (body, fields) in [
        (
            json!({"author_id": 1, "text": "x".repeat(1001)}),
            vec!["text"],
        ),
        (
            json!({"author_id": 1, "text": "🦀".repeat(1001)}),
            vec!["text"],
        ),
        (json!({"author_id": 1, "text": ""}), vec!["text"]),
        (json!({"author_id": 1, "text": " \n\t "}), vec!["text"]),
        (json!({"author_id": 1, "text": "a\u{0}b"}), vec!["text"]),
        (json!({"author_id": 1, "text": null}), vec!["text"]),
        (json!({"author_id": 1, "text": 5}), vec!["text"]),
        (json!({"author_id": 1}), vec!["text"]),
        (json!({"text": "no author"}), vec!["author_id"]),
        (json!({"author_id": null, "text": "x"}), vec!["author_id"]),
        (json!({"author_id": 0, "text": "x"}), vec!["author_id"]),
        (json!({"author_id": -1, "text": "x"}), vec!["author_id"]),
        (json!({"author_id": 1.5, "text": "x"}), vec!["author_id"]),
        (json!({"author_id": "1", "text": "x"}), vec!["author_id"]),
        (
            json!({"author_id": 9_223_372_036_854_775_808_u64, "text": "x"}),
            vec!["author_id"],
        ),
        (
            json!({"author_id": 0, "text": ""}),
            vec!["author_id", "text"],
        ),
        (json!({}), vec!["author_id", "text"]),
        (
            json!({"author_id": 1, "text": "x", "pinned": true}),
            vec!["pinned"],
        ),
        (json!("a message"), vec!["body"]),
    ] {
        let problem = assert_problem(
            app.post_json("/messages", &body).await,
            422,
            "validation-failed",
        )
        .await;
        for field in &fields {
            let messages = problem["errors"][field].as_array();
            assert!(
                messages.is_some_and(|m| !m.is_empty()),
                "{body} → {problem}"
            );
        }
        assert_eq!(
            problem["errors"].as_object().unwrap().len(),
            fields.len(),
            "{body} → {problem}"
        );
    }

    let after = app.create_message(1, "after").await["id"].as_i64().unwrap();
    assert_eq!(after, last + 1, "no refused request inserted a row");
    let page = app.get_json("/users/1/messages").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 5);
}
