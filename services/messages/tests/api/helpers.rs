use kit::cli::ServiceConfig;
use kit::ids::UserId;
use kit::test_util::TestServer;
use kit::timestamp::Timestamp;
use messages::domain::{MessageText, NewMessage};
use messages::{AppState, Config, Store};
use reqwest::{Client, Response};
use serde_json::Value;

pub(crate) struct TestApp {
    pub(crate) server: TestServer,
    pub(crate) client: Client,
    /// The service's own store, for arranging what the API cannot (such as equal times).
    pub(crate) store: Store,
}

/// A messages service on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let mut args = vec!["messages".to_owned(), "--listen=127.0.0.1:0".to_owned()];
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
    let app = messages::app(
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

    pub(crate) async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("JSON")
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

    /// Posts a message and returns its JSON.
    pub(crate) async fn create_message(&self, author_id: i64, text: &str) -> Value {
        let body = serde_json::json!({ "author_id": author_id, "text": text });
        let response = self.post_json("/messages", &body).await;
        assert_eq!(response.status(), 201, "create {body}");
        response.json().await.expect("message JSON")
    }

    /// Stores a message created at `second` (seconds since the epoch), returning its id.
    pub(crate) async fn create_message_at(&self, author_id: i64, text: &str, second: i64) -> i64 {
        let message = NewMessage {
            author_id: UserId::new(author_id),
            text: MessageText::parse(text.to_owned()).unwrap(),
        };
        let created_at = Timestamp::from_micros(second * 1_000_000);
        let stored = self.store.create_at(&message, created_at).await.unwrap();
        stored.id.get()
    }
}

/// The ids of a list of messages, in order.
pub(crate) fn ids(messages: &Value) -> Vec<i64> {
    messages
        .as_array()
        .expect("an array of messages")
        .iter()
        .map(|m| m["id"].as_i64().expect("an id"))
        .collect()
}

/// Asserts a 400 `bad-request` whose detail contains each of `needles`.
pub(crate) async fn assert_bad_request(app: &TestApp, path: &str, code: &str, needles: &[&str]) {
    let problem = assert_problem(app.get(path).await, 400, code).await;
    let detail = problem["detail"].as_str().unwrap();
    for needle in needles {
        assert!(detail.contains(needle), "{path}: {detail}");
    }
    let instance = path.split('?').next().unwrap();
    assert_eq!(problem["instance"], instance, "{problem}");
}

pub(crate) use kit::test_util::assert_problem;
