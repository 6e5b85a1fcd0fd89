use std::process::Command;

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn ops_endpoints_answer_and_the_served_spec_is_the_contract() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.assert_ops_endpoints(messages::openapi()).await;
}

#[tokio::test]
async fn readiness_fails_once_the_database_is_gone() {
    let app = spawn_app("sqlite::memory:", None).await;
    app.assert_unready_without_its_database("messages", "/messages/1")
        .await;
}

#[tokio::test]
async fn fifty_concurrent_writers_all_succeed_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("messages-writers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}/messages.db", dir.display());
    let app = spawn_app(&url, None).await;
    let writes = (0..50).map(|i| {
        let client = app.client.clone();
        let url = app.url("/messages");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .json(&serde_json::json!({"author_id": i % 5 + 1, "text": format!("writer {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.json::<Value>().await.unwrap()["id"]
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
    assert_eq!(ids.len(), 50, "fifty distinct messages");
    let body = app
        .get_json("/messages/latest?authors=1,2,3,4,5&per_author=10")
        .await;
    let stored: usize = body["latest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["messages"].as_array().unwrap().len())
        .sum();
    assert_eq!(stored, 50, "every write is readable");
    let _ = std::fs::remove_dir_all(dir);
}

/// A request still uploading its body when SIGTERM arrives completes; then the process
/// exits 0. Runs the real binary.
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let response = kit::test_util::response_across_sigterm(
        env!("CARGO_BIN_EXE_messages"),
        &["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"],
        "POST",
        "/messages",
        br#"{"author_id": 4, "text": "Slow Uploader"}"#,
    );
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Slow Uploader"), "{response}");
    assert!(response.contains("location: /messages/1"), "{response}");
}

#[test]
fn a_taken_port_is_one_clear_line_and_a_failure_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_messages"))
        .args(["--listen", &addr, "--database", "sqlite::memory:"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("messages: cannot listen on") && stderr.contains("already in use"),
        "{stderr}"
    );
}
