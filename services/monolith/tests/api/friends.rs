use serde_json::json;

use crate::helpers::{assert_problem, detail, spawn_app};

kit::on_both_backends!(
    friendship_is_symmetric_idempotent_and_removable,
    befriending_a_user_that_does_not_exist_is_404_and_writes_nothing,
    friend_lists_page_with_after_and_limit,
    concurrent_puts_of_pairs_from_both_sides_all_succeed
);

async fn friendship_is_symmetric_idempotent_and_removable(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let a = app.user_id("A").await;
    let b = app.user_id("B").await;
    let c = app.user_id("C").await;

    app.befriend(a, b).await;
    app.befriend(a, b).await;
    app.befriend(b, a).await;
    app.befriend(c, a).await;
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await,
        json!({"user_id": a, "friend_ids": [b, c], "next_after": null}),
        "ascending, each friend once however often added"
    );
    assert_eq!(
        app.get_json(&format!("/users/{b}/friends")).await["friend_ids"],
        json!([a]),
        "symmetric"
    );

    let response = app.delete(&format!("/users/{b}/friends/{a}")).await;
    assert_eq!(response.status(), 204, "removable from either side");
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await["friend_ids"],
        json!([c])
    );
    assert_eq!(
        app.get_json(&format!("/users/{b}/friends")).await["friend_ids"],
        json!([])
    );

    let problem = assert_problem(
        app.delete(&format!("/users/{b}/friends/{a}")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        detail(&problem),
        format!("users {b} and {a} are not friends")
    );

    let problem = assert_problem(
        app.put(&format!("/users/{a}/friends/{a}")).await,
        400,
        "self-friendship",
    )
    .await;
    assert_eq!(problem["title"], "Cannot befriend oneself");
    assert_eq!(
        detail(&problem),
        format!("user {a} cannot befriend themselves: `id` and `friend_id` must differ")
    );
    let problem = assert_problem(
        app.delete(&format!("/users/{a}/friends/{a}")).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        detail(&problem),
        format!("users {a} and {a} are not friends"),
        "nobody is their own friend"
    );
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await["friend_ids"],
        json!([c]),
        "a refused friendship writes nothing"
    );
}

async fn befriending_a_user_that_does_not_exist_is_404_and_writes_nothing(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let a = app.user_id("A").await;
    let ghost = a + 1000;
    for path in [
        format!("/users/{a}/friends/{ghost}"),
        format!("/users/{ghost}/friends/{a}"),
    ] {
        let problem = assert_problem(app.put(&path).await, 404, "not-found").await;
        assert_eq!(
            detail(&problem),
            format!("no user with id {ghost}"),
            "{path}"
        );
    }
    let problem = assert_problem(
        app.put(&format!("/users/{ghost}/friends/{}", ghost + 1))
            .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        detail(&problem),
        format!("no user with id {ghost}"),
        "the first missing user is named"
    );
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await["friend_ids"],
        json!([])
    );
    assert_eq!(
        app.get_json(&format!("/users/{ghost}/friends")).await,
        json!({"user_id": ghost, "friend_ids": [], "next_after": null}),
        "an unknown user has an empty list, not a 404"
    );
}

async fn friend_lists_page_with_after_and_limit(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let owner = app.user_id("owner").await;
    let mut friends = Vec::new();
    for i in 0..7 {
        let id = app.user_id(&format!("friend {i}")).await;
        app.befriend(owner, id).await;
        friends.push(id);
    }

    let mut seen: Vec<i64> = Vec::new();
    let mut after: Option<i64> = None;
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 10, "paging terminates");
        let path = match after {
            Some(after) => format!("/users/{owner}/friends?limit=3&after={after}"),
            None => format!("/users/{owner}/friends?limit=3"),
        };
        let page = app.get_json(&path).await;
        let ids: Vec<i64> = page["friend_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert!(ids.len() <= 3, "{page}");
        seen.extend(&ids);
        match page["next_after"].as_i64() {
            Some(next) => {
                assert_eq!(Some(&next), ids.last(), "the cursor is the page's last id");
                after = Some(next);
            }
            None => break,
        }
    }
    assert_eq!(seen, friends, "every friend once, ascending");
    assert_eq!(pages, 3);

    // A page that ends exactly at the last friend says so.
    let page = app
        .get_json(&format!("/users/{owner}/friends?limit=7"))
        .await;
    assert_eq!(page["next_after"], json!(null));
    let page = app
        .get_json(&format!("/users/{owner}/friends?limit=6"))
        .await;
    assert_eq!(page["next_after"], json!(friends[5]));
    // `after` need not be a friend's id.
    let page = app
        .get_json(&format!("/users/{owner}/friends?after={}", friends[6] + 1))
        .await;
    assert_eq!(page["friend_ids"], json!([]));
}

async fn concurrent_puts_of_pairs_from_both_sides_all_succeed(database_url: &str) {
    let app = spawn_app(database_url, Some("users=600,friends=0,messages=0")).await;
    // Fresh pairs, each befriended from both sides twice, all at once: the writes of one pair
    // queue behind each other (never deadlock, never fail) and the duplicates are no-ops.
    // Several rounds, because a lock-order bug only shows when two writes interleave.
    for round in 0..4_i64 {
        let pairs: Vec<(i64, i64)> = (1..=75)
            .map(|i| (round * 150 + i, round * 150 + 75 + i))
            .collect();
        let puts: Vec<_> = pairs
            .iter()
            .flat_map(|&(a, b)| [(a, b), (b, a), (a, b), (b, a)])
            .map(|(a, b)| {
                let request = app.client.put(app.url(&format!("/users/{a}/friends/{b}")));
                tokio::spawn(async move { request.send().await.unwrap().status() })
            })
            .collect();
        for put in puts {
            assert_eq!(put.await.unwrap(), 204, "round {round}");
        }
        for &(a, b) in pairs.iter().step_by(15) {
            let list = app.get_json(&format!("/users/{a}/friends")).await;
            assert_eq!(list["friend_ids"], json!([b]));
            let list = app.get_json(&format!("/users/{b}/friends")).await;
            assert_eq!(list["friend_ids"], json!([a]));
        }
    }
}

#[tokio::test]
async fn bad_paging_parameters_are_400_naming_the_parameter_and_its_range() {
    let app = spawn_app("sqlite::memory:", None).await;
    let owner = app.user_id("owner").await;
    const LIMIT: &str = "`limit` must be an integer from 1 to 5000 (default 1000)";
    const AFTER: &str = "`after` must be a user id from 1 to 9223372036854775807";
    for (query, expected) in [
        ("limit=0", vec![LIMIT, "got `0`"]),
        ("limit=5001", vec![LIMIT, "got `5001`"]),
        ("limit=abc", vec![LIMIT, "got `abc`"]),
        ("limit=-1", vec![LIMIT, "got `-1`"]),
        ("limit=", vec![LIMIT, "got ``"]),
        ("after=0", vec![AFTER, "got `0`"]),
        ("after=-3", vec![AFTER, "got `-3`"]),
        (
            "after=9223372036854775808",
            vec![AFTER, "got `9223372036854775808`"],
        ),
        ("limit=0&after=x", vec![LIMIT, AFTER]),
        ("limit=1&limit=2", vec!["duplicate field `limit`"]),
    ] {
        let path = format!("/users/{owner}/friends?{query}");
        let problem = assert_problem(app.get(&path).await, 400, "bad-request").await;
        for needle in expected {
            assert!(detail(&problem).contains(needle), "{query}: {problem}");
        }
    }
    let page = app
        .get_json(&format!(
            "/users/{owner}/friends?limit=5000&after=1&cursor=9"
        ))
        .await;
    assert_eq!(
        page["friend_ids"],
        json!([]),
        "unknown parameters are ignored"
    );
}

#[tokio::test]
async fn a_put_body_is_ignored_but_one_over_the_limit_is_refused() {
    let app = spawn_app("sqlite::memory:", None).await;
    let a = app.user_id("A").await;
    let b = app.user_id("B").await;
    let c = app.user_id("C").await;
    let response = app
        .client
        .put(app.url(&format!("/users/{a}/friends/{b}")))
        .json(&json!({"friend_id": c}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let response = app
        .client
        .put(app.url(&format!("/users/{a}/friends/{c}")))
        .body(vec![b'x'; 100_000])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await["friend_ids"],
        json!([b]),
        "the path decides, not the body; a refused PUT stores nothing"
    );
}

#[tokio::test]
async fn bad_ids_in_friend_paths_are_400() {
    let app = spawn_app("sqlite::memory:", None).await;
    for (path, param, token) in [
        ("/users/0/friends/1", "id", "0"),
        ("/users/1/friends/0", "friend_id", "0"),
        ("/users/x/friends/1", "id", "x"),
        ("/users/1/friends/-2", "friend_id", "-2"),
        ("/users/1/friends/1.5", "friend_id", "1.5"),
        (
            "/users/1/friends/99999999999999999999",
            "friend_id",
            "99999999999999999999",
        ),
    ] {
        for response in [app.put(path).await, app.delete(path).await] {
            let problem = assert_problem(response, 400, "bad-request").await;
            for needle in [
                "path parameter",
                &format!("`{param}`"),
                &format!("`{token}`"),
            ] {
                assert!(detail(&problem).contains(needle), "{path}: {problem}");
            }
        }
    }
    assert_problem(app.get("/users/0/friends").await, 400, "bad-request").await;
}
