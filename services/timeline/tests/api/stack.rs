//! The real users, friends and messages services on ephemeral ports, filled with one demo
//! world, and a timeline service in front of them. Users can be slowed down and every
//! service records the request ids and traceparents it saw.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use kit::cli::ServiceConfig;
use kit::demo::World;
use kit::layers::Limits;
use kit::test_util::TestServer;
use serde_json::Value;

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

pub(crate) struct Stack {
    pub(crate) users: TestServer,
    pub(crate) friends: Option<TestServer>,
    pub(crate) messages: Option<TestServer>,
    pub(crate) timeline: TestServer,
    pub(crate) users_tap: Tap,
    pub(crate) messages_tap: Tap,
    pub(crate) client: reqwest::Client,
}

impl Stack {
    /// The three services on `demo`, and a timeline started with `timeline_args`.
    pub(crate) async fn start(demo: &str, timeline_args: &[&str]) -> Self {
        let world = World::new(demo.parse().expect("demo spec"));
        let users_tap = Tap::default();
        let messages_tap = Tap::default();

        let store = users::Store::open("sqlite::memory:").await.unwrap();
        store.fill_demo(&world).await.unwrap();
        let users = tapped(
            users::app(users::AppState { store }, &Limits::default()),
            &users_tap,
        );

        let store = friends::Store::open("sqlite::memory:").await.unwrap();
        store.fill_demo(&world).await.unwrap();
        let friends = friends::app(friends::AppState { store }, &Limits::default());

        let store = messages::Store::open("sqlite::memory:").await.unwrap();
        store.fill_demo(&world).await.unwrap();
        let messages = tapped(
            messages::app(messages::AppState { store }, &Limits::default()),
            &messages_tap,
        );

        let users = TestServer::start(users).await;
        let friends = TestServer::start(friends).await;
        let messages = TestServer::start(messages).await;

        let mut args = vec![
            "timeline".to_owned(),
            "--listen=127.0.0.1:0".to_owned(),
            format!("--users-url={}", users.url("")),
            format!("--friends-url={}", friends.url("")),
            format!("--messages-url={}", messages.url("")),
        ];
        args.extend(timeline_args.iter().map(|a| (*a).to_owned()));
        let config = timeline::Config::try_from_args(args).expect("timeline config");
        let state = timeline::AppState::from_config(&config).unwrap();
        let timeline = TestServer::start(timeline::app(state, &config.limits)).await;
        Self {
            users,
            friends: Some(friends),
            messages: Some(messages),
            timeline,
            users_tap,
            messages_tap,
            client: reqwest::Client::new(),
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
