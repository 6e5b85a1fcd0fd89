use kit::demo::World;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_app};

const SPEC: &str = "users=60,friends=0,messages=30,seed=11";

/// What a client sees of the store: every author's ten newest and a page of author 7's.
async fn sample(app: &TestApp) -> (Value, Value) {
    let authors: Vec<String> = (1..=60).map(|i| i.to_string()).collect();
    let latest = app
        .get_json(&format!(
            "/messages/latest?authors={}&per_author=10",
            authors.join(",")
        ))
        .await;
    let page = app.get_json("/users/7/messages?limit=25").await;
    (latest, page)
}

kit::on_both_backends!(
    same_spec_gives_the_same_messages,
    demo_fills_only_an_empty_store_and_new_ids_follow_it
);

async fn same_spec_gives_the_same_messages(database_url: &str) {
    // One store on the backend under test, one in memory: same data either way.
    let a = spawn_app(database_url, Some(SPEC)).await;
    let b = spawn_app("sqlite::memory:", Some(SPEC)).await;
    let c = spawn_app(
        "sqlite::memory:",
        Some("users=60,friends=0,messages=30,seed=12"),
    )
    .await;
    let (a, b, c) = (sample(&a).await, sample(&b).await, sample(&c).await);
    let entries = a.0["latest"].as_array().unwrap();
    assert_eq!(entries.len(), 60);
    assert!(
        entries
            .iter()
            .all(|e| e["messages"].as_array().unwrap().len() == 10)
    );
    assert_eq!(a.1["messages"].as_array().unwrap().len(), 25);
    assert_eq!(a, b);
    assert_ne!(a.0, c.0, "another seed, other messages");
    assert_ne!(a.1, c.1, "another seed, other messages");
}

async fn demo_fills_only_an_empty_store_and_new_ids_follow_it(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let created = app.create_message(7, "newcomer").await;
    assert_eq!(
        created["id"], 1801,
        "ids continue after the demo world's 1800"
    );
    let page = app.get_json("/users/7/messages?limit=1").await;
    assert_eq!(page["messages"][0], created, "the newest of author 7");

    // A second fill of the same store leaves it alone.
    let world = World::new(SPEC.parse().unwrap());
    assert_eq!(app.store.fill_demo(&world).await.unwrap(), None);
    let again = app.get_json("/users/7/messages?limit=500").await;
    let count = world.messages().filter(|m| m.author_id == 7).count();
    assert_eq!(again["messages"].as_array().unwrap().len(), count + 1);

    // So does the first fill of a store that already holds a message: a second store on
    // the same backend (dropped with `second` on PostgreSQL).
    let second = if database_url.starts_with("postgres") {
        kit::test_util::postgres().await
    } else {
        None
    };
    let url = second
        .as_ref()
        .map_or("sqlite::memory:", |db| db.url.as_str());
    let other = spawn_app(url, None).await;
    let only = other.create_message(1, "the only one").await;
    assert_eq!(other.store.fill_demo(&world).await.unwrap(), None);
    let body = other
        .get_json("/messages/latest?authors=1,2&per_author=10")
        .await;
    assert_eq!(body["latest"][0]["messages"], serde_json::json!([only]));
    assert_eq!(body["latest"][1]["messages"], serde_json::json!([]));
}
