use std::ops::Deref;

use kit::layers::Limits;
use monolith::{AppState, Store};
use serde_json::{Value, json};

pub(crate) use kit::test_util::assert_problem;

/// The monolith under test, with what its tests repeat.
pub(crate) struct TestApp(kit::test_util::TestApp<Store>);

// === impl TestApp ===

impl TestApp {
    /// Creates a user and returns its JSON.
    pub(crate) async fn create_user(&self, name: &str) -> Value {
        let response = self.post_json("/users", &json!({ "name": name })).await;
        assert_eq!(response.status(), 201, "create {name}");
        response.json().await.expect("user JSON")
    }

    /// Creates a user and returns its id.
    pub(crate) async fn user_id(&self, name: &str) -> i64 {
        self.create_user(name).await["id"].as_i64().expect("id")
    }

    /// Befriends two users, asserting 204.
    pub(crate) async fn befriend(&self, a: i64, b: i64) {
        let response = self.put(&format!("/users/{a}/friends/{b}")).await;
        assert_eq!(response.status(), 204, "befriend {a} and {b}");
    }

    /// Inserts a message written at `micros`, which the API cannot do; returns its id.
    pub(crate) async fn message_at(&self, author: i64, micros: i64) -> i64 {
        sqlx::query_scalar(
            "INSERT INTO messages (author_id, text, created_at) VALUES ($1, $2, $3) \
             RETURNING id",
        )
        .bind(author)
        .bind(format!("by {author} at {micros}"))
        .bind(micros)
        .fetch_one(self.store.db().pool())
        .await
        .expect("insert a message")
    }

    /// Posts a message and returns its JSON.
    pub(crate) async fn post_message(&self, author: i64, text: &str) -> Value {
        let response = self
            .post_json("/messages", &json!({"author_id": author, "text": text}))
            .await;
        assert_eq!(response.status(), 201, "post by {author}");
        response.json().await.expect("message JSON")
    }
}

impl Deref for TestApp {
    type Target = kit::test_util::TestApp<Store>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The `detail` of a problem body.
pub(crate) fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}

/// A monolith on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let app = kit::test_util::spawn_app(database_url, demo, |store, _running| {
        monolith::app(AppState::new(store), &Limits::default())
    });
    TestApp(app.await)
}
