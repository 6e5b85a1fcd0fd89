use kit::ids::UserId;

use crate::helpers::spawn_app;

#[tokio::test]
async fn ops_endpoints_and_the_served_spec_answer() {
    let app = spawn_app("sqlite::memory:", None).await;
    let spec = app.assert_ops_endpoints(friends::openapi()).await;
    assert_eq!(spec["info"]["title"], "friends");
    // Served with a relative server, so Swagger UI calls this server on its real port;
    // the checked-in file keeps the default local address.
    assert_eq!(spec["servers"][0]["url"], "/");
    assert_eq!(
        serde_json::to_value(friends::openapi()).unwrap()["servers"][0]["url"],
        "http://127.0.0.1:8082"
    );
    let operation = |path: &str, method: &str| spec["paths"][path][method].clone();
    for (path, method, id) in [
        ("/users/{id}/friends/{friend_id}", "put", "addFriend"),
        ("/users/{id}/friends/{friend_id}", "delete", "removeFriend"),
        ("/users/{id}/friends", "get", "listFriends"),
    ] {
        let op = operation(path, method);
        assert_eq!(op["operationId"], id);
        assert_eq!(op["tags"], serde_json::json!(["friends"]));
    }
    for path in ["/healthz", "/readyz"] {
        assert!(spec["paths"][path]["get"].is_object(), "{path} documented");
    }
    let list = operation("/users/{id}/friends", "get");
    let param = |name: &str| {
        list["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    assert_eq!(
        (&param("limit")["minimum"], &param("limit")["maximum"]),
        (&serde_json::json!(1), &serde_json::json!(5000))
    );
    assert_eq!(param("limit")["default"], 1000);
    assert_eq!(param("after")["minimum"], 1);
    assert_eq!(
        list["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/FriendList"
    );
    assert!(spec["components"]["schemas"]["FriendList"].is_object());
}

#[tokio::test]
async fn fifty_concurrent_writers_all_succeed_on_a_sqlite_file() {
    let dir = std::env::temp_dir().join(format!("friends-writers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}/friends.db", dir.display());
    let app = spawn_app(&url, None).await;
    // Fifty users befriend user 1 at once: fifty writers on one file and one key range.
    let writes: Vec<_> = (2..=51)
        .map(|friend| {
            let request = app
                .client
                .put(app.url(&format!("/users/{friend}/friends/1")));
            tokio::spawn(async move { request.send().await.unwrap().status() })
        })
        .collect();
    for write in writes {
        assert_eq!(write.await.unwrap(), 204);
    }
    assert_eq!(app.friend_ids(1).await, (2..=51).collect::<Vec<i64>>());
    for friend in [2, 26, 51] {
        assert_eq!(app.friend_ids(friend).await, [1]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// A request still uploading its body when SIGTERM arrives completes and its write is
/// kept; then the process exits 0. Runs the real binary.
#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let dir = std::env::temp_dir().join(format!("friends-sigterm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = format!("sqlite://{}/friends.db", dir.display());
    // PUT ignores its body but reads it, so `Expect: 100-continue` gives a sync point.
    let response = kit::test_util::response_across_sigterm(
        env!("CARGO_BIN_EXE_friends"),
        &["--listen", "127.0.0.1:0", "--database", &url],
        "PUT",
        "/users/4/friends/9",
        br#"{"note": "ignored"}"#,
    );
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");

    // The write made during shutdown is in the database.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let page = runtime.block_on(async {
        let store = friends::Store::open(&url).await.unwrap();
        let page = friends::domain::PageRequest::parse(None, None).unwrap();
        store.friends(UserId::new(9), page).await.unwrap()
    });
    assert_eq!(page.friend_ids, [UserId::new(4)]);
    let _ = std::fs::remove_dir_all(dir);
}
