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
    assert_eq!(spec, serde_json::to_value(users::openapi()).unwrap());
    for path in ["/users", "/users/{id}", "/healthz", "/readyz"] {
        assert!(spec["paths"][path].is_object(), "{path} documented");
    }
    let docs = app.get("/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().await.unwrap().contains("swagger"),
        "Swagger UI is served"
    );
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
    let mut child = Command::new(env!("CARGO_BIN_EXE_users"))
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
