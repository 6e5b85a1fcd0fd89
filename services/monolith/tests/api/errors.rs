use serde_json::json;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn bad_path_parameters_are_400() {
    let app = spawn_app("sqlite::memory:", None).await;
    for path in [
        "/users/abc",
        "/users/0",
        "/users/-1",
        "/users/99999999999999999999",
        "/users/0/friends",
        "/users/abc/messages",
        "/messages/0",
        "/messages/-5",
        "/timeline/99999999999999999999",
        "/timeline/x",
    ] {
        let problem = assert_problem(app.get(path).await, 400, "bad-request").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("path parameter"),
            "{problem}"
        );
        assert_eq!(problem["instance"], path);
    }
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let app = spawn_app("sqlite::memory:", None).await;
    let problem = assert_problem(app.get("/nope").await, 404, "no-route").await;
    assert!(problem["detail"].as_str().unwrap().contains("/nope"));

    let response = app.client.put(app.url("/users")).send().await.unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let problem = assert_problem(response, 405, "method-not-allowed").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("PUT"),
        "{problem}"
    );

    for (method, path, allowed) in [
        (reqwest::Method::POST, "/timeline/1", "GET"),
        (reqwest::Method::PATCH, "/messages/1", "DELETE"),
        (reqwest::Method::POST, "/users/1/friends/2", "PUT"),
        (reqwest::Method::DELETE, "/users/1/messages", "GET"),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains(allowed), "{method} {path}: {allow}");
        assert_problem(response, 405, "method-not-allowed").await;
    }
}

#[tokio::test]
async fn refused_bodies_write_nothing() {
    let app = spawn_app("sqlite::memory:", None).await;
    let before = app.create_user("before").await["id"].as_i64().unwrap();

    let send = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.url("/users"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    assert_problem(
        send("{\"name\": ", "application/json").await.unwrap(),
        400,
        "invalid-json",
    )
    .await;
    assert_problem(
        send("{\"name\": \"x\"}", "text/plain").await.unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;
    assert_problem(
        send("{\"name\": \"x\"}", "").await.unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;

    for (body, fields) in [
        (json!({"name": ""}), vec!["name"]),
        (json!({"name": "   "}), vec!["name"]),
        (json!({"name": "x".repeat(101)}), vec!["name"]),
        (json!({"name": 5}), vec!["name"]),
        (json!({}), vec!["name"]),
        (
            json!({"name": "ok", "avatar_url": "ftp://x.example/a"}),
            vec!["avatar_url"],
        ),
        (
            json!({"name": "", "avatar_url": "not a url"}),
            vec!["name", "avatar_url"],
        ),
        (json!({"name": "ok", "admin": true}), vec!["admin"]),
    ] {
        let problem = assert_problem(
            app.post_json("/users", &body).await,
            422,
            "validation-failed",
        )
        .await;
        for field in fields {
            assert!(problem["errors"][field].is_array(), "{body} → {problem}");
        }
    }

    let huge = json!({"name": "x".repeat(100_000)});
    assert_problem(
        app.post_json("/users", &huge).await,
        413,
        "payload-too-large",
    )
    .await;

    let after = app.create_user("after").await["id"].as_i64().unwrap();
    assert_eq!(after, before + 1, "no refused request inserted a row");
}

#[tokio::test]
async fn request_id_is_generated_or_propagated_and_lands_in_problems() {
    let app = spawn_app("sqlite::memory:", None).await;
    let response = app.get("/healthz").await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let response = app
        .client
        .get(app.url("/users/424242"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let problem = assert_problem(response, 404, "not-found").await;
    assert_eq!(problem["request_id"], "trace-me-123");
}
