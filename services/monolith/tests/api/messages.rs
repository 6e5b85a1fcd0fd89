use std::collections::HashMap;

use kit::demo::World;
use serde_json::{Value, json};

use crate::helpers::{assert_problem, detail, spawn_app};

const SPEC: &str = "users=40,friends=4,messages=12,seed=9";

kit::on_both_backends!(
    post_read_delete,
    an_unknown_author_is_422_and_writes_nothing,
    pages_walk_newest_first_like_the_generator_orders_them,
    a_deleted_cursor_falls_back_to_lower_ids,
    a_cursor_of_another_author_pages_by_its_position,
    latest_keeps_request_order_once_per_author
);

async fn post_read_delete(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let author = app.user_id("Ada").await;
    let response = app
        .post_json(
            "/messages",
            &json!({"author_id": author, "text": "coffee later"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(location, format!("/messages/{id}"));
    assert_eq!(created["author_id"], author);
    assert_eq!(created["text"], "coffee later");
    assert!(
        kit::timestamp::Timestamp::parse_rfc3339(created["created_at"].as_str().unwrap()).is_ok()
    );

    assert_eq!(app.get_json(&location).await, created);
    assert_eq!(app.delete(&location).await.status(), 204);
    let problem = assert_problem(app.get(&location).await, 404, "not-found").await;
    assert_eq!(detail(&problem), format!("no message with id {id}"));
    assert_problem(app.delete(&location).await, 404, "not-found").await;
}

async fn an_unknown_author_is_422_and_writes_nothing(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let author = app.user_id("Ada").await;
    let ghost = author + 1000;
    let problem = assert_problem(
        app.post_json("/messages", &json!({"author_id": ghost, "text": "hello"}))
            .await,
        422,
        "validation-failed",
    )
    .await;
    assert_eq!(
        problem["errors"]["author_id"],
        json!([format!("no user with id {ghost}")])
    );
    let page = app.get_json(&format!("/users/{ghost}/messages")).await;
    assert_eq!(
        page,
        json!({"author_id": ghost, "messages": [], "next_before": null})
    );
    let first = app.post_message(author, "after").await["id"]
        .as_i64()
        .unwrap();
    let second = app.post_message(author, "again").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(second, first + 1, "ids are consecutive");
}

/// Every author's messages of the demo world, newest first (ties by higher id).
fn newest_first(world: &World) -> HashMap<i64, Vec<Value>> {
    let mut by_author: HashMap<i64, Vec<Value>> = HashMap::new();
    let mut messages: Vec<_> = world.messages().collect();
    messages.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    for m in messages {
        by_author.entry(m.author_id).or_default().push(json!({
            "id": m.id,
            "author_id": m.author_id,
            "text": m.text,
            "created_at": m.created_at.to_rfc3339(),
        }));
    }
    by_author
}

async fn pages_walk_newest_first_like_the_generator_orders_them(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let world = World::new(SPEC.parse().unwrap());
    let expected = newest_first(&world);
    for author in 1..=40_i64 {
        let mut walked = Vec::new();
        let mut before: Option<i64> = None;
        for _ in 0..100 {
            let path = match before {
                Some(b) => format!("/users/{author}/messages?limit=5&before={b}"),
                None => format!("/users/{author}/messages?limit=5"),
            };
            let page = app.get_json(&path).await;
            assert_eq!(page["author_id"], author);
            let messages = page["messages"].as_array().unwrap().clone();
            assert!(messages.len() <= 5);
            before = page["next_before"].as_i64();
            if let Some(b) = before {
                assert_eq!(messages.last().unwrap()["id"], b);
            }
            walked.extend(messages);
            if before.is_none() {
                break;
            }
        }
        let want = expected.get(&author).cloned().unwrap_or_default();
        assert_eq!(walked, want, "author {author}");
    }
    // The default page is the 50 newest.
    let page = app.get_json("/users/1/messages").await;
    let want: Vec<Value> = expected[&1].iter().take(50).cloned().collect();
    assert_eq!(page["messages"], json!(want));
}

async fn a_deleted_cursor_falls_back_to_lower_ids(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let author = app.user_id("Ada").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.post_message(author, &format!("m{i}")).await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let page = app
        .get_json(&format!("/users/{author}/messages?limit=2"))
        .await;
    let got: Vec<&Value> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(got, [&json!(ids[4]), &json!(ids[3])]);
    assert_eq!(page["next_before"], ids[3]);

    assert_eq!(
        app.delete(&format!("/messages/{}", ids[3])).await.status(),
        204
    );
    let page = app
        .get_json(&format!(
            "/users/{author}/messages?limit=2&before={}",
            ids[3]
        ))
        .await;
    let got: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, [ids[2], ids[1]]);
    assert_eq!(page["next_before"], ids[1]);
    let page = app
        .get_json(&format!("/users/{author}/messages?before={}", ids[1]))
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 1);
    assert_eq!(page["next_before"], json!(null));
}

async fn a_cursor_of_another_author_pages_by_its_position(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let (one, two) = (app.user_id("one").await, app.user_id("two").await);
    let old = app.message_at(one, 100).await;
    let tied = app.message_at(one, 200).await;
    let other = app.message_at(two, 200).await;
    let tied_higher = app.message_at(one, 200).await;
    app.message_at(one, 300).await;
    // Strictly older than message `other` in (created_at, id) order.
    let page = app
        .get_json(&format!("/users/{one}/messages?before={other}"))
        .await;
    let ids: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [tied, old]);
    assert!(tied_higher > other);
}

async fn latest_keeps_request_order_once_per_author(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let world = World::new(SPEC.parse().unwrap());
    let expected = newest_first(&world);
    let ghost = 4000;
    let body = app
        .get_json(&format!(
            "/messages/latest?authors=7,3,{ghost},7,12&per_author=3"
        ))
        .await;
    let want = |author: i64, n: usize| {
        json!({"author_id": author,
            "messages": expected.get(&author).map_or(Vec::new(), |m| m.iter().take(n).cloned().collect())})
    };
    assert_eq!(
        body,
        json!({"latest": [
            want(7, 3),
            want(3, 3),
            {"author_id": ghost, "messages": []},
            want(12, 3),
        ]})
    );
    let body = app.get_json("/messages/latest?authors=5").await;
    assert_eq!(
        body,
        json!({"latest": [want(5, 1)]}),
        "per_author defaults to 1"
    );

    let all: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
    let body = app
        .get_json(&format!(
            "/messages/latest?authors={}&per_author=10",
            all.join(",")
        ))
        .await;
    let latest = body["latest"].as_array().unwrap();
    assert_eq!(latest.len(), 500);
    for item in latest {
        let author = item["author_id"].as_i64().unwrap();
        let n = expected.get(&author).map_or(0, |m| m.len().min(10));
        assert_eq!(item["messages"].as_array().unwrap().len(), n, "{author}");
    }
}

#[tokio::test]
async fn refused_message_bodies_write_nothing() {
    let app = spawn_app("sqlite::memory:", None).await;
    let author = app.user_id("Ada").await;
    let before = app.post_message(author, "before").await["id"]
        .as_i64()
        .unwrap();

    for (body, field) in [
        (json!({"author_id": author, "text": ""}), "text"),
        (json!({"author_id": author, "text": " \n "}), "text"),
        (
            json!({"author_id": author, "text": "x".repeat(1001)}),
            "text",
        ),
        (json!({"author_id": author, "text": 5}), "text"),
        (json!({"author_id": author}), "text"),
        (json!({"text": "hi"}), "author_id"),
        (json!({"author_id": 0, "text": "hi"}), "author_id"),
        (json!({"author_id": -1, "text": "hi"}), "author_id"),
        (json!({"author_id": "x", "text": "hi"}), "author_id"),
        (
            json!({"author_id": author, "text": "hi", "pinned": true}),
            "pinned",
        ),
        (json!({"author_id": author, "text": "a\0b"}), "text"),
    ] {
        let problem = assert_problem(
            app.post_json("/messages", &body).await,
            422,
            "validation-failed",
        )
        .await;
        assert!(problem["errors"][field].is_array(), "{body} → {problem}");
    }
    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/messages"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_problem(
        send("{\"text\": ", "application/json").await.unwrap(),
        400,
        "invalid-json",
    )
    .await;
    assert_problem(
        send("{}", "text/plain").await.unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;
    let after = app.post_message(author, "after").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!(after, before + 1, "no refused request inserted a row");
    assert!(
        app.post_message(author, &"ü".repeat(1000)).await["id"].is_i64(),
        "1000 characters is allowed"
    );
}

#[tokio::test]
async fn bad_page_and_latest_queries_are_400() {
    let app = spawn_app("sqlite::memory:", None).await;
    for (path, code, needle) in [
        (
            "/users/1/messages?limit=0",
            "bad-request",
            "`limit` must be an integer from 1 to 500 (default 50); got `0`",
        ),
        (
            "/users/1/messages?limit=501",
            "bad-request",
            "`limit` must be an integer from 1 to 500 (default 50); got `501`",
        ),
        (
            "/users/1/messages?limit=x",
            "bad-request",
            "`limit` must be an integer from 1 to 500 (default 50); got `x`",
        ),
        (
            "/users/1/messages?before=0",
            "bad-request",
            "`before` must be a message id, an integer from 1 to 9223372036854775807",
        ),
        ("/users/1/messages?before=x", "bad-request", "`x`"),
        ("/users/0/messages", "bad-request", "path parameter"),
        ("/messages/latest", "invalid-id-list", "1 to 500"),
        ("/messages/latest?authors=", "invalid-id-list", "1 to 500"),
        ("/messages/latest?authors=1,abc", "invalid-id-list", "`abc`"),
        ("/messages/latest?authors=0", "invalid-id-list", "`0`"),
        (
            "/messages/latest?authors=1&per_author=0",
            "bad-request",
            "`per_author` must be an integer from 1 to 10 (default 1); got `0`",
        ),
        (
            "/messages/latest?authors=1&per_author=11",
            "bad-request",
            "`per_author` must be an integer from 1 to 10 (default 1); got `11`",
        ),
        (
            "/messages/latest?authors=1&per_author=x",
            "bad-request",
            "`per_author` must be an integer from 1 to 10 (default 1); got `x`",
        ),
        ("/messages/0", "bad-request", "path parameter"),
        ("/messages/abc", "bad-request", "path parameter"),
    ] {
        let problem = assert_problem(app.get(path).await, 400, code).await;
        assert!(detail(&problem).contains(needle), "{path}: {problem}");
    }
    let ids: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let problem = assert_problem(
        app.get(&format!("/messages/latest?authors={}", ids.join(",")))
            .await,
        400,
        "invalid-id-list",
    )
    .await;
    assert!(detail(&problem).contains("500"), "{problem}");
}
