use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn bad_path_parameters_are_400() {
    let app = spawn_app("sqlite::memory:", None).await;
    for path in [
        "/messages/abc",
        "/messages/0",
        "/messages/-1",
        "/messages/1.5",
        "/messages/99999999999999999999",
        "/users/abc/messages",
        "/users/0/messages",
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
    let problem = assert_problem(app.delete("/messages/abc").await, 400, "bad-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("`abc`"),
        "{problem}"
    );
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let app = spawn_app("sqlite::memory:", None).await;
    for path in [
        "/nope",
        "/messages/1/extra",
        "/users/1",
        "/users/1/messages/2",
    ] {
        let problem = assert_problem(app.get(path).await, 404, "no-route").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(path),
            "{problem}"
        );
    }

    for (method, path, allowed) in [
        (reqwest::Method::PUT, "/messages", "POST"),
        (reqwest::Method::GET, "/messages", "POST"),
        (reqwest::Method::PATCH, "/messages/1", "DELETE"),
        (reqwest::Method::POST, "/messages/1", "GET"),
        (reqwest::Method::POST, "/messages/latest", "GET"),
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
        let problem = assert_problem(response, 405, "method-not-allowed").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains(method.as_str()),
            "{problem}"
        );
    }
}

#[tokio::test]
async fn unreadable_bodies_are_refused_and_write_nothing() {
    let app = spawn_app("sqlite::memory:", None).await;
    let before = app.create_message(1, "before").await["id"]
        .as_i64()
        .unwrap();

    let send = |body: String, content_type: &'static str| {
        app.client
            .post(app.url("/messages"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let good = r#"{"author_id": 1, "text": "x"}"#.to_owned();
    let problem = assert_problem(
        send(r#"{"author_id": 1, "text": "#.into(), "application/json")
            .await
            .unwrap(),
        400,
        "invalid-json",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    assert_problem(
        send("not json".into(), "application/json").await.unwrap(),
        400,
        "invalid-json",
    )
    .await;
    for content_type in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let problem = assert_problem(
            send(good.clone(), content_type).await.unwrap(),
            415,
            "unsupported-media-type",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{problem}"
        );
    }
    let huge = format!(r#"{{"author_id": 1, "text": "{}"}}"#, "x".repeat(100_000));
    assert_problem(
        send(huge, "application/json").await.unwrap(),
        413,
        "payload-too-large",
    )
    .await;

    let after = app.create_message(1, "after").await["id"].as_i64().unwrap();
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
        .get(app.url("/messages/424242"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let problem = assert_problem(response, 404, "not-found").await;
    assert_eq!(problem["request_id"], "trace-me-123");
    assert_eq!(problem["detail"], "no message with id 424242");
}
