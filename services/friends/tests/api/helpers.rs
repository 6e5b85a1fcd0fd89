use std::ops::Deref;

use friends::{AppState, Store};
use kit::layers::Limits;
use serde_json::Value;

/// The friends service under test, with what its tests repeat.
pub(crate) struct TestApp(kit::test_util::TestApp<Store>);

// === impl TestApp ===

impl TestApp {
    /// Befriends `a` and `b`, asserting the empty 204.
    pub(crate) async fn befriend(&self, a: i64, b: i64) {
        let response = self.put(&format!("/users/{a}/friends/{b}")).await;
        assert_eq!(response.status(), 204, "PUT {a} → {b}");
        assert!(
            response.bytes().await.unwrap().is_empty(),
            "204 has no body"
        );
    }

    /// One page of `GET {path}` as JSON, asserting a 200 of the documented shape.
    pub(crate) async fn page(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = response.json().await.unwrap();
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["friend_ids", "next_after", "user_id"], "{body}");
        body
    }

    /// All of `user`'s friends on one page of up to 5000.
    pub(crate) async fn friend_ids(&self, user: i64) -> Vec<i64> {
        let body = self
            .page(&format!("/users/{user}/friends?limit=5000"))
            .await;
        assert_eq!(body["user_id"], user);
        assert_eq!(body["next_after"], Value::Null, "fits one page");
        ids(&body["friend_ids"])
    }

    /// Every page of `user`'s friends, following `next_after` from the first page.
    pub(crate) async fn pages(&self, user: i64, limit: Option<u32>) -> Vec<Vec<i64>> {
        let limit = limit.map(|l| format!("&limit={l}")).unwrap_or_default();
        let mut pages = Vec::new();
        let mut after = String::new();
        // Bounded: no test user has more than 20 pages of friends.
        for _ in 0..20 {
            let body = self
                .page(&format!("/users/{user}/friends?{after}{limit}"))
                .await;
            let page = ids(&body["friend_ids"]);
            match body["next_after"].as_i64() {
                Some(next) => {
                    assert_eq!(page.last(), Some(&next), "next_after is the page's last id");
                    after = format!("after={next}");
                    pages.push(page);
                }
                None => {
                    pages.push(page);
                    return pages;
                }
            }
        }
        panic!("more than 20 pages for user {user}");
    }
}

impl Deref for TestApp {
    type Target = kit::test_util::TestApp<Store>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// A JSON array of ids.
pub(crate) fn ids(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

/// `user`'s friends in the demo world of `spec`, ascending.
pub(crate) fn world_friends(spec: &str, user: i64) -> Vec<i64> {
    let world = kit::demo::World::new(spec.parse().unwrap());
    let mut friends: Vec<i64> = world
        .friendships()
        .into_iter()
        .filter_map(|(a, b)| match (a == user, b == user) {
            (true, _) => Some(b),
            (_, true) => Some(a),
            _ => None,
        })
        .collect();
    friends.sort_unstable();
    friends
}

pub(crate) use kit::test_util::assert_problem;

/// A friends service on `database_url` following the users feed at `users_url` (on `bus`
/// when given), refusing unknown users after a wait of up to a second.
pub(crate) async fn spawn_following(
    database_url: &str,
    users_url: &str,
    bus: Option<kit::feed::nats::Bus>,
) -> TestApp {
    let wait = known_users_wait(bus.is_some());
    spawn_following_waiting(database_url, users_url, bus, wait).await
}

/// How long a test service waits for a user not known yet. Over HTTP an unknown user is
/// refused once the follower confirms the head, so the wait is only a bound for a loaded
/// machine; over JetStream every refusal waits it out, so it is short there.
fn known_users_wait(over_jetstream: bool) -> std::time::Duration {
    std::time::Duration::from_secs(if over_jetstream { 1 } else { 5 })
}

/// [`spawn_following`], waiting up to `wait` for a user not known yet.
pub(crate) async fn spawn_following_waiting(
    database_url: &str,
    users_url: &str,
    bus: Option<kit::feed::nats::Bus>,
    wait: std::time::Duration,
) -> TestApp {
    let users_url = users_url.to_owned();
    let app = kit::test_util::spawn_app_on(database_url, None, bus, move |store, running| {
        let users = friends::follow_users(&store, running, &users_url, wait);
        let feed = running.feed_api(store.feed(), |_| {});
        friends::app_with(
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

/// Creates a user on the users service; its id.
pub(crate) async fn create_user(users: &kit::test_util::TestApp<users::Store>, name: &str) -> i64 {
    let response = users
        .post_json("/users", &serde_json::json!({ "name": name }))
        .await;
    assert_eq!(response.status(), 201, "create {name}");
    let user: Value = response.json().await.unwrap();
    user["id"].as_i64().unwrap()
}

/// A friends service on an ephemeral port, on `database_url`, optionally with a demo world.
pub(crate) async fn spawn_app(database_url: &str, demo: Option<&str>) -> TestApp {
    let app = kit::test_util::spawn_app(database_url, demo, |store, _running| {
        friends::app(AppState { store, users: None }, &Limits::default())
    });
    TestApp(app.await)
}
