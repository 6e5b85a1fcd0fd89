use kit::cli::ServiceConfig;
use kit::test_util::TestServer;
use reqwest::{Client, Response};
use serde_json::Value;
use users::{AppState, Config, Store};

pub(crate) struct TestApp {
    pub(crate) server: TestServer,
    pub(crate) client: Client,
}

/// A users service on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let mut args = vec!["users".to_owned(), "--listen=127.0.0.1:0".to_owned()];
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
    let app = users::app(AppState { store }, &config.store.limits);
    TestApp {
        server: TestServer::start(app).await,
        client: Client::new(),
    }
}

impl TestApp {
    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub(crate) async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
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
        let response = self
            .post_json("/users", &serde_json::json!({ "name": name }))
            .await;
        assert_eq!(response.status(), 201, "create {name}");
        response.json().await.expect("user JSON")
    }
}

pub(crate) use kit::test_util::assert_problem;
