//! The real users, friends and messages services on ephemeral ports, filled with one demo
//! world, and a timeline service in front of them. Users can be slowed down and every
//! service records the request ids and traceparents it saw.
//!
//! A live stack ([`Stack::live`]) also serves each service's change feed at its
//! `/changes`: an outbox on `sqlite::memory:` filled with the same world, to which every
//! write the test makes through the stack is committed too (as the services will once they
//! publish their own). Each feed and the messages service's author pages sit behind a
//! [`Gate`] the test can close, hold or slow.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kit::cli::ServiceConfig;
use kit::demo::World;
use kit::feed::api::{FeedApi, routes};
use kit::feed::metrics::Followers;
use kit::feed::{Change, Feed, FeedOptions};
use kit::layers::Limits;
use kit::store::{Db, Migrations};
use kit::test_util::TestServer;
use kit::timestamp::Timestamp;
use serde_json::{Value, json};
use sqlx::migrate::Migrator;
use tokio::sync::watch;

/// The feeds' outboxes create their own tables: nothing to migrate.
static NO_MIGRATIONS: Migrator = Migrator::DEFAULT;

/// Request ids and traceparents seen by a service.
#[derive(Default)]
pub(crate) struct Seen {
    pub(crate) request_ids: Mutex<Vec<String>>,
    pub(crate) traceparents: Mutex<Vec<String>>,
}

#[derive(Clone, Default)]
pub(crate) struct Tap {
    pub(crate) delay_ms: Arc<AtomicU64>,
    pub(crate) seen: Arc<Seen>,
}

/// Stands in front of some routes of a service: refuses them (503), holds them until
/// opened, or delays their answers. Cloning is shallow.
#[derive(Clone)]
pub(crate) struct Gate {
    refuse: Arc<AtomicBool>,
    open: Arc<watch::Sender<bool>>,
    delay_ms: Arc<AtomicU64>,
}

/// The three services' apps, each store filled with the world.
struct Apps {
    users: Router,
    friends: Router,
    messages: Router,
}

impl Apps {
    /// The apps, and the messages store (the tests write messages with chosen times).
    async fn of(world: &World, users_tap: &Tap, messages_tap: &Tap) -> (Self, messages::Store) {
        let store = users::Store::open("sqlite::memory:").await.unwrap();
        store.fill_demo(world).await.unwrap();
        let users = users::app(users::AppState { store }, &Limits::default());

        let store = friends::Store::open("sqlite::memory:").await.unwrap();
        store.fill_demo(world).await.unwrap();
        let friends = friends::app(friends::AppState { store, users: None }, &Limits::default());

        let messages_store = messages::Store::open("sqlite::memory:").await.unwrap();
        messages_store.fill_demo(world).await.unwrap();
        let state = messages::AppState {
            store: messages_store.clone(),
            users: None,
        };
        let messages = messages::app(state, &Limits::default());
        let apps = Self {
            users: tapped(users, users_tap),
            friends,
            messages: tapped(messages, messages_tap),
        };
        (apps, messages_store)
    }
}

/// Each service's feed, and the gates in front of them and of the author pages.
pub(crate) struct Feeds {
    pub(crate) users: Feed,
    pub(crate) friends: Feed,
    pub(crate) messages: Feed,
    pub(crate) users_gate: Gate,
    pub(crate) friends_gate: Gate,
    pub(crate) messages_gate: Gate,
    /// In front of the messages service's `GET /users/{id}/messages` (the view's repairs).
    pub(crate) pages_gate: Gate,
}

pub(crate) struct Stack {
    pub(crate) users: TestServer,
    pub(crate) friends: Option<TestServer>,
    pub(crate) messages: Option<TestServer>,
    pub(crate) timeline: TestServer,
    pub(crate) users_tap: Tap,
    pub(crate) messages_tap: Tap,
    pub(crate) client: reqwest::Client,
    pub(crate) messages_store: messages::Store,
    pub(crate) feeds: Option<Feeds>,
}

impl Stack {
    /// The three services on `demo`, and a timeline started with `timeline_args` that
    /// composes every answer (`--view off`): no feeds.
    pub(crate) async fn start(demo: &str, timeline_args: &[&str]) -> Self {
        let mut args = vec!["--view=off"];
        args.extend_from_slice(timeline_args);
        Self::build(demo, &args, None).await
    }

    /// The three services on `demo` with their feeds, and a timeline (its view on unless
    /// `timeline_args` say otherwise) started with `timeline_args`.
    pub(crate) async fn live(demo: &str, timeline_args: &[&str]) -> Self {
        Self::build(demo, timeline_args, Some(false)).await
    }

    /// [`live`](Self::live), with every feed refusing its readers (503) until its gate is
    /// opened.
    pub(crate) async fn live_unreachable(demo: &str, timeline_args: &[&str]) -> Self {
        Self::build(demo, timeline_args, Some(true)).await
    }

    /// With `feeds` (`Some(refused)`) or without.
    async fn build(demo: &str, timeline_args: &[&str], feeds: Option<bool>) -> Self {
        let world = World::new(demo.parse().expect("demo spec"));
        let users_tap = Tap::default();
        let messages_tap = Tap::default();
        let (mut apps, messages_store) = Apps::of(&world, &users_tap, &messages_tap).await;
        let feeds = match feeds {
            Some(refused) => {
                let feeds = Feeds::of(&world).await;
                if refused {
                    feeds.gates().iter().for_each(|gate| gate.refuse());
                }
                apps = feeds.in_front_of(apps);
                Some(feeds)
            }
            None => None,
        };
        let users = TestServer::start(apps.users).await;
        let friends = TestServer::start(apps.friends).await;
        let messages = TestServer::start(apps.messages).await;

        let mut args = vec![
            "timeline".to_owned(),
            "--listen=127.0.0.1:0".to_owned(),
            format!("--users-url={}", users.url("")),
            format!("--friends-url={}", friends.url("")),
            format!("--messages-url={}", messages.url("")),
        ];
        args.extend(timeline_args.iter().map(|a| (*a).to_owned()));
        let config = timeline::Config::try_from_args(args).expect("timeline config");
        let state = timeline::AppState::start(&config).await.unwrap();
        let timeline = TestServer::start(timeline::app(state, &config.limits)).await;
        Self {
            users,
            friends: Some(friends),
            messages: Some(messages),
            timeline,
            users_tap,
            messages_tap,
            client: reqwest::Client::new(),
            messages_store,
            feeds,
        }
    }

    /// `GET` on the timeline service.
    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.timeline.url(path))
            .send()
            .await
            .unwrap()
    }

    /// The timeline of `user` as JSON, asserting a 200.
    pub(crate) async fn timeline_of(&self, user: i64, query: &str) -> Value {
        let response = self.get(&format!("/timeline/{user}?{query}")).await;
        assert_eq!(response.status(), 200, "timeline of {user}");
        response.json().await.unwrap()
    }

    pub(crate) fn slow_users(&self, delay: Duration) {
        self.users_tap
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Moves the tokio clock, which every service here runs on, `by` ahead: what the
    /// timeline caches ages by that much at once. Call it between requests only: time stays
    /// paused just for the jump, because a paused clock with sockets in use would jump to
    /// the next timer (a call's timeout) instead of waiting for the answer.
    pub(crate) async fn pass_time(&self, by: Duration) {
        tokio::time::pause();
        tokio::time::advance(by).await;
        tokio::time::resume();
    }

    pub(crate) async fn stop_messages(&mut self) {
        if let Some(messages) = self.messages.take() {
            messages.stop().await;
        }
    }

    pub(crate) async fn stop_friends(&mut self) {
        if let Some(friends) = self.friends.take() {
            friends.stop().await;
        }
    }

    /// A counter of the timeline's `/metrics`, summed over its label sets.
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        self.metric_where(name, "").await
    }

    /// A counter summed over the label sets that contain `labels` (e.g. `service="users"`).
    pub(crate) async fn metric_where(&self, name: &str, labels: &str) -> f64 {
        let text = self.get("/metrics").await.text().await.unwrap();
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter(|l| l[name.len()..].starts_with(['{', ' ']))
            .filter(|l| l.contains(labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// What the services hold: the timeline of `user` computed from their own answers with
    /// the rules written out plainly (not the timeline's code).
    pub(crate) async fn expected(&self, user: i64, per_friend: usize, limit: usize) -> Value {
        let get = |url: String| {
            let client = self.client.clone();
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .unwrap()
                    .json::<Value>()
                    .await
                    .unwrap()
            }
        };
        let friends = self.friends.as_ref().expect("friends running");
        let messages = self.messages.as_ref().expect("messages running");
        let mut friend_ids = Vec::new();
        let mut after = String::new();
        loop {
            let page = get(friends.url(&format!("/users/{user}/friends?limit=5000{after}"))).await;
            friend_ids.extend(
                page["friend_ids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap()),
            );
            match page["next_after"].as_i64() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        let mut profiles: HashMap<i64, Value> = HashMap::new();
        let mut latest: HashMap<i64, Vec<Value>> = HashMap::new();
        for chunk in friend_ids.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(i64::to_string).collect();
            let ids = ids.join(",");
            let found = get(self.users.url(&format!("/users?ids={ids}"))).await;
            for u in found["users"].as_array().unwrap() {
                profiles.insert(u["id"].as_i64().unwrap(), u.clone());
            }
            let answer = get(messages.url(&format!(
                "/messages/latest?authors={ids}&per_author={per_friend}"
            )))
            .await;
            for a in answer["latest"].as_array().unwrap() {
                latest.insert(
                    a["author_id"].as_i64().unwrap(),
                    a["messages"].as_array().unwrap().clone(),
                );
            }
        }
        let newest = |id: &i64| {
            latest.get(id).and_then(|m| m.first()).map(|m| {
                let at =
                    kit::timestamp::Timestamp::parse_rfc3339(m["created_at"].as_str().unwrap())
                        .unwrap();
                (at, m["id"].as_i64().unwrap())
            })
        };
        let mut missing: Vec<i64> = friend_ids
            .iter()
            .copied()
            .filter(|id| !profiles.contains_key(id))
            .collect();
        missing.sort_unstable();
        let mut shown: Vec<i64> = friend_ids
            .iter()
            .copied()
            .filter(|id| profiles.contains_key(id))
            .collect();
        shown.sort_by(|a, b| match (newest(a), newest(b)) {
            (Some(x), Some(y)) => y.cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(b),
        });
        shown.truncate(limit);
        let entries: Vec<Value> = shown
            .iter()
            .map(|id| {
                let p = &profiles[id];
                let messages: Vec<Value> = latest
                    .get(id)
                    .map(|m| m.iter().map(|m| serde_json::json!({"id": m["id"], "text": m["text"], "created_at": m["created_at"]})).collect())
                    .unwrap_or_default();
                serde_json::json!({
                    "friend": {"id": id, "name": p["name"], "avatar_url": p["avatar_url"]},
                    "messages": messages,
                })
            })
            .collect();
        serde_json::json!({"user_id": user, "entries": entries, "missing_friends": missing, "degraded": []})
    }
}

// === writes, on a live stack: to the service and its feed ===

impl Stack {
    pub(crate) fn feeds(&self) -> &Feeds {
        self.feeds.as_ref().expect("a live stack")
    }

    /// A message by `author` written at `at` (microseconds); its id and feed position.
    pub(crate) async fn write_message(&self, author: i64, text: &str, at: i64) -> (i64, String) {
        let new = messages::domain::NewMessage {
            author_id: kit::ids::UserId::new(author),
            text: messages::domain::MessageText::parse(text.to_owned()).unwrap(),
        };
        let (message, _) = self
            .messages_store
            .create_at(&new, Timestamp::from_micros(at))
            .await
            .unwrap();
        let change = Change::upserted("message", message.id, &message);
        (
            message.id.get(),
            commit(&self.feeds().messages, change).await,
        )
    }

    pub(crate) async fn delete_message(&self, id: i64) -> String {
        assert!(
            self.messages_store
                .delete(kit::ids::MessageId::new(id))
                .await
                .unwrap()
                .is_some()
        );
        commit(&self.feeds().messages, Change::deleted("message", id)).await
    }

    pub(crate) async fn delete_user(&self, id: i64) -> String {
        let url = self.users.url(&format!("/users/{id}"));
        let response = self.client.delete(url).send().await.unwrap();
        assert_eq!(response.status(), 204, "delete user {id}");
        commit(&self.feeds().users, Change::deleted("user", id)).await
    }

    pub(crate) async fn rename_user(&self, id: i64, name: &str) -> String {
        let url = self.users.url(&format!("/users/{id}"));
        let response = self
            .client
            .patch(url)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "rename user {id}");
        let user: Value = response.json().await.unwrap();
        commit(&self.feeds().users, Change::upserted("user", id, &user)).await
    }

    /// A new user (no friends yet); their id and feed position.
    pub(crate) async fn create_user(&self, name: &str) -> (i64, String) {
        let url = self.users.url("/users");
        let response = self
            .client
            .post(url)
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "create user");
        let user: Value = response.json().await.unwrap();
        let id = user["id"].as_i64().unwrap();
        let position = commit(&self.feeds().users, Change::upserted("user", id, &user)).await;
        (id, position)
    }

    pub(crate) async fn befriend(&self, a: i64, b: i64) -> String {
        self.friendship(a, b, true).await
    }

    pub(crate) async fn unfriend(&self, a: i64, b: i64) -> String {
        self.friendship(a, b, false).await
    }

    async fn friendship(&self, a: i64, b: i64, add: bool) -> String {
        let friends = self.friends.as_ref().expect("friends running");
        let url = friends.url(&format!("/users/{a}/friends/{b}"));
        let request = if add {
            self.client.put(url)
        } else {
            self.client.delete(url)
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 204, "friendship {a}-{b}");
        let (low, high) = (a.min(b), a.max(b));
        let key = format!("{low}-{high}");
        let change = if add {
            let data = json!({"user_id": low, "friend_id": high, "created_at": Timestamp::now()});
            Change::upserted("friendship", key, &data)
        } else {
            Change::deleted("friendship", key)
        };
        commit(&self.feeds().friends, change).await
    }
}

// === reads ===

impl Stack {
    /// `GET` on the timeline service carrying each of `positions` as `X-Change-Position`.
    pub(crate) async fn get_at(&self, path: &str, positions: &[&str]) -> reqwest::Response {
        let mut request = self.client.get(self.timeline.url(path));
        for position in positions {
            request = request.header("x-change-position", *position);
        }
        request.send().await.unwrap()
    }

    /// Where the timeline of `user` came from (`view` or `composed`) and its body without
    /// `generated_at`, asserting a 200.
    pub(crate) async fn answer(
        &self,
        user: i64,
        query: &str,
        positions: &[&str],
    ) -> (String, Value) {
        let response = self
            .get_at(&format!("/timeline/{user}?{query}"), positions)
            .await;
        assert_eq!(response.status(), 200, "timeline of {user}?{query}");
        let source = response.headers()["x-timeline-source"]
            .to_str()
            .unwrap()
            .to_owned();
        (source, without_generated_at(response.json().await.unwrap()))
    }

    /// The timeline of `user` from the view, and composed (a position of a feed the view
    /// does not follow makes it compose at once), asserting where each came from.
    pub(crate) async fn view_and_composed(&self, user: i64, query: &str) -> (Value, Value) {
        let (source, view) = self.answer(user, query, &[]).await;
        assert_eq!(source, "view", "timeline of {user}?{query}: {view}");
        let (source, composed) = self.answer(user, query, &["monolith:1"]).await;
        assert_eq!(source, "composed", "timeline of {user}?{query}");
        (view, composed)
    }

    /// Waits until the timeline of `user` comes from the view.
    pub(crate) async fn until_view(&self, user: i64) {
        let path = &format!("/timeline/{user}?limit=1");
        eventually(
            &format!("the view answers for {user}"),
            move || async move {
                let response = self.get(path).await;
                (response.headers()["x-timeline-source"] == "view").then_some(())
            },
        )
        .await;
    }
}

/// Waits until `check` gives something, looking every 20 ms, failing after 30 s.
pub(crate) async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(tokio::time::Instant::now() < give_up, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

// === impl Feeds ===

impl Feeds {
    /// The feeds of `world`: every user, friendship and message, once each.
    async fn of(world: &World) -> Self {
        let users: Vec<Change> = world
            .users()
            .map(|u| {
                let data = json!({"id": u.id, "name": u.name, "avatar_url": u.avatar_url,
                    "created_at": u.created_at});
                Change::upserted("user", u.id, &data)
            })
            .collect();
        let friends: Vec<Change> = world
            .friendships()
            .into_iter()
            .map(|(low, high)| {
                let data = json!({"user_id": low, "friend_id": high,
                    "created_at": "2025-01-01T00:00:00Z"});
                Change::upserted("friendship", format!("{low}-{high}"), &data)
            })
            .collect();
        let messages: Vec<Change> = world
            .messages()
            .map(|m| {
                let data = json!({"id": m.id, "author_id": m.author_id, "text": m.text,
                    "created_at": m.created_at});
                Change::upserted("message", m.id, &data)
            })
            .collect();
        Self {
            users: feed("users", &users).await,
            friends: feed("friends", &friends).await,
            messages: feed("messages", &messages).await,
            users_gate: Gate::default(),
            friends_gate: Gate::default(),
            messages_gate: Gate::default(),
            pages_gate: Gate::default(),
        }
    }

    /// `apps`, each serving its feed at `/changes` behind its gate.
    fn in_front_of(&self, apps: Apps) -> Apps {
        let users = served(apps.users, &self.users);
        let friends = served(apps.friends, &self.friends);
        let messages = served(apps.messages, &self.messages);
        Apps {
            users: self.users_gate.guard(users, is_changes),
            friends: self.friends_gate.guard(friends, is_changes),
            messages: self.pages_gate.guard(
                self.messages_gate.guard(messages, is_changes),
                is_author_page,
            ),
        }
    }

    pub(crate) fn gates(&self) -> [&Gate; 3] {
        [&self.users_gate, &self.friends_gate, &self.messages_gate]
    }
}

async fn feed(source: &str, changes: &[Change]) -> Feed {
    let migrations = Migrations {
        sqlite: &NO_MIGRATIONS,
        postgres: &NO_MIGRATIONS,
    };
    let db = Db::connect("sqlite::memory:", migrations).await.unwrap();
    // Tombstones expire only when a test says so, and then at once.
    let options = FeedOptions {
        tombstone_retention: Duration::ZERO,
        ..FeedOptions::default()
    };
    let feed = Feed::open(db, source, options).await.unwrap();
    if !changes.is_empty() {
        let tx = feed.begin().await.unwrap();
        feed.commit(tx, changes).await.unwrap();
    }
    feed
}

/// Commits `change` to `feed`; its position, `SOURCE:SEQ`.
pub(crate) async fn commit(feed: &Feed, change: Change) -> String {
    let tx = feed.begin().await.unwrap();
    let position = feed.commit(tx, &[change]).await.unwrap().unwrap();
    position.to_string()
}

/// `app` with `feed` at `/changes` (and `/feeds`, `/metrics`) in place of the service's
/// own feed.
fn served(app: Router, feed: &Feed) -> Router {
    let api = FeedApi::new(feed.clone(), Followers::default(), |_| {});
    let feed_routes: Router = routes::<FeedApi>().with_state(api).into();
    feed_routes.fallback_service(app)
}

/// Which requests a gate stands in front of, by path.
type PathFilter = fn(&str) -> bool;

fn is_changes(path: &str) -> bool {
    path == "/changes"
}

fn is_author_page(path: &str) -> bool {
    path.starts_with("/users/") && path.ends_with("/messages")
}

// === impl Gate ===

impl Default for Gate {
    fn default() -> Self {
        Self {
            refuse: Arc::default(),
            open: Arc::new(watch::channel(true).0),
            delay_ms: Arc::default(),
        }
    }
}

impl Gate {
    /// Answers 503 (the feed is unreachable) until [`open`](Self::open)ed.
    pub(crate) fn refuse(&self) {
        self.refuse.store(true, Ordering::SeqCst);
    }

    /// Holds requests until [`open`](Self::open)ed.
    pub(crate) fn hold(&self) {
        self.open.send_replace(false);
    }

    /// Lets every request through again, held ones too.
    pub(crate) fn open(&self) {
        self.refuse.store(false, Ordering::SeqCst);
        self.open.send_replace(true);
    }

    /// Delays each answer by `delay` from now on.
    pub(crate) fn delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    fn guard(&self, app: Router, applies: PathFilter) -> Router {
        app.layer(axum::middleware::from_fn_with_state(
            (self.clone(), applies),
            gated,
        ))
    }
}

async fn gated(
    State((gate, applies)): State<(Gate, PathFilter)>,
    request: Request,
    next: Next,
) -> Response {
    if !applies(request.uri().path()) {
        return next.run(request).await;
    }
    if gate.refuse.load(Ordering::SeqCst) {
        return (http::StatusCode::SERVICE_UNAVAILABLE, "gate closed").into_response();
    }
    let mut open = gate.open.subscribe();
    let _ = open.wait_for(|open| *open).await;
    let response = next.run(request).await;
    let delay = gate.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    response
}

/// Drops `generated_at`, the one field that differs between equal answers.
pub(crate) fn without_generated_at(mut timeline: Value) -> Value {
    assert!(timeline["generated_at"].is_string(), "{timeline}");
    timeline.as_object_mut().unwrap().remove("generated_at");
    timeline
}

fn tapped(app: Router, tap: &Tap) -> Router {
    app.layer(axum::middleware::from_fn_with_state(
        tap.clone(),
        record_and_delay,
    ))
}

async fn record_and_delay(State(tap): State<Tap>, request: Request, next: Next) -> Response {
    // Read the headers before any await: the future must not hold a borrow of the body.
    let headers = request.headers();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (request_id, traceparent) = (header("x-request-id"), header("traceparent"));
    if let Some(id) = request_id {
        tap.seen.request_ids.lock().unwrap().push(id);
    }
    if let Some(tp) = traceparent {
        tap.seen.traceparents.lock().unwrap().push(tp);
    }
    let delay = tap.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    next.run(request).await
}
