use kit::cli::ServiceConfig;
use kit::test_util::TestServer;
pub(crate) use kit::test_util::assert_problem;
use monolith::{AppState, Config, Store};
use reqwest::{Client, Response};
use serde_json::{Value, json};

pub(crate) struct TestApp {
    pub(crate) server: TestServer,
    pub(crate) client: Client,
    pub(crate) store: Store,
}

/// A monolith on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let mut args = vec!["monolith".to_owned(), "--listen=127.0.0.1:0".to_owned()];
    args.push(format!("--database={database_url}"));
    if let Some(demo) = demo {
        args.push(format!("--demo={demo}"));
    }
    let config = Config::try_from_args(args).expect("valid test config");
    let store = Store::open(&config.store.database_url)
        .await
        .expect("open store");
    if let Some(spec) = &config.store.demo {
        store
            .fill_demo(&kit::demo::World::new(spec.clone()))
            .await
            .expect("fill demo");
    }
    let app = monolith::app(
        AppState {
            store: store.clone(),
        },
        &config.store.limits,
    );
    TestApp {
        server: TestServer::start(app).await,
        client: Client::new(),
        store,
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GETs `path`, asserts 200 and returns the JSON body.
    pub(crate) async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON body")
    }

    pub(crate) async fn put(&self, path: &str) -> Response {
        self.client.put(self.url(path)).send().await.expect("PUT")
    }

    pub(crate) async fn delete(&self, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    pub(crate) async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub(crate) async fn patch_json(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }

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

/// The `detail` of a problem body.
pub(crate) fn detail(problem: &Value) -> &str {
    problem["detail"].as_str().unwrap_or_default()
}
