use kit::demo::World;
use serde_json::{Value, json};

use crate::helpers::{assert_bad_request, assert_problem, ids, spawn_app};

kit::on_both_backends!(
    latest_keeps_request_order_drops_duplicates_and_lists_empty_authors,
    latest_is_newest_first_with_ties_broken_by_the_higher_id,
    latest_matches_the_demo_world,
    latest_accepts_500_authors_and_refuses_501,
);

async fn latest_keeps_request_order_drops_duplicates_and_lists_empty_authors(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let a1 = app.create_message(1, "one from 1").await;
    let a2 = app.create_message(2, "one from 2").await;
    let a1_newer = app.create_message(1, "two from 1").await;

    let body = app.get_json("/messages/latest?authors=2,7,1,2,7").await;
    assert_eq!(
        body,
        json!({"latest": [
            {"author_id": 2, "messages": [a2]},
            {"author_id": 7, "messages": []},
            {"author_id": 1, "messages": [a1_newer]},
        ]}),
        "request order, each author once where it first appeared, [] for no messages"
    );

    let body = app
        .get_json("/messages/latest?authors=1&per_author=10")
        .await;
    assert_eq!(
        body,
        json!({"latest": [{"author_id": 1, "messages": [a1_newer, a1]}]})
    );
}

async fn latest_is_newest_first_with_ties_broken_by_the_higher_id(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    // Author 5: two messages share the newest second, two share an older one.
    let oldest = app.create_message_at(5, "oldest", 100).await;
    let tied_newest_low = app.create_message_at(5, "newest, lower id", 300).await;
    let middle_high = app.create_message_at(5, "middle, higher id", 200).await;
    let tied_newest_high = app.create_message_at(5, "newest, higher id", 300).await;
    let older_tie_low = app.create_message_at(5, "older tie", 150).await;
    let older_tie_high = app.create_message_at(5, "older tie", 150).await;
    // Another author's messages at the same instants stay out of author 5's answer.
    app.create_message_at(6, "other author", 300).await;

    let body = app
        .get_json("/messages/latest?authors=5&per_author=1")
        .await;
    assert_eq!(ids(&body["latest"][0]["messages"]), [tied_newest_high]);

    let body = app
        .get_json("/messages/latest?authors=5,6&per_author=10")
        .await;
    assert_eq!(
        ids(&body["latest"][0]["messages"]),
        [
            tied_newest_high,
            tied_newest_low,
            middle_high,
            older_tie_high,
            older_tie_low,
            oldest
        ]
    );
    assert_eq!(body["latest"][1]["messages"].as_array().unwrap().len(), 1);
    let first = &body["latest"][0]["messages"][0];
    assert_eq!(first["created_at"], "1970-01-01T00:05:00Z");
    assert_eq!(first["text"], "newest, higher id");

    let body = app
        .get_json("/messages/latest?authors=5&per_author=3")
        .await;
    assert_eq!(
        ids(&body["latest"][0]["messages"]),
        [tied_newest_high, tied_newest_low, middle_high]
    );
}

/// The demo world's messages, newest first, for one author, as the API shows them.
fn expected_latest(world: &World, author: i64, n: usize) -> Value {
    let mut mine: Vec<_> = world.messages().filter(|m| m.author_id == author).collect();
    mine.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    let messages: Vec<Value> = mine
        .into_iter()
        .take(n)
        .map(|m| {
            json!({
                "id": m.id,
                "author_id": m.author_id,
                "text": m.text,
                "created_at": m.created_at.to_rfc3339(),
            })
        })
        .collect();
    json!({"author_id": author, "messages": messages})
}

async fn latest_matches_the_demo_world(database_url: &str) {
    // Dense enough that one author has two messages in the same second.
    const SPEC: &str = "users=3,friends=0,messages=4000,seed=9";
    let app = spawn_app(database_url, Some(SPEC)).await;
    let world = World::new(SPEC.parse().unwrap());
    let same_author_tie = {
        let mut seen = std::collections::HashSet::new();
        world
            .messages()
            .any(|m| !seen.insert((m.author_id, m.created_at)))
    };
    assert!(same_author_tie, "the world exercises the id tie-break");

    for per_author in [1_usize, 10] {
        let body = app
            .get_json(&format!(
                "/messages/latest?authors=3,1,4,3,2&per_author={per_author}"
            ))
            .await;
        let want: Vec<Value> = [3, 1, 4, 2]
            .into_iter()
            .map(|author| expected_latest(&world, author, per_author))
            .collect();
        assert_eq!(body, json!({ "latest": want }), "per_author={per_author}");
    }

    // Every message, paged newest first, in the world's order.
    for author in 1..=3 {
        let mut seen = Vec::new();
        let mut path = format!("/users/{author}/messages?limit=500");
        for _ in 0..10 {
            let page = app.get_json(&path).await;
            seen.extend(page["messages"].as_array().unwrap().iter().cloned());
            match page["next_before"].as_i64() {
                Some(before) => {
                    path = format!("/users/{author}/messages?limit=500&before={before}")
                }
                None => break,
            }
        }
        let want = expected_latest(&world, author, usize::MAX);
        assert_eq!(Value::Array(seen), want["messages"], "author {author}");
    }
}

async fn latest_accepts_500_authors_and_refuses_501(database_url: &str) {
    let app = spawn_app(database_url, Some("users=600,friends=0,messages=2,seed=3")).await;
    // Descending, so request order differs from id order.
    let authors: Vec<String> = (1..=500).rev().map(|i| i.to_string()).collect();
    let body = app
        .get_json(&format!(
            "/messages/latest?authors={}&per_author=10",
            authors.join(",")
        ))
        .await;
    let latest = body["latest"].as_array().unwrap();
    assert_eq!(latest.len(), 500);
    let order: Vec<i64> = latest
        .iter()
        .map(|e| e["author_id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, (1..=500).rev().collect::<Vec<i64>>());
    let total: usize = latest
        .iter()
        .map(|e| e["messages"].as_array().unwrap().len())
        .sum();
    assert!(total > 500, "several messages for many authors: {total}");

    let authors: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let problem = assert_problem(
        app.get(&format!("/messages/latest?authors={}", authors.join(",")))
            .await,
        400,
        "invalid-id-list",
    )
    .await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("`authors`") && detail.contains("500"),
        "{detail}"
    );
}

#[tokio::test]
async fn latest_is_routed_apart_from_message_ids() {
    let app = spawn_app("sqlite::memory:", None).await;
    let message = app.create_message(1, "hi").await;

    // `latest` is never parsed as an id: no "invalid path parameter", no 404.
    let problem = assert_problem(app.get("/messages/latest").await, 400, "invalid-id-list").await;
    assert!(problem["detail"].as_str().unwrap().contains("`authors`"));
    let body = app.get_json("/messages/latest?authors=1").await;
    assert_eq!(
        body,
        json!({"latest": [{"author_id": 1, "messages": [message]}]})
    );
    let response = app.delete("/messages/latest").await;
    assert_eq!(response.headers()["allow"], "GET,HEAD");
    assert_problem(response, 405, "method-not-allowed").await;

    // While ids still reach the message routes.
    let path = format!("/messages/{}", message["id"]);
    assert_eq!(app.get_json(&path).await, message);
    assert_eq!(app.delete(&path).await.status(), 204);
    assert_problem(app.get("/messages/latestx").await, 400, "bad-request").await;
}

#[tokio::test]
async fn bad_latest_queries_name_the_parameter_and_the_limit() {
    let app = spawn_app("sqlite::memory:", None).await;
    for (query, needle) in [
        ("", "1 to 500"),
        ("authors=", "1 to 500"),
        ("per_author=2", "1 to 500"),
        ("authors=1,abc", "`abc`"),
        ("authors=0", "`0`"),
        ("authors=-4", "`-4`"),
        ("authors=1,,2", "item 2"),
        ("authors=1,2,", "item 3"),
        ("authors=%201", "` 1`"),
        ("authors=9223372036854775808", "`9223372036854775808`"),
        ("authors=1.5", "`1.5`"),
    ] {
        assert_bad_request(
            &app,
            &format!("/messages/latest?{query}"),
            "invalid-id-list",
            &["`authors`", needle],
        )
        .await;
    }
    for value in ["0", "11", "-1", "abc", "", "1.5", "99999999999"] {
        assert_bad_request(
            &app,
            &format!("/messages/latest?authors=1&per_author={value}"),
            "bad-request",
            &[&format!(
                "`per_author` must be an integer from 1 to 10 (default 1); got `{value}`"
            )],
        )
        .await;
    }
    assert_problem(
        app.get("/messages/latest?authors=1&per_author=1&per_author=2")
            .await,
        400,
        "bad-request",
    )
    .await;
}
