use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(
    befriending_is_symmetric_and_unfriending_removes_both_directions,
    befriending_again_is_204_and_stores_nothing_twice,
    self_friendship_is_refused_and_stores_nothing,
    a_user_without_friends_has_an_empty_list,
    pages_follow_next_after_to_the_end,
    concurrent_puts_of_pairs_from_both_sides_all_succeed,
);

async fn befriending_is_symmetric_and_unfriending_removes_both_directions(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    app.befriend(1, 2).await;
    assert_eq!(app.friend_ids(1).await, [2]);
    assert_eq!(
        app.friend_ids(2).await,
        [1],
        "B lists A after A befriends B"
    );

    app.befriend(3, 1).await;
    assert_eq!(app.friend_ids(1).await, [2, 3]);
    assert_eq!(app.friend_ids(3).await, [1]);

    // Removed from the side that did not ask for the friendship.
    let response = app.delete("/users/2/friends/1").await;
    assert_eq!(response.status(), 204);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(app.friend_ids(1).await, [3]);
    assert_eq!(app.friend_ids(2).await, Vec::<i64>::new());

    for (a, b) in [(2, 1), (1, 2)] {
        let path = format!("/users/{a}/friends/{b}");
        let problem = assert_problem(app.delete(&path).await, 404, "not-found").await;
        assert_eq!(
            problem["detail"],
            format!("users {a} and {b} are not friends")
        );
        assert_eq!(problem["instance"], path);
    }
    assert_eq!(
        app.friend_ids(1).await,
        [3],
        "a refused DELETE changes nothing"
    );
}

async fn befriending_again_is_204_and_stores_nothing_twice(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    app.befriend(10, 20).await;
    app.befriend(10, 20).await;
    app.befriend(20, 10).await;
    assert_eq!(app.friend_ids(10).await, [20]);
    assert_eq!(app.friend_ids(20).await, [10]);

    // One friendship, so one DELETE removes it and a second finds nothing.
    assert_eq!(app.delete("/users/10/friends/20").await.status(), 204);
    assert_problem(app.delete("/users/10/friends/20").await, 404, "not-found").await;
    assert_eq!(app.friend_ids(20).await, Vec::<i64>::new());

    // Befriending again after an unfriending works as the first time.
    app.befriend(20, 10).await;
    assert_eq!(app.friend_ids(10).await, [20]);
}

async fn self_friendship_is_refused_and_stores_nothing(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let problem = assert_problem(app.put("/users/7/friends/7").await, 400, "self-friendship").await;
    assert_eq!(problem["title"], "Cannot befriend oneself");
    assert_eq!(
        problem["detail"],
        "user 7 cannot befriend themselves: `id` and `friend_id` must differ"
    );
    assert_eq!(problem["instance"], "/users/7/friends/7");
    assert_eq!(app.friend_ids(7).await, Vec::<i64>::new());

    let problem = assert_problem(app.delete("/users/7/friends/7").await, 404, "not-found").await;
    assert_eq!(problem["detail"], "users 7 and 7 are not friends");
}

async fn a_user_without_friends_has_an_empty_list(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    app.befriend(1, 2).await;
    for user in [3_i64, 9_223_372_036_854_775_807] {
        let body = app.page(&format!("/users/{user}/friends")).await;
        assert_eq!(
            body,
            json!({"user_id": user, "friend_ids": [], "next_after": null})
        );
    }
}

async fn pages_follow_next_after_to_the_end(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    // Friends 2..=11 of user 1, befriended out of order and from both sides.
    for (n, friend) in [7, 2, 11, 5, 3, 10, 4, 8, 6, 9].into_iter().enumerate() {
        if n % 2 == 0 {
            app.befriend(1, friend).await;
        } else {
            app.befriend(friend, 1).await;
        }
    }
    // Someone else's friends never show up in user 1's pages.
    app.befriend(2, 3).await;

    let first = app.page("/users/1/friends?limit=4").await;
    assert_eq!(
        first,
        json!({"user_id": 1, "friend_ids": [2, 3, 4, 5], "next_after": 5})
    );
    let second = app.page("/users/1/friends?limit=4&after=5").await;
    assert_eq!(
        second,
        json!({"user_id": 1, "friend_ids": [6, 7, 8, 9], "next_after": 9})
    );
    let last = app.page("/users/1/friends?after=9&limit=4").await;
    assert_eq!(
        last,
        json!({"user_id": 1, "friend_ids": [10, 11], "next_after": null})
    );

    // A page that ends exactly at the last friend says so: no empty page after it.
    assert_eq!(
        app.pages(1, Some(5)).await,
        [vec![2, 3, 4, 5, 6], vec![7, 8, 9, 10, 11]]
    );
    // `after` is exclusive and need not be a friend's id.
    let body = app.page("/users/1/friends?after=1&limit=2").await;
    assert_eq!(body["friend_ids"], json!([2, 3]));
    let body = app.page("/users/1/friends?after=100").await;
    assert_eq!(body["friend_ids"], json!([]));
    assert_eq!(body["next_after"], json!(null));
    // Default and extreme limits.
    assert_eq!(app.pages(1, None).await, [(2..=11).collect::<Vec<i64>>()]);
    assert_eq!(app.pages(1, Some(1)).await.len(), 10);
    assert_eq!(app.friend_ids(2).await, [1, 3]);
}

async fn concurrent_puts_of_pairs_from_both_sides_all_succeed(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    // Fresh pairs, each befriended from both sides twice, all at once: the writes of one pair
    // must queue behind each other (never deadlock, never fail) and the duplicates are no-ops.
    // Several rounds, because a lock-order bug only shows when two writes interleave.
    for round in 0..5_i64 {
        let pairs: Vec<(i64, i64)> = (1..=150)
            .map(|i| (round * 1000 + i, 100_000 + round * 1000 + i))
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
            assert_eq!(app.friend_ids(a).await, [b]);
            assert_eq!(app.friend_ids(b).await, [a]);
        }
    }
}
