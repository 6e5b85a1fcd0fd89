use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

kit::on_both_backends!(
    create_read_update_delete,
    patch_changes_only_given_fields,
    bulk_read_keeps_request_order_and_lists_missing
);
async fn create_read_update_delete(database_url: &str) {
    let app = spawn_app(database_url, None).await;

    let response = app
        .post_json(
            "/users",
            &json!({"name": "Ada Okafor", "avatar_url": "https://a.example/ada.png"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: serde_json::Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(location, format!("/users/{id}"));
    assert_eq!(created["name"], "Ada Okafor");
    assert_eq!(created["avatar_url"], "https://a.example/ada.png");
    let created_at = created["created_at"].as_str().unwrap();
    assert!(
        kit::timestamp::Timestamp::parse_rfc3339(created_at).is_ok(),
        "{created_at}"
    );

    let fetched: serde_json::Value = app.get(&location).await.json().await.unwrap();
    assert_eq!(fetched, created);

    let response = app.patch_json(&location, &json!({"name": "Ada O."})).await;
    assert_eq!(response.status(), 200);
    let updated: serde_json::Value = response.json().await.unwrap();
    assert_eq!(updated["name"], "Ada O.");
    assert_eq!(updated["avatar_url"], created["avatar_url"]);
    assert_eq!(updated["created_at"], created["created_at"]);

    assert_eq!(app.delete(&location).await.status(), 204);
    assert_problem(app.get(&location).await, 404, "not-found").await;
    assert_problem(app.delete(&location).await, 404, "not-found").await;
    assert_problem(
        app.patch_json(&location, &json!({"name": "x"})).await,
        404,
        "not-found",
    )
    .await;
}

async fn patch_changes_only_given_fields(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let user = app
        .post_json(
            "/users",
            &json!({"name": "Bo", "avatar_url": "http://b.example/b.png"}),
        )
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let path = format!("/users/{}", user["id"]);

    let same: serde_json::Value = app
        .patch_json(&path, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(same, user, "an empty patch changes nothing");

    let cleared: serde_json::Value = app
        .patch_json(&path, &json!({"avatar_url": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cleared["avatar_url"], serde_json::Value::Null);
    assert_eq!(cleared["name"], "Bo");

    let set: serde_json::Value = app
        .patch_json(&path, &json!({"avatar_url": "https://b.example/new.png"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(set["avatar_url"], "https://b.example/new.png");

    let body = assert_problem(
        app.patch_json(&path, &json!({"name": null})).await,
        422,
        "validation-failed",
    )
    .await;
    assert!(body["errors"]["name"].is_array(), "{body}");
    let unchanged: serde_json::Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(unchanged, set, "a refused patch writes nothing");
}

async fn bulk_read_keeps_request_order_and_lists_missing(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let a = app.create_user("A").await["id"].as_i64().unwrap();
    let b = app.create_user("B").await["id"].as_i64().unwrap();
    let c = app.create_user("C").await["id"].as_i64().unwrap();
    assert_eq!(app.delete(&format!("/users/{b}")).await.status(), 204);

    let absent = c + 1000;
    let response = app
        .get(&format!("/users?ids={c},{a},{absent},{b},{a}"))
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let names: Vec<&str> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["C", "A"],
        "found users in request order, duplicates once"
    );
    assert_eq!(body["missing"], serde_json::json!([absent, b]));

    // All missing is still a 200.
    let body: serde_json::Value = app
        .get(&format!("/users?ids={b}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({"users": [], "missing": [b]}));
}

#[tokio::test]
async fn bulk_read_accepts_500_ids_and_refuses_501() {
    let app = spawn_app("sqlite::memory:", Some("users=600,friends=0,messages=0")).await;
    let ids: Vec<String> = (1..=500).map(|i| i.to_string()).collect();
    let body: serde_json::Value = app
        .get(&format!("/users?ids={}", ids.join(",")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["users"].as_array().unwrap().len(), 500);
    assert_eq!(body["users"][499]["id"], 500);

    let ids: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let problem = assert_problem(
        app.get(&format!("/users?ids={}", ids.join(","))).await,
        400,
        "invalid-id-list",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("500"),
        "{problem}"
    );
}

#[tokio::test]
async fn bad_id_lists_name_the_token_or_the_limit() {
    let app = spawn_app("sqlite::memory:", None).await;
    for (query, needle) in [
        ("ids=", "1 to 500"),
        ("", "1 to 500"),
        ("ids=1,abc", "`abc`"),
        ("ids=0", "`0`"),
        ("ids=-4", "`-4`"),
        ("ids=1,,2", "item 2"),
        ("ids=9223372036854775808", "`9223372036854775808`"),
        ("ids=1.5", "`1.5`"),
    ] {
        let problem = assert_problem(
            app.get(&format!("/users?{query}")).await,
            400,
            "invalid-id-list",
        )
        .await;
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{query}: {detail}");
    }
}
