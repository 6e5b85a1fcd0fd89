use std::ops::Deref;

use kit::layers::Limits;
use serde_json::Value;
use users::{AppState, Store};

pub(crate) use kit::test_util::assert_problem;

/// The users service under test, with what its tests repeat.
pub(crate) struct TestApp(kit::test_util::TestApp<Store>);

// === impl TestApp ===

impl TestApp {
    /// Creates a user and returns its JSON.
    pub(crate) async fn create_user(&self, name: &str) -> Value {
        let response = self
            .post_json("/users", &serde_json::json!({ "name": name }))
            .await;
        assert_eq!(response.status(), 201, "create {name}");
        response.json().await.expect("user JSON")
    }
}

impl Deref for TestApp {
    type Target = kit::test_util::TestApp<Store>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A users service on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let app = kit::test_util::spawn_app(database_url, demo, |store, _running| {
        users::app(AppState { store }, &Limits::default())
    });
    TestApp(app.await)
}
