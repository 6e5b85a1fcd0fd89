use serde_json::json;

use crate::helpers::{assert_problem, detail, spawn_app};

kit::on_both_backends!(
    befriending_a_user_that_does_not_exist_is_404_and_writes_nothing,
    concurrent_puts_of_pairs_from_both_sides_all_succeed,
);

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
