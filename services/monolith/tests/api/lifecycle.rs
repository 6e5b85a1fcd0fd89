use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::spawn_app;

#[tokio::test]
async fn ops_endpoints_answer() {
    let app = spawn_app("sqlite::memory:", None).await;
    let health: serde_json::Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(app.get("/readyz").await.status(), 200);
    let spec: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(spec, serde_json::to_value(monolith::openapi()).unwrap());
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI is served"
    );
}

#[test]
fn the_spec_names_every_operation_of_the_services() {
    let spec = serde_json::to_value(monolith::openapi()).unwrap();
    assert_eq!(spec["info"]["title"], "monolith");
    assert_eq!(spec["servers"][0]["url"], "http://127.0.0.1:8085");
    for (path, method, operation_id, tag) in [
        ("/users", "post", "createUser", "users"),
        ("/users", "get", "listUsersByIds", "users"),
        ("/users/{id}", "get", "getUser", "users"),
        ("/users/{id}", "patch", "updateUser", "users"),
        ("/users/{id}", "delete", "deleteUser", "users"),
        (
            "/users/{id}/friends/{friend_id}",
            "put",
            "addFriend",
            "friends",
        ),
        (
            "/users/{id}/friends/{friend_id}",
            "delete",
            "removeFriend",
            "friends",
        ),
        ("/users/{id}/friends", "get", "listFriends", "friends"),
        ("/messages", "post", "createMessage", "messages"),
        ("/messages/{id}", "get", "getMessage", "messages"),
        ("/messages/{id}", "delete", "deleteMessage", "messages"),
        (
            "/users/{id}/messages",
            "get",
            "listUserMessages",
            "messages",
        ),
        ("/messages/latest", "get", "listLatestMessages", "messages"),
        ("/timeline/{user_id}", "get", "getTimeline", "timeline"),
        ("/healthz", "get", "getHealth", "ops"),
        ("/readyz", "get", "getReadiness", "ops"),
    ] {
        let operation = &spec["paths"][path][method];
        assert_eq!(operation["operationId"], operation_id, "{method} {path}");
        assert_eq!(
            operation["tags"],
            serde_json::json!([tag]),
            "{operation_id}"
        );
    }
    for schema in [
        "User",
        "CreateUser",
        "UpdateUser",
        "UsersByIds",
        "FriendList",
        "Message",
        "CreateMessage",
        "MessagePage",
        "LatestMessages",
        "AuthorMessages",
        "Timeline",
        "Entry",
        "Friend",
        "EntryMessage",
        "Degradation",
        "Problem",
    ] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "{schema}"
        );
    }
    let param = |path: &str, name: &str| {
        spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()["schema"]
            .clone()
    };
    for (path, name, min, max, default) in [
        ("/users/{id}/friends", "limit", 1, 5000, 1000),
        ("/users/{id}/messages", "limit", 1, 500, 50),
        ("/messages/latest", "per_author", 1, 10, 1),
        ("/timeline/{user_id}", "per_friend", 1, 10, 1),
        ("/timeline/{user_id}", "limit", 1, 500, 50),
    ] {
        let schema = param(path, name);
        assert_eq!(
            (&schema["minimum"], &schema["maximum"], &schema["default"]),
            (
                &serde_json::json!(min),
                &serde_json::json!(max),
                &serde_json::json!(default)
            ),
            "{path} {name}"
        );
    }
    assert_eq!(param("/messages/latest", "authors")["maxItems"], 500);
    assert_eq!(param("/users", "ids")["maxItems"], 500);
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_monolith"))
        .args(["--listen", "127.0.0.1:0", "--database", "sqlite::memory:"])
        .env("RUST_LOG", "info")
        .env_remove("LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = listening_addr(child.stdout.take().unwrap());

    let body = br#"{"name": "Slow Uploader"}"#;
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /users HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // The server says `100 Continue` once the handler reads the body: the request is in
    // flight from here on.
    let mut interim = [0_u8; 25];
    stream.read_exact(&mut interim).unwrap();
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"), "{interim:?}");
    stream.write_all(&body[..5]).unwrap();

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // Shutdown has begun once new connections are refused.
    wait_until(|| TcpStream::connect(&addr).is_err());

    stream.write_all(&body[5..]).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    assert!(response.contains("Slow Uploader"), "{response}");

    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

fn listening_addr(stdout: std::process::ChildStdout) -> String {
    // Ends when the child closes stdout (exits); the nextest slow-timeout bounds the rest.
    let mut lines = BufReader::new(stdout).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(rest) = line
            .split("addr=")
            .nth(1)
            .filter(|_| line.contains("listening"))
        {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return addr;
        }
    }
    panic!("the server exited without logging its address");
}

fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "condition not reached in 10 s");
        std::thread::yield_now();
    }
}
