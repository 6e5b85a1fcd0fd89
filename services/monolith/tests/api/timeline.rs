use std::collections::{BTreeSet, HashMap};

use kit::demo::World;
use kit::timestamp::Timestamp;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, detail, spawn_app};

const SPEC: &str = "users=150,friends=6,messages=5,seed=21,celebrities=1,celebrity_friends=80";

kit::on_both_backends!(
    every_timeline_equals_the_one_computed_from_the_demo_world,
    ties_go_to_the_higher_message_id_and_friends_without_messages_follow_by_id,
    unknown_user_is_404_and_a_user_without_friends_has_an_empty_timeline
);

/// The demo world's timelines computed in memory, the way the timeline service composes
/// them: the reference the SQL must reproduce.
struct Reference {
    users: HashMap<i64, (String, Option<String>)>,
    friends: HashMap<i64, BTreeSet<i64>>,
    /// Newest first, ties by higher id.
    messages: HashMap<i64, Vec<Value>>,
    /// Each author's newest message as `(created_at, id)`.
    newest: HashMap<i64, (Timestamp, i64)>,
}

impl Reference {
    fn new(world: &World) -> Self {
        let users = world
            .users()
            .map(|u| (u.id, (u.name, u.avatar_url)))
            .collect();
        let mut friends: HashMap<i64, BTreeSet<i64>> = HashMap::new();
        for (a, b) in world.friendships() {
            friends.entry(a).or_default().insert(b);
            friends.entry(b).or_default().insert(a);
        }
        let mut all: Vec<_> = world.messages().collect();
        all.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
        let mut messages: HashMap<i64, Vec<Value>> = HashMap::new();
        let mut newest = HashMap::new();
        for m in all {
            newest.entry(m.author_id).or_insert((m.created_at, m.id));
            messages.entry(m.author_id).or_default().push(json!({
                "id": m.id,
                "text": m.text,
                "created_at": m.created_at.to_rfc3339(),
            }));
        }
        Self {
            users,
            friends,
            messages,
            newest,
        }
    }

    fn timeline(&self, user: i64, per_friend: usize, limit: usize) -> Value {
        let friends = self.friends.get(&user).cloned().unwrap_or_default();
        let newest = |id: &i64| self.newest.get(id).copied();
        let (mut with, without): (Vec<i64>, Vec<i64>) =
            friends.into_iter().partition(|f| newest(f).is_some());
        with.sort_by_key(|f| std::cmp::Reverse(newest(f)));
        let entries: Vec<Value> = with
            .into_iter()
            .chain(without)
            .take(limit)
            .map(|id| {
                let (name, avatar_url) = &self.users[&id];
                let messages: Vec<Value> = self
                    .messages
                    .get(&id)
                    .map(|m| m.iter().take(per_friend).cloned().collect())
                    .unwrap_or_default();
                json!({
                    "friend": {"id": id, "name": name, "avatar_url": avatar_url},
                    "messages": messages,
                })
            })
            .collect();
        json!({"user_id": user, "entries": entries, "missing_friends": [], "degraded": []})
    }
}

/// The timeline without `generated_at`, after checking it is an RFC 3339 instant.
pub(crate) async fn timeline_json(app: &TestApp, path: &str) -> Value {
    let mut body = app.get_json(path).await;
    let generated_at = body
        .as_object_mut()
        .and_then(|o| o.remove("generated_at"))
        .expect("generated_at");
    assert!(
        kit::timestamp::Timestamp::parse_rfc3339(generated_at.as_str().unwrap()).is_ok(),
        "{generated_at}"
    );
    body
}

async fn every_timeline_equals_the_one_computed_from_the_demo_world(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let reference = Reference::new(&World::new(SPEC.parse().unwrap()));
    for user in 1..=150 {
        for (per_friend, limit) in [(1, 50), (3, 4), (10, 500)] {
            let got = timeline_json(
                &app,
                &format!("/timeline/{user}?per_friend={per_friend}&limit={limit}"),
            )
            .await;
            assert_eq!(
                got,
                reference.timeline(user, per_friend, limit),
                "user {user}, per_friend {per_friend}, limit {limit}"
            );
        }
    }
    let got = timeline_json(&app, "/timeline/1").await;
    assert_eq!(
        got,
        reference.timeline(1, 1, 50),
        "defaults: 1 per friend, 50 entries"
    );
    assert_eq!(
        got["entries"].as_array().unwrap().len(),
        50,
        "the celebrity is cut at 50"
    );
}

async fn ties_go_to_the_higher_message_id_and_friends_without_messages_follow_by_id(
    database_url: &str,
) {
    let app = spawn_app(database_url, None).await;
    let owner = app.user_id("owner").await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        let id = app.user_id(name).await;
        app.befriend(owner, id).await;
        ids.push(id);
    }
    let [a, b, c, d, e] = ids[..] else {
        unreachable!()
    };
    let stranger = app.user_id("stranger").await;
    let t = 1_700_000_000_000_000_i64;
    let a_old = app.message_at(a, t - 10).await;
    let b_new = app.message_at(b, t).await;
    let a_new = app.message_at(a, t).await; // same instant as b's, higher id
    let e_old = app.message_at(e, t - 5).await;
    app.message_at(stranger, t + 100).await; // not a friend: never shown
    app.message_at(owner, t + 200).await; // the owner's own: never shown

    let body = timeline_json(&app, &format!("/timeline/{owner}?per_friend=2")).await;
    let shape: Vec<(i64, Vec<i64>)> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["friend"]["id"].as_i64().unwrap(),
                e["messages"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| m["id"].as_i64().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (a, vec![a_new, a_old]),
            (b, vec![b_new]),
            (e, vec![e_old]),
            (c, vec![]),
            (d, vec![]),
        ]
    );
    assert_eq!(body["entries"][0]["friend"]["name"], "a");
    assert_eq!(body["missing_friends"], json!([]));
    assert_eq!(body["degraded"], json!([]));

    let body = timeline_json(&app, &format!("/timeline/{owner}?limit=4")).await;
    let friends: Vec<i64> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(friends, [a, b, e, c], "limit cuts after ranking");
    let body = timeline_json(&app, &format!("/timeline/{owner}?limit=1")).await;
    assert_eq!(
        body["entries"][0]["friend"]["id"], a,
        "the cut keeps the tie's higher message id"
    );
    assert_eq!(body["entries"].as_array().unwrap().len(), 1);
    assert_eq!(
        body["entries"][0]["messages"].as_array().unwrap().len(),
        1,
        "one message per friend by default"
    );
}

async fn unknown_user_is_404_and_a_user_without_friends_has_an_empty_timeline(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let loner = app.user_id("loner").await;
    let body = timeline_json(&app, &format!("/timeline/{loner}")).await;
    assert_eq!(
        body,
        json!({"user_id": loner, "entries": [], "missing_friends": [], "degraded": []})
    );
    let ghost = loner + 1000;
    let problem = assert_problem(
        app.get(&format!("/timeline/{ghost}")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(detail(&problem), format!("no user with id {ghost}"));
}
