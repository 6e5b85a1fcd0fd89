use crate::helpers::spawn_app;

#[tokio::test]
async fn ops_endpoints_answer() {
    let app = spawn_app("sqlite::memory:", None).await;
    let spec = app.assert_ops_endpoints(users::openapi()).await;
    for path in ["/users", "/users/{id}", "/healthz", "/readyz"] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
}

#[tokio::test]
async fn fifty_concurrent_writers_all_succeed_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("users-writers-{}", std::process::id()));
    let url = format!("sqlite://{}/users.db", dir.display());
    let app = spawn_app(&url, None).await;
    let writes = (0..50).map(|i| {
        let client = app.client.clone();
        let url = app.url("/users");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&serde_json::json!({"name": format!("writer {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.json::<serde_json::Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap()
        })
    });
    let mut ids = Vec::new();
    for write in writes {
        ids.push(write.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "fifty distinct users");
    let _ = std::fs::remove_dir_all(dir);
}

/// A request still uploading its body when SIGTERM arrives completes; then the process
/// exits 0. Runs the real binary.
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let response = kit::test_util::response_across_sigterm(
        env!("CARGO_BIN_EXE_users"),
        &["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"],
        "POST",
        "/users",
        br#"{"name": "Slow Uploader"}"#,
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Slow Uploader"), "{response}");
}
