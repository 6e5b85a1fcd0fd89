use crate::helpers::spawn_app;

#[tokio::test]
async fn ops_endpoints_answer() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.assert_ops_endpoints(monolith::openapi()).await;
}

#[tokio::test]
async fn readiness_fails_once_the_database_is_gone() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.assert_unready_without_its_database("monolith", "/timeline/1")
        .await;
}

#[test]
fn a_taken_port_is_one_clear_line_and_a_failure_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_monolith"))
        .args(["--listen", &addr, "--database", "sqlite::memory:"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("monolith: cannot listen on") && stderr.contains("already in use"),
        "{stderr}"
    );
}

#[tokio::test]
async fn fifty_concurrent_writers_all_succeed_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("monolith-writers-{}", std::process::id()));
    let url = format!("sqlite://{}/monolith.db", dir.display());
    let app = spawn_app(&url, None).await;
    let author = app.user_id("author").await;
    let writes = (0..50).map(|i| {
        let client = app.client.clone();
        let (path, body) = if i % 2 == 0 {
            ("/users", serde_json::json!({"name": format!("writer {i}")}))
        } else {
            (
                "/messages",
                serde_json::json!({"author_id": author, "text": format!("message {i}")}),
            )
        };
        let url = app.url(path);
        tokio::spawn(async move {
            let response = client.post(url).json(&body).send().await.unwrap();
            assert_eq!(response.status(), 201);
            let id = response.json::<serde_json::Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap();
            (i % 2, id)
        })
    });
    let mut ids = Vec::new();
    for write in writes {
        ids.push(write.await.unwrap());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 50, "fifty distinct rows");
    let page = app
        .get_json(&format!("/users/{author}/messages?limit=500"))
        .await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 25);
    let _ = std::fs::remove_dir_all(dir);
}

/// A request still uploading its body when SIGTERM arrives completes; then the process
/// exits 0. Runs the real binary.
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let response = kit::test_util::response_across_sigterm(
        env!("CARGO_BIN_EXE_monolith"),
        &["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"],
        "POST",
        "/users",
        br#"{"name": "Slow Uploader"}"#,
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Slow Uploader"), "{response}");
}
