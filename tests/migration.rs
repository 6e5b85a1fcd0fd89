//! The migration keeps every write: the monolith and the users, friends and messages
//! services, in this process with SQLite files of their own, replicating to each other over
//! their change feeds as `gateway up` runs them. A write on either side is read back on the
//! other; ids made on both sides never collide; concurrent changes of one entity end the
//! same on both; a side that was down catches up; an empty service is backfilled.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "migration/sides.rs"]
mod sides;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use kit::test_util::eventually;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::sides::{FRIENDS, MESSAGES, MONOLITH, NAMES, SOON, Sides, USERS, friend_ids, id_list};

const SPEC: &str = "users=40,friends=3,messages=2,seed=11";
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_on_either_side_is_read_back_on_the_other() {
    let sides = Sides::start(SPEC, Some(SPEC)).await;

    // A user signs up on the monolith; the users service has them.
    let ada = sides
        .send(MONOLITH, "POST", "/users", Some(json!({"name": "Ada"})))
        .await;
    let ada_id = ada["id"].as_i64().unwrap();
    assert_eq!(ada_id % 2, 1, "the monolith hands out odd ids: {ada}");
    sides
        .until(USERS, &format!("/users/{ada_id}"), 200, |u| {
            u["name"] == "Ada"
        })
        .await;

    // Another on the users service; the monolith has them.
    let bo = sides
        .send(USERS, "POST", "/users", Some(json!({"name": "Bo"})))
        .await;
    let bo_id = bo["id"].as_i64().unwrap();
    assert_eq!(bo_id % 2, 0, "the services hand out even ids: {bo}");
    sides
        .until(MONOLITH, &format!("/users/{bo_id}"), 200, |u| u == &bo)
        .await;

    // Renamed on the users service, read on the monolith.
    sides
        .send(
            USERS,
            "PATCH",
            &format!("/users/{ada_id}"),
            Some(json!({"name": "Ada L."})),
        )
        .await;
    sides
        .until(MONOLITH, &format!("/users/{ada_id}"), 200, |u| {
            u["name"] == "Ada L."
        })
        .await;

    // Friends made on the friends service, seen by the monolith; a message posted on
    // the monolith, read on the messages service.
    sides
        .send(
            FRIENDS,
            "PUT",
            &format!("/users/{ada_id}/friends/{bo_id}"),
            None,
        )
        .await;
    sides
        .until(MONOLITH, &format!("/users/{ada_id}/friends"), 200, |f| {
            friend_ids(f).contains(&bo_id)
        })
        .await;
    let message = sides
        .send(
            MONOLITH,
            "POST",
            "/messages",
            Some(json!({"author_id": bo_id, "text": "hello from the monolith"})),
        )
        .await;
    let message_id = message["id"].as_i64().unwrap();
    sides
        .until(MESSAGES, &format!("/messages/{message_id}"), 200, |m| {
            m["text"] == "hello from the monolith"
        })
        .await;

    // Bo deleted on the users service: the monolith deletes Bo, the friendship and the
    // message, and so do the friends and messages services.
    sides
        .send(USERS, "DELETE", &format!("/users/{bo_id}"), None)
        .await;
    sides
        .until(MONOLITH, &format!("/users/{bo_id}"), 404, |_| true)
        .await;
    sides
        .until(MONOLITH, &format!("/messages/{message_id}"), 404, |_| true)
        .await;
    sides
        .until(MESSAGES, &format!("/messages/{message_id}"), 404, |_| true)
        .await;
    for side in [MONOLITH, FRIENDS] {
        sides
            .until(side, &format!("/users/{ada_id}/friends"), 200, |f| {
                !friend_ids(f).contains(&bo_id)
            })
            .await;
    }
    // Replication stops once both sides agree: no change goes round.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = sides.heads().await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(before, sides.heads().await, "the feeds kept growing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_created_on_both_sides_at_once_never_share_an_id() {
    let sides = Sides::start(SPEC, Some(SPEC)).await;
    let creates = (0..16).map(|n| {
        let side = if n % 2 == 0 { MONOLITH } else { USERS };
        let sides = &sides;
        async move {
            sides
                .send(
                    side,
                    "POST",
                    "/users",
                    Some(json!({"name": format!("user {n}")})),
                )
                .await["id"]
                .as_i64()
                .unwrap()
        }
    });
    let ids: Vec<i64> = futures_util::future::join_all(creates).await;
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        ids.len(),
        "an id was handed out twice: {ids:?}"
    );
    // Each side ends with every one of them.
    let list = id_list(ids.iter().copied());
    for side in [MONOLITH, USERS] {
        sides
            .until(side, &format!("/users?ids={list}"), 200, |body| {
                body["users"].as_array().map(Vec::len) == Some(ids.len())
            })
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_of_one_user_end_the_same_on_both_sides() {
    let sides = Sides::start(SPEC, Some(SPEC)).await;
    // Both sides rename users 1 to 5 at the same moment, several times.
    for round in 0..5 {
        let renames = (1..=5).flat_map(|id| {
            [MONOLITH, USERS].map(|side| {
                let sides = &sides;
                async move {
                    let name = format!("{} {round}", NAMES[side]);
                    sides
                        .send(
                            side,
                            "PATCH",
                            &format!("/users/{id}"),
                            Some(json!({"name": name})),
                        )
                        .await
                }
            })
        });
        futures_util::future::join_all(renames).await;
    }
    for id in 1..=5 {
        let path = format!("/users/{id}");
        eventually("both sides to agree", SOON, || async {
            let (a, b) = (
                sides.get(MONOLITH, &path).await,
                sides.get(USERS, &path).await,
            );
            (a == b && a.1["name"].as_str().is_some_and(|n| n.ends_with(" 4"))).then_some(())
        })
        .await;
    }

    // A deletion on one side and an update on the other at once: deleted on both.
    let delete = sides.send(MONOLITH, "DELETE", "/users/7", None);
    let rename = sides
        .http
        .patch(sides.url(USERS, "/users/7"))
        .json(&json!({"name": "late"}))
        .send();
    let (_, renamed) = tokio::join!(delete, rename);
    let _ = renamed.unwrap();
    for side in [MONOLITH, USERS] {
        sides.until(side, "/users/7", 404, |_| true).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for side in [MONOLITH, USERS] {
        assert_eq!(sides.get(side, "/users/7").await.0, 404, "{}", NAMES[side]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_made_while_the_monolith_is_down_reach_it_once_it_is_back() {
    let mut sides = Sides::start(SPEC, Some(SPEC)).await;
    sides.stop(MONOLITH).await;
    let mut written = Vec::new();
    let down = tokio::time::Instant::now();
    let mut n = 0;
    // Ten seconds of writes on the services with the monolith down.
    while down.elapsed() < Duration::from_secs(10) {
        let user = sides
            .send(
                USERS,
                "POST",
                "/users",
                Some(json!({"name": format!("offline {n}")})),
            )
            .await;
        let id = user["id"].as_i64().unwrap();
        sides
            .send(
                MESSAGES,
                "POST",
                "/messages",
                Some(json!({"author_id": id, "text": format!("written while down {n}")})),
            )
            .await;
        written.push(id);
        n += 1;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The services' follower of the monolith shows it unreachable, and lagging.
    let follower = sides.follower(USERS, "users-from-monolith").await;
    assert_eq!(follower["connected"], false, "{follower}");
    assert!(
        follower["lag_seconds"].as_f64().unwrap() > 5.0,
        "{follower}"
    );

    sides.restart(MONOLITH).await;
    let list = id_list(written.iter().copied());
    sides
        .until(MONOLITH, &format!("/users?ids={list}"), 200, |body| {
            body["users"].as_array().map(Vec::len) == Some(written.len())
        })
        .await;
    for id in &written {
        sides
            .until(MONOLITH, &format!("/users/{id}/messages"), 200, |body| {
                body["messages"].as_array().is_some_and(|m| m.len() == 1)
            })
            .await;
    }
    // Caught up: the monolith's followers are at the head again.
    for consumer in ["monolith-from-users", "monolith-from-messages"] {
        eventually("the monolith to catch up", SOON, || async {
            let follower = sides.follower(MONOLITH, consumer).await;
            (follower["lag_events"] == 0 && follower["connected"] == true).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn services_started_empty_copy_the_monolith_then_follow_it() {
    let sides = Sides::start(SPEC, None).await;
    let all = id_list(1..=40);
    let (_, expected) = sides.get(MONOLITH, &format!("/users?ids={all}")).await;
    sides
        .until(USERS, &format!("/users?ids={all}"), 200, |body| {
            body["users"] == expected["users"]
        })
        .await;
    let (_, friends) = sides.get(MONOLITH, "/users/1/friends").await;
    sides
        .until(FRIENDS, "/users/1/friends", 200, |body| {
            friend_ids(body) == friend_ids(&friends)
        })
        .await;
    let (_, latest) = sides
        .get(MONOLITH, &format!("/messages/latest?authors={all}"))
        .await;
    sides
        .until(
            MESSAGES,
            &format!("/messages/latest?authors={all}"),
            200,
            |body| body["messages"] == latest["messages"],
        )
        .await;
    // And then follows it.
    sides
        .send(
            MONOLITH,
            "PATCH",
            "/users/3",
            Some(json!({"name": "After the copy"})),
        )
        .await;
    sides
        .until(USERS, "/users/3", 200, |u| u["name"] == "After the copy")
        .await;
}

/// The routes of a migration step: the first `moved` of users, friends and messages on
/// their services, the rest on the monolith; `users_split` instead splits `/users` 50/50.
fn phase(moved: usize, users_split: bool) -> String {
    let side = |resource: usize, service: &str| {
        if resource < moved {
            format!("to: {service}")
        } else {
            "to: monolith".to_owned()
        }
    };
    let users = if users_split {
        "split: {users: 1, monolith: 1}".to_owned()
    } else {
        side(0, "users")
    };
    let friends = side(1, "friends");
    let messages = side(2, "messages");
    format!(
        "upstreams:
  users: {{url: 'http://127.0.0.1:9'}}
  friends: {{url: 'http://127.0.0.1:9'}}
  messages: {{url: 'http://127.0.0.1:9'}}
  monolith: {{url: 'http://127.0.0.1:9'}}
routes:
  - {{path: /users, {users}}}
  - {{path: '/users/{{id}}', {users}}}
  - {{path: '/users/{{id}}/friends', {friends}}}
  - {{path: '/users/{{id}}/friends/{{friend_id}}', {friends}}}
  - {{path: /messages, {messages}}}
  - {{path: '/messages/{{id}}', {messages}}}
  - {{path: '/users/{{id}}/messages', {messages}}}
  - {{prefix: /, to: monolith}}
"
    )
}

/// A gateway in front of `sides`, serving `routes` from a file in `dir` (reloaded by
/// `POST /admin/reload`).
async fn gateway(
    sides: &Sides,
    routes: &str,
    dir: &tempfile::TempDir,
) -> gateway::startup::Running {
    use gateway::startup::ServeConfig;
    let file = dir.path().join("routes.yaml");
    std::fs::write(&file, routes).unwrap();
    let mut overrides = gateway::table::Overrides::default();
    for (side, name) in NAMES.iter().enumerate() {
        overrides = overrides.with(*name, sides.url(side, ""));
    }
    gateway::startup::start(ServeConfig {
        routes: file,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_token: None,
        overrides,
        watch: false,
        sighup: false,
        shutdown_grace: Duration::from_secs(5),
        workers: 2,
        max_concurrent_requests: 1024,
    })
    .await
    .unwrap()
}

/// What one client wrote and had acknowledged.
#[derive(Debug, Default)]
struct Written {
    users: Vec<(i64, String)>,
    friendships: Vec<(i64, i64)>,
    messages: Vec<i64>,
    /// Requests that failed, and reads that did not show the client's own write.
    failures: Vec<String>,
}

/// One client: creates a user, reads it back, renames it, befriends demo user `friend`,
/// posts a message, each read back at once through the gateway, until `stop`.
async fn client(
    http: reqwest::Client,
    base: String,
    number: usize,
    stop: CancellationToken,
) -> Written {
    let mut written = Written::default();
    let mut round = 0;
    let failed = |written: &mut Written, what: String| written.failures.push(what);
    while !stop.is_cancelled() {
        round += 1;
        let name = format!("client {number} round {round}");
        let response = http
            .post(format!("{base}/users"))
            .json(&json!({"name": name}))
            .send()
            .await
            .unwrap();
        let upstream = response.headers().get("x-upstream").cloned();
        if response.status() != 201 {
            let what = format!("POST /users: {} via {upstream:?}", response.status());
            failed(&mut written, what);
            continue;
        }
        let id = response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        let check =
            async |written: &mut Written, path: &str, ok: &(dyn Fn(&Value) -> bool + Sync)| {
                let response = http.get(format!("{base}{path}")).send().await.unwrap();
                let upstream = response.headers().get("x-upstream").cloned();
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if !status.is_success() || !ok(&body) {
                    written
                        .failures
                        .push(format!("GET {path} via {upstream:?}: {status} {body}"));
                }
            };
        check(&mut written, &format!("/users/{id}"), &|u| {
            u["name"] == name
        })
        .await;

        let renamed = format!("{name} renamed");
        let response = http
            .patch(format!("{base}/users/{id}"))
            .json(&json!({"name": renamed}))
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            failed(
                &mut written,
                format!("PATCH /users/{id}: {}", response.status()),
            );
            continue;
        }
        written.users.push((id, renamed.clone()));
        check(&mut written, &format!("/users/{id}"), &|u| {
            u["name"] == renamed
        })
        .await;

        let friend = i64::try_from(number % 40 + 1).unwrap();
        let response = http
            .put(format!("{base}/users/{id}/friends/{friend}"))
            .send()
            .await
            .unwrap();
        if response.status() != 204 {
            let what = format!("PUT /users/{id}/friends/{friend}: {}", response.status());
            failed(&mut written, what);
            continue;
        }
        written.friendships.push((id, friend));
        check(&mut written, &format!("/users/{id}/friends"), &|f| {
            friend_ids(f).contains(&friend)
        })
        .await;

        let text = format!("{name} says hello");
        let response = http
            .post(format!("{base}/messages"))
            .json(&json!({"author_id": id, "text": text}))
            .send()
            .await
            .unwrap();
        if response.status() != 201 {
            failed(
                &mut written,
                format!("POST /messages: {}", response.status()),
            );
            continue;
        }
        let message = response.json::<Value>().await.unwrap()["id"]
            .as_i64()
            .unwrap();
        written.messages.push(message);
        check(&mut written, &format!("/messages/{message}"), &|m| {
            m["text"] == text
        })
        .await;
    }
    written
}

/// Both sides hold every acknowledged write, the same.
async fn both_sides_hold(sides: &Sides, written: &Written) {
    for chunk in written.users.chunks(200) {
        let ids = id_list(chunk.iter().map(|(id, _)| *id));
        let path = format!("/users?ids={ids}");
        eventually("both sides to hold every user", SOON, || async {
            let (_, monolith) = sides.get(MONOLITH, &path).await;
            let (_, users) = sides.get(USERS, &path).await;
            let names = |body: &Value| -> BTreeSet<(i64, String)> {
                body["users"]
                    .as_array()
                    .map(|users| {
                        users
                            .iter()
                            .map(|u| {
                                (
                                    u["id"].as_i64().unwrap(),
                                    u["name"].as_str().unwrap().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let expected: BTreeSet<(i64, String)> = chunk.iter().cloned().collect();
            (names(&monolith) == expected && names(&users) == expected).then_some(())
        })
        .await;
    }
    for (user, friend) in &written.friendships {
        for side in [MONOLITH, FRIENDS] {
            sides
                .until(side, &format!("/users/{user}/friends"), 200, |f| {
                    friend_ids(f).contains(friend)
                })
                .await;
        }
    }
    for message in &written.messages {
        let path = format!("/messages/{message}");
        eventually("both sides to hold every message", SOON, || async {
            let a = sides.get(MONOLITH, &path).await;
            let b = sides.get(MESSAGES, &path).await;
            (a.0 == 200 && a == b).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_swaps_forward_and_back_lose_no_acknowledged_write() {
    let sides = Sides::start(SPEC, Some(SPEC)).await;
    let dir = tempfile::tempdir().unwrap();
    let running = gateway(&sides, &phase(0, false), &dir).await;
    let base = format!("http://{}", running.addr);
    let stop = CancellationToken::new();
    let clients: Vec<_> = (0..8)
        .map(|n| tokio::spawn(client(sides.http.clone(), base.clone(), n, stop.clone())))
        .collect();

    // Every phase forward and back again, sixty swaps.
    const WALK: [usize; 6] = [1, 2, 3, 2, 1, 0];
    let mut waited = Vec::new();
    for swap in 0..60 {
        let moved = WALK[swap % WALK.len()];
        std::fs::write(dir.path().join("routes.yaml"), phase(moved, false)).unwrap();
        let answer: Value = sides
            .http
            .post(format!("http://{}/admin/reload", running.admin_addr))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["changed"], true, "swap {swap}: {answer}");
        for handover in answer["handovers"].as_array().unwrap() {
            assert_eq!(handover["outcome"], "caught_up", "swap {swap}: {handover}");
            waited.push(handover["waited_ms"].as_u64().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    stop.cancel();
    let mut all = Written::default();
    for client in clients {
        let written = client.await.unwrap();
        all.users.extend(written.users);
        all.friendships.extend(written.friendships);
        all.messages.extend(written.messages);
        all.failures.extend(written.failures);
    }
    assert!(
        all.failures.is_empty(),
        "{} failures: {:#?}",
        all.failures.len(),
        all.failures
    );
    assert!(
        all.messages.len() > 60,
        "too little written: {}",
        all.messages.len()
    );
    let ids: BTreeSet<i64> = all.users.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids.len(), all.users.len(), "an id was handed out twice");
    both_sides_hold(&sides, &all).await;

    // The gateway shows replication in both directions, every follower caught up.
    let replication = format!("http://{}/admin/replication", running.admin_addr);
    eventually("every follower to be current", SOON, || async {
        let view: Value = sides
            .http
            .get(&replication)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let followers: Vec<(String, bool)> = view["sides"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|side| {
                side["feed"]["followers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|f| {
                let current = f["lag_events"] == 0 && f["connected"] == true;
                (f["consumer"].as_str().unwrap().to_owned(), current)
            })
            .collect();
        let names: BTreeSet<&str> = followers.iter().map(|(n, _)| n.as_str()).collect();
        let expected = [
            "friends",
            "friends-from-monolith",
            "messages",
            "messages-from-monolith",
            "monolith-from-friends",
            "monolith-from-messages",
            "monolith-from-users",
            "users-from-monolith",
        ];
        let all_there = expected.iter().all(|e| names.contains(e));
        (all_there && followers.iter().all(|(_, current)| *current)).then_some(())
    })
    .await;
    waited.sort_unstable();
    eprintln!(
        "{} users, {} messages written over 60 swaps; hand-over waits p50 {} ms, max {} ms",
        all.users.len(),
        all.messages.len(),
        waited.get(waited.len() / 2).copied().unwrap_or_default(),
        waited.last().copied().unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ups_split_between_both_sides_never_collide_and_converge() {
    let sides = Sides::start(SPEC, Some(SPEC)).await;
    let dir = tempfile::tempdir().unwrap();
    let running = gateway(&sides, &phase(0, true), &dir).await;
    let base = format!("http://{}", running.addr);
    let creates = (0..40).map(|n| {
        let http = sides.http.clone();
        let base = base.clone();
        async move {
            let response = http
                .post(format!("{base}/users"))
                .json(&json!({"name": format!("split {n}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let side = response.headers()["x-upstream"]
                .to_str()
                .unwrap()
                .to_owned();
            let id = response.json::<Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap();
            (side, id, format!("split {n}"))
        }
    });
    let created: Vec<(String, i64, String)> = futures_util::future::join_all(creates).await;
    let on = |side: &str| created.iter().filter(|(s, _, _)| s == side).count();
    assert_eq!((on("users"), on("monolith")), (20, 20));
    let ids: BTreeSet<i64> = created.iter().map(|(_, id, _)| *id).collect();
    assert_eq!(ids.len(), created.len(), "an id was handed out twice");
    let written = Written {
        users: created
            .into_iter()
            .map(|(_, id, name)| (id, name))
            .collect(),
        ..Written::default()
    };
    both_sides_hold(&sides, &written).await;
}
