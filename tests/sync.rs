//! `gateway sync verify` end to end: the real binary against the monolith and the users,
//! friends and messages services, each on an ephemeral loopback port with its own SQLite
//! store filled with the same demo world, their feeds read over HTTP.
//!
//! Equal worlds verify equal (exit 0); writes made on one side only are named exactly, each
//! of them and nothing else (exit 1); a side that does not answer is one line naming its URL
//! (exit 2).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::process::Output;

use kit::cli::ServiceConfig as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const BIN: &str = env!("CARGO_BIN_EXE_gateway");

/// 300 users, about 1200 friendships, and 6000 messages: more than one feed page (5000).
const SPEC: &str = "users=300,friends=8,messages=20,seed=3";

/// One server, stopped when dropped.
struct Running {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

/// The four sides, each filled with [`SPEC`].
struct World {
    monolith: Running,
    users: Running,
    friends: Running,
    messages: Running,
    client: reqwest::Client,
}

// === impl Running ===

impl Running {
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = kit::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel();
        let served = serve(listener, stopped);
        tokio::spawn(async move { served.await.expect("server failed") });
        Self { addr, _stop: stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Runs service `$krate` on an in-memory store filled with [`SPEC`].
macro_rules! serve {
    ($krate:ident) => {
        Running::start(|listener, stopped| {
            let config = $krate::Config::try_from_args([
                stringify!($krate).to_owned(),
                "--listen=127.0.0.1:0".to_owned(),
                "--database=sqlite::memory:".to_owned(),
                format!("--demo={SPEC}"),
            ])
            .unwrap();
            $krate::serve(config, listener, async move {
                let _ = stopped.await;
            })
        })
        .await
    };
}

// === impl World ===

impl World {
    async fn start() -> Self {
        kit::test_util::init_tracing();
        let world = Self {
            monolith: serve!(monolith),
            users: serve!(users),
            friends: serve!(friends),
            messages: serve!(messages),
            client: reqwest::Client::new(),
        };
        // A store fills before it accepts connections: one answer from each means filled.
        for side in world.sides() {
            let status = world.client.get(side.url("/readyz")).send().await.unwrap();
            assert!(status.status().is_success(), "{}", side.addr);
        }
        world
    }

    fn sides(&self) -> [&Running; 4] {
        [&self.monolith, &self.users, &self.friends, &self.messages]
    }

    /// Every side's URL as a flag.
    fn flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for (name, side) in ["monolith", "users", "friends", "messages"]
            .into_iter()
            .zip(self.sides())
        {
            flags.push(format!("--{name}"));
            flags.push(side.url(""));
        }
        flags
    }

    async fn ok(&self, request: reqwest::RequestBuilder) -> Value {
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// `gateway sync verify ARGS`, as a user runs it.
async fn verify(args: &[String]) -> Output {
    tokio::process::Command::new(BIN)
        .args(["sync", "verify"])
        .args(args)
        .output()
        .await
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn with(mut args: Vec<String>, extra: &[&str]) -> Vec<String> {
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_world_on_both_sides_verifies_equal() {
    let world = World::start().await;

    let out = verify(&world.flags()).await;
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.ends_with("equal: both sides hold the same data\n"),
        "{text}"
    );

    let out = verify(&with(world.flags(), &["--format", "json"])).await;
    assert_eq!(out.status.code(), Some(0));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["equal"], true);
    let counts: Vec<(&str, u64, u64)> = report["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["missing_on_monolith"], json!([]));
            assert_eq!(e["missing_on_service"], json!([]));
            assert_eq!(e["different"], json!([]));
            let m = e["monolith_count"].as_u64().unwrap();
            assert_eq!(e["service_count"].as_u64(), Some(m));
            (e["entity"].as_str().unwrap(), m, m)
        })
        .collect();
    assert_eq!(counts[0], ("user", 300, 300));
    assert_eq!(counts[2], ("message", 6000, 6000), "two pages each side");
    assert_eq!(counts[1].0, "friendship");
    assert!(counts[1].1 > 500, "{counts:?}");

    // The URLs come from a routes file's upstreams; a flag replaces one of them.
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.yaml");
    let unreachable = closed_port().await;
    std::fs::write(
        &routes,
        format!(
            "upstreams:\n  monolith: {{url: \"{}\"}}\n  users: {{url: \"{unreachable}\"}}\n  \
             friends: {{url: \"{}\"}}\n  messages: {{url: \"{}\"}}\n\
             routes:\n  - prefix: /\n    to: monolith\n",
            world.monolith.url(""),
            world.friends.url(""),
            world.messages.url("")
        ),
    )
    .unwrap();
    let routes = routes.display().to_string();
    let users = world.users.url("");
    let out = verify(&[
        "--routes".to_owned(),
        routes.clone(),
        "--users".to_owned(),
        users,
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = verify(&["--routes".to_owned(), routes]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "the file's own users URL is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_on_one_side_only_are_each_named_and_exit_1() {
    let world = World::start().await;
    let c = &world.client;

    // A user signs up on the monolith only.
    let created = world
        .ok(c
            .post(world.monolith.url("/users"))
            .json(&json!({"name": "Zed Only-Monolith"})))
        .await;
    let new_id = created["id"].to_string();
    // User 7 is renamed on the users service only.
    let before = world.ok(c.get(world.monolith.url("/users/7"))).await;
    world
        .ok(c
            .patch(world.users.url("/users/7"))
            .json(&json!({"name": "Renamed On Users"})))
        .await;
    // Message 5 is deleted on the monolith only, message 11 on the messages service only.
    for (side, id) in [(&world.monolith, 5), (&world.messages, 11)] {
        let status = c
            .delete(side.url(&format!("/messages/{id}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 204, "{id}");
    }
    // One of user 2's friendships is removed on the friends service only.
    let friends = world.ok(c.get(world.friends.url("/users/2/friends"))).await;
    let friend = friends["friend_ids"][0].as_i64().unwrap();
    let status = c
        .delete(world.friends.url(&format!("/users/2/friends/{friend}")))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    let pair = format!("{}-{}", friend.min(2), friend.max(2));

    let out = verify(&with(world.flags(), &["--format", "json"])).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["equal"], false);
    let entity = |name: &str| {
        report["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["entity"] == name)
            .unwrap()
            .clone()
    };
    let user = entity("user");
    assert_eq!(user["missing_on_monolith"], json!([]));
    assert_eq!(user["missing_on_service"], json!([new_id]));
    assert_eq!(
        user["different"],
        json!([{"subject": "7", "fields": [
            {"field": "name", "monolith": before["name"], "service": "Renamed On Users"}
        ]}])
    );
    assert_eq!(
        (
            user["monolith_count"].as_u64(),
            user["service_count"].as_u64()
        ),
        (Some(301), Some(300))
    );
    let friendship = entity("friendship");
    assert_eq!(friendship["missing_on_monolith"], json!([]));
    assert_eq!(friendship["missing_on_service"], json!([pair]));
    assert_eq!(friendship["different"], json!([]));
    let message = entity("message");
    assert_eq!(message["missing_on_monolith"], json!(["5"]));
    assert_eq!(message["missing_on_service"], json!(["11"]));
    assert_eq!(message["different"], json!([]));

    let out = verify(&world.flags()).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let listed: Vec<&str> = text
        .lines()
        .skip_while(|l| *l != "differences:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(
        listed,
        [
            format!("  user {new_id}: missing on users, held by the monolith"),
            format!(
                "  user 7: different: name: monolith {}, users \"Renamed On Users\"",
                before["name"]
            ),
            format!("  friendship {pair}: missing on friends, held by the monolith"),
            "  message 5: missing on the monolith, held by messages".to_owned(),
            "  message 11: missing on messages, held by the monolith".to_owned(),
        ],
        "{text}"
    );
    assert!(text.ends_with("5 difference(s)\n"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_side_that_does_not_answer_is_named_and_exits_2() {
    // Answers every feed read with an empty feed.
    let monolith = stub(axum::Router::new().route(
        "/changes",
        axum::routing::get(|| async {
            axum::Json(json!({"changes": [], "next_after": 0, "head": 0, "oldest": 0}))
        }),
    ))
    .await;
    let closed = closed_port().await;
    let out = verify(&[
        "--monolith".to_owned(),
        monolith.url(""),
        "--users".to_owned(),
        closed.clone(),
        "--friends".to_owned(),
        closed.clone(),
        "--messages".to_owned(),
        closed.clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "{}", stdout(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "gateway: sync verify: cannot read {closed}/changes?after=0&limit=5000: "
        )),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("refused"), "{stderr}");

    // A server that is no feed: its answer is named.
    let out = verify(&[
        "--monolith".to_owned(),
        monolith.url("/nothing-here"),
        "--users".to_owned(),
        monolith.url(""),
        "--friends".to_owned(),
        monolith.url(""),
        "--messages".to_owned(),
        monolith.url(""),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nothing-here/changes"), "{stderr}");
    assert!(stderr.contains("it answered 404 Not Found"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_sends_back_its_oldest_and_restarts_after_a_410() {
    use std::sync::{Arc, Mutex};

    use axum::extract::{RawQuery, State};
    use axum::response::IntoResponse as _;

    let user = |id: u64| {
        json!({"type": "user.upserted", "subject": id.to_string(),
            "data": {"id": id, "name": format!("U{id}"), "avatar_url": null,
                "created_at": "2026-01-01T00:00:00Z"}})
    };
    // The monolith's users come in two pages; the first read of the second page is a 410.
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let feed = {
        let (first, second) = (user(1), user(2));
        move |State(asked): State<Arc<Mutex<Vec<String>>>>, RawQuery(query): RawQuery| {
            let (first, second) = (first.clone(), second.clone());
            async move {
                let query = query.unwrap_or_default();
                let mut asked = asked.lock().unwrap();
                asked.push(query.clone());
                let gone_before = asked.iter().filter(|q| q.contains("oldest=")).count() > 1;
                drop(asked);
                let page = if query.starts_with("after=0&") {
                    json!({"changes": [first], "next_after": 1, "head": 2, "oldest": 1})
                } else if gone_before {
                    json!({"changes": [second], "next_after": 2, "head": 2, "oldest": 1})
                } else {
                    return axum::http::StatusCode::GONE.into_response();
                };
                axum::Json(page).into_response()
            }
        }
    };
    let monolith = stub(
        axum::Router::new()
            .route("/changes", axum::routing::get(feed))
            .with_state(Arc::clone(&asked)),
    )
    .await;
    let (a, b) = (user(1), user(2));
    let users = stub(axum::Router::new().route(
        "/changes",
        axum::routing::get(move |RawQuery(query): RawQuery| {
            // Users only: the friends and messages feeds this stub also stands for hold none.
            let page = json!({"changes": [a, b], "next_after": 9, "head": 9, "oldest": 0});
            drop(query);
            async move { axum::Json(page) }
        }),
    ))
    .await;

    let out = verify(&[
        "--monolith".to_owned(),
        monolith.url(""),
        "--users".to_owned(),
        users.url(""),
        "--friends".to_owned(),
        users.url(""),
        "--messages".to_owned(),
        users.url(""),
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        *asked.lock().unwrap(),
        [
            "after=0&limit=5000",
            "after=1&limit=5000&oldest=1",
            "after=0&limit=5000",
            "after=1&limit=5000&oldest=1",
        ]
    );
}

/// Serves `app` on an ephemeral port.
async fn stub(app: axum::Router) -> Running {
    Running::start(|listener, stopped| async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await?;
        Ok(())
    })
    .await
}

/// A loopback URL nobody listens on.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}
