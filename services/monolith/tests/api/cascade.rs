use serde_json::json;

use crate::helpers::{TestApp, assert_problem, spawn_app};

kit::on_both_backends!(deleting_a_user_deletes_their_friendships_and_messages);

async fn count(app: &TestApp, sql: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.store.db().pool())
        .await
        .unwrap();
    n
}

async fn deleting_a_user_deletes_their_friendships_and_messages(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let a = app.user_id("A").await;
    let b = app.user_id("B").await;
    let c = app.user_id("C").await;
    app.befriend(a, b).await;
    app.befriend(c, a).await;
    app.befriend(b, c).await;
    let a1 = app.post_message(a, "a one").await["id"].as_i64().unwrap();
    let a2 = app.post_message(a, "a two").await["id"].as_i64().unwrap();
    let b1 = app.post_message(b, "b one").await;

    assert_eq!(app.delete(&format!("/users/{a}")).await.status(), 204);

    assert_eq!(
        app.get_json(&format!("/users/{b}/friends")).await["friend_ids"],
        json!([c])
    );
    assert_eq!(
        app.get_json(&format!("/users/{c}/friends")).await["friend_ids"],
        json!([b])
    );
    assert_eq!(
        app.get_json(&format!("/users/{a}/friends")).await["friend_ids"],
        json!([])
    );
    for id in [a1, a2] {
        assert_problem(app.get(&format!("/messages/{id}")).await, 404, "not-found").await;
    }
    assert_eq!(
        app.get_json(&format!("/users/{a}/messages")).await["messages"],
        json!([])
    );
    assert_eq!(
        app.get_json(&format!("/messages/{}", b1["id"])).await,
        b1,
        "other users' messages stay"
    );
    let timeline = app.get_json(&format!("/timeline/{b}")).await;
    assert_eq!(timeline["entries"].as_array().unwrap().len(), 1);
    assert_eq!(timeline["entries"][0]["friend"]["id"], c);
    assert_eq!(timeline["missing_friends"], json!([]));

    let rows = format!(
        "SELECT (SELECT COUNT(*) FROM friendships WHERE user_id = {a} OR friend_id = {a}) \
         + (SELECT COUNT(*) FROM messages WHERE author_id = {a})"
    );
    assert_eq!(
        count(&app, &rows).await,
        0,
        "no row of the deleted user is left"
    );
    assert_problem(app.delete(&format!("/users/{a}")).await, 404, "not-found").await;
}

/// Friendships, messages and deletions racing each other: every answer is a success or a
/// 404/422 about a user that is gone, never a 500, and no row is left pointing at nobody.
async fn racing_writes_leave_no_orphans(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let mut users = Vec::new();
    for i in 0..20 {
        users.push(app.user_id(&format!("user {i}")).await);
    }
    let tasks = (0..90).map(|i| {
        let client = app.client.clone();
        let base = app.url("");
        let (x, y) = (users[i % 20], users[(i * 7 + 3) % 20]);
        tokio::spawn(async move {
            let (response, allowed): (reqwest::Response, &[u16]) = match i % 3 {
                0 if i % 9 == 0 => (
                    client
                        .delete(format!("{base}/users/{x}"))
                        .send()
                        .await
                        .unwrap(),
                    &[204, 404],
                ),
                0 | 1 if x != y => (
                    client
                        .put(format!("{base}/users/{x}/friends/{y}"))
                        .send()
                        .await
                        .unwrap(),
                    &[204, 404],
                ),
                _ => (
                    client
                        .post(format!("{base}/messages"))
                        .json(&json!({"author_id": y, "text": format!("race {i}")}))
                        .send()
                        .await
                        .unwrap(),
                    &[201, 422],
                ),
            };
            let status = response.status().as_u16();
            assert!(allowed.contains(&status), "request {i}: {status}");
        })
    });
    for task in tasks.collect::<Vec<_>>() {
        task.await.unwrap();
    }
    let orphans = "SELECT \
        (SELECT COUNT(*) FROM friendships f WHERE NOT EXISTS \
            (SELECT 1 FROM users u WHERE u.id = f.user_id) \
            OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = f.friend_id)) \
      + (SELECT COUNT(*) FROM messages m WHERE NOT EXISTS \
            (SELECT 1 FROM users u WHERE u.id = m.author_id))";
    assert_eq!(count(&app, orphans).await, 0);
    let one_sided = "SELECT COUNT(*) FROM friendships f WHERE NOT EXISTS \
        (SELECT 1 FROM friendships g WHERE g.user_id = f.friend_id AND g.friend_id = f.user_id)";
    assert_eq!(
        count(&app, one_sided).await,
        0,
        "friendships stay symmetric"
    );
    assert!(count(&app, "SELECT COUNT(*) FROM friendships").await > 0);
}

#[tokio::test]
async fn racing_writes_leave_no_orphans_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("monolith-race-{}", std::process::id()));
    let url = format!("sqlite://{}/monolith.db", dir.display());
    racing_writes_leave_no_orphans(&url).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn racing_writes_leave_no_orphans_on_postgres() {
    match kit::test_util::postgres().await {
        Some(db) => racing_writes_leave_no_orphans(&db.url).await,
        None => eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped"),
    }
}
