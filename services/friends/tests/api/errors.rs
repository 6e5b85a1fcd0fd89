use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn bad_path_ids_are_400_naming_the_parameter_and_store_nothing() {
    use reqwest::Method;
    let app = spawn_app("sqlite::memory:", None).await;
    let pair = [Method::PUT, Method::DELETE];
    for token in ["abc", "0", "-1", "1.5", "99999999999999999999"] {
        for (methods, path, param) in [
            (&pair[..], format!("/users/{token}/friends/2"), "id"),
            (&pair[..], format!("/users/1/friends/{token}"), "friend_id"),
            (&[Method::GET][..], format!("/users/{token}/friends"), "id"),
        ] {
            for method in methods {
                let request = app.client.request(method.clone(), app.url(&path));
                let problem =
                    assert_problem(request.send().await.unwrap(), 400, "bad-request").await;
                let detail = problem["detail"].as_str().unwrap();
                assert!(detail.contains("path parameter"), "{path}: {detail}");
                assert!(detail.contains(&format!("`{param}`")), "{path}: {detail}");
                assert!(detail.contains(&format!("`{token}`")), "{path}: {detail}");
                assert_eq!(problem["instance"], path.as_str());
            }
        }
    }
    assert_eq!(app.friend_ids(1).await, Vec::<i64>::new());
    assert_eq!(app.friend_ids(2).await, Vec::<i64>::new());
}

#[tokio::test]
async fn bad_paging_parameters_are_400_naming_the_parameter_and_its_range() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.befriend(1, 2).await;
    const LIMIT: &str = "`limit` must be an integer from 1 to 5000 (default 1000)";
    const AFTER: &str = "`after` must be a user id from 1 to 9223372036854775807";
    for (query, expected) in [
        ("limit=0", vec![LIMIT, "got `0`"]),
        ("limit=5001", vec![LIMIT, "got `5001`"]),
        ("limit=abc", vec![LIMIT, "got `abc`"]),
        ("limit=-1", vec![LIMIT, "got `-1`"]),
        ("limit=1.5", vec![LIMIT, "got `1.5`"]),
        ("limit=", vec![LIMIT, "got ``"]),
        ("limit=99999999999", vec![LIMIT, "got `99999999999`"]),
        ("after=0", vec![AFTER, "got `0`"]),
        ("after=-5", vec![AFTER, "got `-5`"]),
        ("after=x", vec![AFTER, "got `x`"]),
        (
            "after=9223372036854775808",
            vec![AFTER, "got `9223372036854775808`"],
        ),
        ("limit=0&after=0", vec![LIMIT, AFTER]),
        ("limit=1&limit=2", vec!["duplicate field `limit`"]),
    ] {
        let path = format!("/users/1/friends?{query}");
        let problem = assert_problem(app.get(&path).await, 400, "bad-request").await;
        let detail = problem["detail"].as_str().unwrap();
        for needle in expected {
            assert!(detail.contains(needle), "{query}: {detail}");
        }
        assert_eq!(problem["instance"], "/users/1/friends");
    }
    // Parameters the list does not know are ignored, as tolerant clients expect.
    let body = app.page("/users/1/friends?cursor=9&limit=5").await;
    assert_eq!(body["friend_ids"], serde_json::json!([2]));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_problems() {
    let app = spawn_app("sqlite::memory:", None).await;
    for path in ["/nope", "/users/1", "/users/1/friends/2/extra"] {
        let problem = assert_problem(app.get(path).await, 404, "no-route").await;
        assert!(
            problem["detail"].as_str().unwrap().contains(path),
            "{problem}"
        );
    }

    for (method, path, allowed) in [
        (
            reqwest::Method::POST,
            "/users/1/friends/2",
            &["PUT", "DELETE"][..],
        ),
        (
            reqwest::Method::GET,
            "/users/1/friends/2",
            &["PUT", "DELETE"][..],
        ),
        (reqwest::Method::PUT, "/users/1/friends", &["GET"][..]),
        (reqwest::Method::DELETE, "/users/1/friends", &["GET"][..]),
    ] {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let allow = response.headers()["allow"].to_str().unwrap().to_owned();
        for method in allowed {
            assert!(allow.contains(method), "{path}: {allow}");
        }
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
async fn request_id_is_generated_or_propagated_and_lands_in_problems() {
    let app = spawn_app("sqlite::memory:", None).await;
    let response = app.get("/users/1/friends").await;
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    let response = app
        .client
        .delete(app.url("/users/1/friends/2"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    let problem = assert_problem(response, 404, "not-found").await;
    assert_eq!(problem["request_id"], "trace-me-123");
}

#[tokio::test]
async fn a_put_body_is_ignored_but_one_over_the_limit_is_refused() {
    let app = spawn_app("sqlite::memory:", None).await;
    let response = app
        .client
        .put(app.url("/users/1/friends/2"))
        .json(&serde_json::json!({"friend_id": 99}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        app.friend_ids(1).await,
        [2],
        "the path decides, not the body"
    );

    let response = app
        .client
        .put(app.url("/users/1/friends/3"))
        .body(vec![b'x'; 100_000])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;
    assert_eq!(app.friend_ids(1).await, [2], "a refused PUT stores nothing");
}
