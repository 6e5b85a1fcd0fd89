use std::ops::Deref;

use kit::ids::UserId;
use kit::layers::Limits;
use kit::timestamp::Timestamp;
use messages::domain::{MessageText, NewMessage};
use messages::{AppState, Store};
use serde_json::Value;

/// The messages service under test, with what its tests repeat.
pub(crate) struct TestApp(kit::test_util::TestApp<Store>);

// === impl TestApp ===

impl TestApp {
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
        stored.0.id.get()
    }
}

impl Deref for TestApp {
    type Target = kit::test_util::TestApp<Store>;

    fn deref(&self) -> &Self::Target {
        &self.0
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

/// A messages service on `sqlite::memory:` following the users feed at `users_url` (on
/// `bus` when given), refusing unknown authors once the follower confirms the head (over
/// HTTP; the wait is then only a bound for a loaded machine) or after a second (over
/// JetStream, where every refusal waits it out).
pub(crate) async fn spawn_following(users_url: &str, bus: Option<kit::feed::nats::Bus>) -> TestApp {
    let users_url = users_url.to_owned();
    let wait = std::time::Duration::from_secs(if bus.is_some() { 1 } else { 5 });
    let app = kit::test_util::spawn_app_on("sqlite::memory:", None, bus, move |store, running| {
        let users = messages::follow_users(&store, running, &users_url, wait);
        let feed = running.feed_api(store.feed(), |_| {});
        messages::app_with(
            AppState {
                store,
                users: Some(users),
            },
            feed,
            &Limits::default(),
        )
    });
    TestApp(app.await)
}

/// A users service on an ephemeral port, its feed relayed to `bus` when given.
pub(crate) async fn spawn_users(
    bus: Option<kit::feed::nats::Bus>,
) -> kit::test_util::TestApp<users::Store> {
    kit::test_util::spawn_app_on("sqlite::memory:", None, bus, |store, _running| {
        users::app(users::AppState { store }, &Limits::default())
    })
    .await
}

/// A messages service on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let app = kit::test_util::spawn_app(database_url, demo, |store, _running| {
        messages::app(AppState { store, users: None }, &Limits::default())
    });
    TestApp(app.await)
}
