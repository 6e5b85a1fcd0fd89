use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(
    an_unknown_author_is_422_and_writes_nothing,
    a_cursor_of_another_author_pages_by_its_position,
);

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
