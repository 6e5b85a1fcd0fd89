//! The monolith answers like the services it is being carved into.
//!
//! The monolith and the users, friends, messages and timeline services run with the same
//! demo world; the same requests go to both sides and the answers are compared: status,
//! `content-type`, `location`, `allow`, `etag` and the JSON body, structurally, ignoring
//! only `generated_at` (which the timeline's `ETag` leaves out too). Reads cover a sample of 60 users and every endpoint family; bad input
//! covers every family's refusals; writes (on users that exist) are replayed on both sides
//! and the resulting state compared. Friends and messages follow the users feed, so they
//! refuse unknown users as the monolith does, and once the feed is applied a deleted user's
//! friendships and messages are gone on both sides. Everything runs on SQLite, and again on
//! PostgreSQL when `TEST_POSTGRES_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "equivalence/spec.rs"]
mod spec;
#[path = "equivalence/stack.rs"]
mod stack;

use reqwest::Method;
use serde_json::{Value, json};

use crate::stack::{Answer, Backend, Body, Stack, without_created_at};

/// 300 users with about 8 friends and 3 messages each (so some have none, and timelines
/// show friends without messages); user 1 has about 150 more friends, enough to page and
/// to cut timelines.
const SPEC: &str = "users=300,friends=8,messages=3,seed=7,celebrities=1,celebrity_friends=150";

/// 60 users spread over the world, the celebrity among them.
fn sample() -> Vec<i64> {
    (1..=300).step_by(5).collect()
}

fn ids(values: &[i64]) -> String {
    values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(super::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_both_backends!(
    reads_answer_alike_for_a_sample_of_users,
    bad_input_is_refused_alike,
    writes_on_existing_users_leave_both_sides_alike,
    unknown_and_deleted_users_answer_alike
);

async fn start(backend: Backend) -> Option<Stack> {
    let stack = Stack::start(backend, SPEC).await;
    if stack.is_none() {
        eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped");
    }
    stack
}

/// Follows `cursor` (`next_after` or `next_before`) from `first` until it is `null`,
/// comparing every page; returns how many pages there were.
async fn walk(stack: &Stack, first: &str, param: &str, cursor: &str) -> usize {
    let mut path = first.to_owned();
    for page in 1..=1000 {
        let answer = stack.get(&path).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        match answer.body[cursor].as_i64() {
            Some(next) => path = format!("{first}&{param}={next}"),
            None => return page,
        }
    }
    panic!("{first}: more than 1000 pages");
}

async fn reads_answer_alike_for_a_sample_of_users(backend: Backend) {
    let Some(stack) = start(backend).await else {
        return;
    };
    let sample = sample();
    let mut friend_pages = 0;
    let mut message_pages = 0;
    let mut entries = 0;
    let mut silent = 0;
    for &user in &sample {
        assert_eq!(stack.get(&format!("/users/{user}")).await.status, 200);

        stack.get(&format!("/users/{user}/friends")).await;
        friend_pages += walk(
            &stack,
            &format!("/users/{user}/friends?limit=3"),
            "after",
            "next_after",
        )
        .await;

        stack.get(&format!("/users/{user}/messages")).await;
        message_pages += walk(
            &stack,
            &format!("/users/{user}/messages?limit=2"),
            "before",
            "next_before",
        )
        .await;

        for query in ["", "?per_friend=3&limit=5", "?per_friend=10&limit=500"] {
            let answer = stack.get(&format!("/timeline/{user}{query}")).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            assert_eq!(answer.body["degraded"], json!([]), "{answer:?}");
            // `same` compared the tags too: one content, one tag on both sides.
            assert!(answer.etag.is_some(), "{answer:?}");
            let shown = answer.body["entries"].as_array().unwrap();
            entries += shown.len();
            silent += shown.iter().filter(|e| e["messages"] == json!([])).count();
        }
    }
    assert!(friend_pages > 3 * sample.len(), "paging was exercised");
    assert!(message_pages > sample.len(), "paging was exercised");
    assert!(entries > 10 * sample.len(), "timelines have entries");
    assert!(silent > 0, "friends without messages are ordered too");

    let mut asked = sample.clone();
    asked.extend([9999, 5, 301, 5]);
    let answer = stack.get(&format!("/users?ids={}", ids(&asked))).await;
    assert_eq!(answer.body["missing"], json!([9999, 301]));
    for per_author in [1, 3, 10] {
        let answer = stack
            .get(&format!(
                "/messages/latest?authors={}&per_author={per_author}",
                ids(&asked)
            ))
            .await;
        assert_eq!(answer.body["latest"].as_array().unwrap().len(), 63);
    }
    stack.get("/messages/latest?authors=1").await;
    // The caps: 500 ids, 500 authors, each answered in full.
    let most = ids(&(1..=500).collect::<Vec<_>>());
    let answer = stack.get(&format!("/users?ids={most}")).await;
    assert_eq!(answer.body["users"].as_array().unwrap().len(), 300);
    let answer = stack
        .get(&format!("/messages/latest?authors={most}&per_author=10"))
        .await;
    assert_eq!(answer.body["latest"].as_array().unwrap().len(), 500);
    // A cursor may name another author's message: the page starts below its position.
    for &user in sample.iter().step_by(3) {
        for before in [100, 450, 899] {
            stack
                .get(&format!("/users/{user}/messages?limit=3&before={before}"))
                .await;
        }
    }
    // Paging edges: `after` past every friend, unknown parameters ignored.
    stack.get("/users/5/friends?limit=2&after=150").await;
    stack
        .get("/users/1/friends?limit=5000&after=1&cursor=9")
        .await;
    for path in ["/healthz", "/readyz"] {
        assert_eq!(stack.get(path).await.status, 200, "{path}");
    }
    for id in (1..=900).step_by(13).chain([901, 99_999]) {
        stack.get(&format!("/messages/{id}")).await;
    }
    for path in [
        "/users/9999",
        "/users/9999/friends",
        "/users/9999/messages",
        "/timeline/9999",
    ] {
        stack.get(path).await;
    }
    stack.stop().await;
}

async fn bad_input_is_refused_alike(backend: Backend) {
    let Some(stack) = start(backend).await else {
        return;
    };
    let too_many = ids(&(1..=501).collect::<Vec<_>>());
    let get = Method::GET;
    let requests: Vec<(Method, String, Body)> = vec![
        // users
        (get.clone(), "/users/0".into(), Body::None),
        (get.clone(), "/users/abc".into(), Body::None),
        (
            get.clone(),
            "/users/99999999999999999999".into(),
            Body::None,
        ),
        (get.clone(), "/users".into(), Body::None),
        (get.clone(), "/users?ids=".into(), Body::None),
        (get.clone(), "/users?ids=1,abc".into(), Body::None),
        (get.clone(), format!("/users?ids={too_many}"), Body::None),
        (Method::POST, "/users".into(), Body::Json(json!({}))),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": " "})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": "x", "avatar_url": "ftp://a.example/x"})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": "x", "admin": true})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Raw("application/json", "{\"name\": "),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Raw("text/plain", "{\"name\": \"x\"}"),
        ),
        (
            Method::PATCH,
            "/users/1".into(),
            Body::Json(json!({"name": null})),
        ),
        (
            Method::PATCH,
            "/users/9999".into(),
            Body::Json(json!({"name": "x"})),
        ),
        (Method::DELETE, "/users/9999".into(), Body::None),
        (get.clone(), "/users/-1".into(), Body::None),
        (get.clone(), "/users?ids=0".into(), Body::None),
        (get.clone(), "/users?ids=-4".into(), Body::None),
        (get.clone(), "/users?ids=1,,2".into(), Body::None),
        (
            get.clone(),
            "/users?ids=9223372036854775808".into(),
            Body::None,
        ),
        (get.clone(), "/users?ids=1.5".into(), Body::None),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": ""})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": "x".repeat(101)})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": 5})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": "", "avatar_url": "not a url"})),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Raw("", "{\"name\": \"x\"}"),
        ),
        (
            Method::POST,
            "/users".into(),
            Body::Json(json!({"name": "x".repeat(100_000)})),
        ),
        (Method::PUT, "/users".into(), Body::None),
        (get.clone(), "/users/1/nope".into(), Body::None),
        (get.clone(), "/nope".into(), Body::None),
        // friends
        (get.clone(), "/users/0/friends".into(), Body::None),
        (get.clone(), "/users/1/friends?limit=0".into(), Body::None),
        (
            get.clone(),
            "/users/1/friends?limit=5001".into(),
            Body::None,
        ),
        (
            get.clone(),
            "/users/1/friends?limit=abc&after=0".into(),
            Body::None,
        ),
        (
            get.clone(),
            "/users/1/friends?limit=1&limit=2".into(),
            Body::None,
        ),
        (get.clone(), "/users/1/friends?limit=".into(), Body::None),
        (get.clone(), "/users/1/friends?after=0".into(), Body::None),
        (get.clone(), "/users/1/friends?after=-3".into(), Body::None),
        (
            get.clone(),
            "/users/1/friends?after=9223372036854775808".into(),
            Body::None,
        ),
        (
            get.clone(),
            "/users/1/friends?limit=0&after=x".into(),
            Body::None,
        ),
        (Method::PUT, "/users/1/friends/1".into(), Body::None),
        (Method::PUT, "/users/0/friends/1".into(), Body::None),
        (Method::PUT, "/users/1/friends/x".into(), Body::None),
        (
            Method::PUT,
            "/users/1/friends/2".into(),
            Body::Json(json!("x".repeat(100_000))),
        ),
        (Method::DELETE, "/users/1/friends/1".into(), Body::None),
        (Method::DELETE, "/users/0/friends/1".into(), Body::None),
        (Method::DELETE, "/users/2/friends/3".into(), Body::None),
        (Method::POST, "/users/1/friends/2".into(), Body::None),
        // messages
        (Method::POST, "/messages".into(), Body::Json(json!({}))),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 0, "text": ""})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": "x", "text": "hi"})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1, "text": "x".repeat(1001)})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1, "text": "a\0b"})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1, "text": "hi", "pinned": true})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Raw("application/json", "["),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1, "text": " \n "})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1, "text": 5})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": 1})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"text": "hi"})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Json(json!({"author_id": -1, "text": "hi"})),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Raw("application/json", "{\"text\": "),
        ),
        (
            Method::POST,
            "/messages".into(),
            Body::Raw("text/plain", "{}"),
        ),
        (get.clone(), "/messages/-5".into(), Body::None),
        (get.clone(), "/messages/abc".into(), Body::None),
        (get.clone(), "/messages/0".into(), Body::None),
        (get.clone(), "/messages/99999".into(), Body::None),
        (Method::DELETE, "/messages/99999".into(), Body::None),
        (Method::PATCH, "/messages/1".into(), Body::None),
        (get.clone(), "/messages/latest".into(), Body::None),
        (
            get.clone(),
            "/messages/latest?authors=1,abc".into(),
            Body::None,
        ),
        (
            get.clone(),
            format!("/messages/latest?authors={too_many}"),
            Body::None,
        ),
        (
            get.clone(),
            "/messages/latest?authors=1&per_author=0".into(),
            Body::None,
        ),
        (
            get.clone(),
            "/messages/latest?authors=1&per_author=x".into(),
            Body::None,
        ),
        (get.clone(), "/users/1/messages?limit=0".into(), Body::None),
        (
            get.clone(),
            "/users/1/messages?limit=501".into(),
            Body::None,
        ),
        (get.clone(), "/users/1/messages?before=0".into(), Body::None),
        (get.clone(), "/users/x/messages".into(), Body::None),
        (get.clone(), "/users/0/messages".into(), Body::None),
        (get.clone(), "/users/1/messages?limit=x".into(), Body::None),
        (get.clone(), "/users/1/messages?before=x".into(), Body::None),
        (get.clone(), "/messages/latest?authors=".into(), Body::None),
        (get.clone(), "/messages/latest?authors=0".into(), Body::None),
        (Method::DELETE, "/users/1/messages".into(), Body::None),
        // timeline
        (get.clone(), "/timeline/0".into(), Body::None),
        (get.clone(), "/timeline/abc".into(), Body::None),
        (get.clone(), "/timeline/9999".into(), Body::None),
        (get.clone(), "/timeline/1?per_friend=0".into(), Body::None),
        (get.clone(), "/timeline/1?per_friend=11".into(), Body::None),
        (get.clone(), "/timeline/1?limit=501".into(), Body::None),
        (get.clone(), "/timeline/1?limit=x".into(), Body::None),
        (Method::POST, "/timeline/1".into(), Body::None),
        (get.clone(), "/timeline/-1".into(), Body::None),
        (
            get.clone(),
            "/timeline/99999999999999999999".into(),
            Body::None,
        ),
        (get.clone(), "/timeline/1?per_friend=".into(), Body::None),
        (get.clone(), "/timeline/1?limit=0".into(), Body::None),
        (get.clone(), "/timeline/1?limit=-1".into(), Body::None),
        // The first bad parameter is the one named, and parameters are checked before the
        // user is looked up.
        (
            get.clone(),
            "/timeline/1?limit=abc&per_friend=0".into(),
            Body::None,
        ),
        (get.clone(), "/timeline/999999?limit=0".into(), Body::None),
    ];
    for (method, path, body) in &requests {
        let (monolith, services) = stack.both(method, path, body).await;
        let problem = |a: &Answer| (a.status, a.body["type"].clone());
        assert!(monolith.status >= 400, "{method} {path}: {monolith:?}");
        assert_eq!(
            problem(&monolith),
            problem(&services),
            "{method} {path}: status and problem type"
        );
        assert_eq!(monolith, services, "{method} {path}: the whole answer");
    }
    // Every bounded count, out of range or not a number, is refused in the one wording.
    let per_friend = "`per_friend` must be an integer from 1 to 10 (default 1); got";
    let timeline_limit = "`limit` must be an integer from 1 to 500 (default 50); got";
    for (path, detail) in [
        ("/timeline/1?per_friend=0", format!("{per_friend} `0`")),
        ("/timeline/1?per_friend=11", format!("{per_friend} `11`")),
        ("/timeline/1?per_friend=x", format!("{per_friend} `x`")),
        ("/timeline/1?limit=abc", format!("{timeline_limit} `abc`")),
        ("/timeline/1?limit=", format!("{timeline_limit} ``")),
        (
            "/timeline/1?limit=99999999999",
            format!("{timeline_limit} `99999999999`"),
        ),
        (
            "/users/1/messages?limit=abc",
            "`limit` must be an integer from 1 to 500 (default 50); got `abc`".into(),
        ),
        (
            "/messages/latest?authors=1&per_author=11",
            "`per_author` must be an integer from 1 to 10 (default 1); got `11`".into(),
        ),
        (
            "/users/1/friends?limit=-1",
            "`limit` must be an integer from 1 to 5000 (default 1000); got `-1`".into(),
        ),
    ] {
        let (monolith, services) = stack.both(&get, path, &Body::None).await;
        assert_eq!(monolith, services, "{path}: the whole answer");
        assert_eq!(monolith.status, 400, "{path}: {monolith:?}");
        assert_eq!(
            monolith.content_type.as_deref(),
            Some("application/problem+json"),
            "{path}"
        );
        assert_eq!(monolith.body["type"], "/problems/bad-request", "{path}");
        assert_eq!(monolith.body["detail"], detail, "{path}");
    }
    // Nothing refused was written.
    stack.get("/users?ids=301").await;
    stack.get("/users/1").await;
    stack.get("/users/1/friends?limit=5000").await;
    stack.get("/users/1/messages?limit=500").await;
    stack.stop().await;
}

/// Sends a write to both sides and asserts they answer alike, instants aside.
async fn write(stack: &Stack, method: Method, path: &str, body: Body) -> Answer {
    let (monolith, services) = stack.both(&method, path, &body).await;
    // Each side stamps its own instants, which are content: their tags differ too.
    let monolith = Answer {
        body: without_created_at(monolith.body),
        etag: None,
        ..monolith
    };
    let services = Answer {
        body: without_created_at(services.body),
        etag: None,
        ..services
    };
    assert_eq!(monolith, services, "{method} {path} {body:?}");
    monolith
}

/// Reads `path` from both sides and asserts they answer alike, instants aside.
async fn read(stack: &Stack, path: &str) -> Value {
    write(stack, Method::GET, path, Body::None).await.body
}

async fn writes_on_existing_users_leave_both_sides_alike(backend: Backend) {
    let Some(stack) = start(backend).await else {
        return;
    };
    let friends_of = |body: Value| -> Vec<i64> {
        body["friend_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect()
    };

    let created = write(
        &stack,
        Method::POST,
        "/users",
        Body::Json(json!({"name": "Newcomer", "avatar_url": "https://a.example/n.png"})),
    )
    .await;
    assert_eq!((created.status, &created.body["id"]), (201, &json!(301)));
    write(
        &stack,
        Method::PATCH,
        "/users/301",
        Body::Json(json!({"avatar_url": null})),
    )
    .await;
    write(
        &stack,
        Method::PATCH,
        "/users/301",
        Body::Json(json!({"avatar_url": "https://a.example/new.png", "name": "Newer"})),
    )
    .await;
    write(
        &stack,
        Method::PATCH,
        "/users/5",
        Body::Json(json!({"name": "Renamed"})),
    )
    .await;
    // A demo user's instants are the same on both sides: a patch keeps them, and an empty
    // patch changes nothing.
    let renamed = stack.get("/users/5").await;
    assert_eq!(renamed.body["name"], "Renamed");
    let unchanged = stack
        .same(&Method::PATCH, "/users/5", &Body::Json(json!({})))
        .await;
    assert_eq!(unchanged.body, renamed.body);

    let old_friend = friends_of(read(&stack, "/users/5/friends").await)[0];
    for (method, path) in [
        (Method::PUT, "/users/301/friends/5".to_owned()),
        (Method::PUT, "/users/301/friends/5".to_owned()),
        (Method::PUT, "/users/5/friends/301".to_owned()),
        (Method::PUT, "/users/1/friends/301".to_owned()),
        (Method::DELETE, format!("/users/{old_friend}/friends/5")),
        (Method::DELETE, format!("/users/5/friends/{old_friend}")),
    ] {
        write(&stack, method, &path, Body::None).await;
    }
    // The path decides, not the body: a body is read and ignored.
    write(
        &stack,
        Method::PUT,
        "/users/10/friends/301",
        Body::Json(json!({"friend_id": 7})),
    )
    .await;

    let longest = "ü".repeat(1000);
    for (author, text) in [
        (301, "hello"),
        (301, longest.as_str()),
        (301, "again"),
        (5, "renamed and posting"),
    ] {
        let answer = write(
            &stack,
            Method::POST,
            "/messages",
            Body::Json(json!({"author_id": author, "text": text})),
        )
        .await;
        assert_eq!(answer.status, 201);
        read(&stack, &format!("/messages/{}", answer.body["id"])).await;
    }
    let doomed = read(&stack, "/users/10/messages?limit=1").await["messages"][0]["id"].clone();
    write(
        &stack,
        Method::DELETE,
        &format!("/messages/{doomed}"),
        Body::None,
    )
    .await;
    write(
        &stack,
        Method::DELETE,
        &format!("/messages/{doomed}"),
        Body::None,
    )
    .await;
    // A cursor whose message is gone pages below its id.
    read(
        &stack,
        &format!("/users/10/messages?limit=2&before={doomed}"),
    )
    .await;

    let mut touched = vec![1, 5, 10, 301, old_friend];
    touched.extend(friends_of(read(&stack, "/users/10/friends").await));
    touched.extend(friends_of(read(&stack, "/users/5/friends").await));
    for user in touched {
        read(&stack, &format!("/users/{user}")).await;
        read(&stack, &format!("/users/{user}/friends")).await;
        read(&stack, &format!("/users/{user}/messages")).await;
        read(&stack, &format!("/timeline/{user}?per_friend=3")).await;
    }
    let latest = read(&stack, "/messages/latest?authors=301,5,10&per_author=10").await;
    assert_eq!(latest["latest"][0]["messages"][0]["text"], "again");
    let timeline = read(&stack, "/timeline/301?per_friend=2").await;
    assert_eq!(timeline["entries"][0]["friend"]["name"], "Renamed");

    // Deleting a user answers alike, and so does everything about the user's profile.
    write(&stack, Method::DELETE, "/users/301", Body::None).await;
    write(&stack, Method::DELETE, "/users/301", Body::None).await;
    read(&stack, "/users/301").await;
    read(&stack, "/users?ids=301,5").await;
    stack.stop().await;
}

async fn unknown_and_deleted_users_answer_alike(backend: Backend) {
    let Some(stack) = start(backend).await else {
        return;
    };
    // A user that does not exist is refused alike: the services know users from the feed.
    write(&stack, Method::PUT, "/users/1/friends/9999", Body::None).await;
    write(&stack, Method::PUT, "/users/9998/friends/9999", Body::None).await;
    write(
        &stack,
        Method::POST,
        "/messages",
        Body::Json(json!({"author_id": 9999, "text": "from nobody"})),
    )
    .await;

    // Deleting users deletes their friendships and messages: in the monolith at once, in
    // the services once they applied the users feed.
    let friends: Vec<i64> = read(&stack, "/users/7/friends").await["friend_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let friend = friends[0];
    let before = read(&stack, &format!("/timeline/{friend}?limit=500")).await;
    assert!(
        before["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["friend"]["id"] == 7)
    );
    for user in [7, 1] {
        write(
            &stack,
            Method::DELETE,
            &format!("/users/{user}"),
            Body::None,
        )
        .await;
        kit::test_util::eventually(
            &format!("user {user}'s rows deleted by the services"),
            std::time::Duration::from_secs(10),
            || async {
                let (_, friends) = stack
                    .both(&Method::GET, &format!("/users/{user}/friends"), &Body::None)
                    .await;
                let (_, messages) = stack
                    .both(
                        &Method::GET,
                        &format!("/users/{user}/messages"),
                        &Body::None,
                    )
                    .await;
                (friends.body["friend_ids"] == json!([]) && messages.body["messages"] == json!([]))
                    .then_some(())
            },
        )
        .await;
    }
    for path in [
        "/users/7/friends".to_owned(),
        "/users/7/messages".to_owned(),
        "/users/1/friends?limit=5000".to_owned(),
        format!("/users/{friend}/friends"),
        format!("/timeline/{friend}?limit=500"),
        format!("/timeline/{friend}?per_friend=3"),
        "/messages/latest?authors=7,1,5&per_author=10".to_owned(),
    ] {
        read(&stack, &path).await;
    }
    for user in friends.iter().take(10) {
        read(&stack, &format!("/users/{user}/friends")).await;
        read(&stack, &format!("/timeline/{user}?per_friend=2")).await;
    }
    // A deleted user is unknown from then on, on both sides.
    write(
        &stack,
        Method::PUT,
        &format!("/users/{friend}/friends/7"),
        Body::None,
    )
    .await;
    write(
        &stack,
        Method::POST,
        "/messages",
        Body::Json(json!({"author_id": 7, "text": "after deletion"})),
    )
    .await;
    stack.stop().await;
}
