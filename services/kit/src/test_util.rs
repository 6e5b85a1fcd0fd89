//! Test helpers: servers on ephemeral ports (a service with its store: [`spawn_app`]),
//! problem assertions, service binaries across signals, and throwaway PostgreSQL databases.

use std::net::SocketAddr;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

static TRACING: LazyLock<()> = LazyLock::new(|| {
    if std::env::var_os("TEST_LOG").is_some() {
        crate::telemetry::init();
    }
});

/// Turns logging on for tests when `TEST_LOG` is set; quiet otherwise.
pub fn init_tracing() {
    LazyLock::force(&TRACING);
}

/// A server on 127.0.0.1 with an ephemeral port, stopped (gracefully) on [`stop`](Self::stop)
/// or when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    token: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Binds first, then serves: the server accepts connections as soon as this returns.
    pub async fn start(app: Router) -> Self {
        init_tracing();
        let listener = crate::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind an ephemeral port");
        let addr = listener
            .local_addr()
            .expect("bound listener has an address");
        let token = CancellationToken::new();
        let stopped = token.clone().cancelled_owned();
        let handle = tokio::spawn(async move {
            crate::server::serve(listener, app, stopped)
                .await
                .expect("test server failed");
        });
        Self {
            addr,
            token,
            handle: Some(handle),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting, lets requests in flight finish, and waits for that.
    pub async fn stop(mut self) {
        self.token.cancel();
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// A service under test: its server on an ephemeral port, a client, and the service's own
/// store for arranging what its API cannot (such as equal instants).
#[derive(Debug)]
pub struct TestApp<S> {
    /// The server.
    pub server: TestServer,
    /// A client for it.
    pub client: reqwest::Client,
    /// The store the server uses.
    pub store: S,
    /// The service's running context: its followers; stopped with the app.
    pub running: crate::service::Running,
}

impl<S> Drop for TestApp<S> {
    fn drop(&mut self) {
        self.running.stop.cancel();
    }
}

/// Starts a service that owns a store: opens `database_url` (`sqlite::memory:`, a SQLite
/// file or a PostgreSQL database), fills it with the demo world `demo` when given
/// (`users=10,friends=2`; the `--demo` syntax), and serves `app(store, running)` on 127.0.0.1
/// with an ephemeral port. Accepts connections as soon as this returns.
pub async fn spawn_app<S, A>(database_url: &str, demo: Option<&str>, app: A) -> TestApp<S>
where
    S: crate::service::ServiceStore,
    A: FnOnce(S, &crate::service::Running) -> Router,
{
    spawn_app_on(database_url, demo, None, app).await
}

/// [`spawn_app`] with the feeds on `bus` when given, as `--feed-bus` runs a service: the
/// store's feed is relayed to it, and [`Running::follow`](crate::service::Running::follow)
/// reads from it.
pub async fn spawn_app_on<S, A>(
    database_url: &str,
    demo: Option<&str>,
    bus: Option<crate::feed::nats::Bus>,
    app: A,
) -> TestApp<S>
where
    S: crate::service::ServiceStore,
    A: FnOnce(S, &crate::service::Running) -> Router,
{
    let store = S::open_with(database_url, crate::feed::FeedOptions::default())
        .await
        .expect("open the store");
    if let Some(demo) = demo {
        let spec: crate::demo::DemoSpec = demo.parse().expect("a valid demo spec");
        store
            .fill_demo(&crate::demo::World::new(spec))
            .await
            .expect("fill the demo world");
    }
    let running = crate::service::Running::new(crate::layers::Limits::default(), bus);
    if let Some(bus) = &running.bus {
        crate::feed::nats::spawn_relay(store.feed().clone(), bus.clone(), running.stop.clone());
    }
    TestApp {
        server: TestServer::start(app(store.clone(), &running)).await,
        client: reqwest::Client::new(),
        store,
        running,
    }
}

impl<S> TestApp<S> {
    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// `GET path`, asserting a 200; its JSON body.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.expect("a JSON body")
    }

    /// `PUT path` without a body.
    pub async fn put(&self, path: &str) -> reqwest::Response {
        self.client.put(self.url(path)).send().await.expect("PUT")
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("DELETE")
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("PATCH")
    }
}

impl<S: crate::service::ServiceStore> TestApp<S> {
    /// Asserts the ops endpoints every service serves: `/healthz` and `/readyz` answer
    /// `{"status": "ok"}`, `/openapi.json` is `spec` as served (its `servers` the relative
    /// `/`) and `/docs/` is Swagger UI. Returns the served spec for checks of the
    /// service's own.
    pub async fn assert_ops_endpoints(&self, spec: utoipa::openapi::OpenApi) -> serde_json::Value {
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(self.get_json(probe).await["status"], "ok", "{probe}");
        }
        let served = self.get_json("/openapi.json").await;
        let expected = crate::openapi::served(spec);
        assert_eq!(
            served,
            serde_json::to_value(expected).expect("a spec is JSON")
        );
        let docs = self.get("/docs/").await;
        assert_eq!(docs.status(), 200);
        let page = docs.text().await.expect("the Swagger UI page");
        assert!(page.contains("swagger"), "Swagger UI is served");
        served
    }

    /// Closes the store's database, then asserts that `/readyz` answers 503 `unavailable`
    /// with `Retry-After: 1` naming the `{what} database`, and that `GET needs_db` is a 500
    /// whose detail leaks nothing of the cause.
    pub async fn assert_unready_without_its_database(&self, what: &str, needs_db: &str) {
        self.store.db().close().await;
        let response = self.get("/readyz").await;
        assert_eq!(response.headers()[http::header::RETRY_AFTER], "1");
        let problem = assert_problem(response, 503, "unavailable").await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(&format!("{what} database")), "{detail}");
        let problem = assert_problem(self.get(needs_db).await, 500, "internal").await;
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(!detail.to_lowercase().contains("pool"), "{detail}");
    }
}

/// Asserts a problem+json answer of `status` whose `code` (and `type`) is `code`, and returns
/// its body for further checks.
pub async fn assert_problem(
    response: reqwest::Response,
    status: u16,
    code: &str,
) -> serde_json::Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, crate::problem::CONTENT_TYPE_PROBLEM);
    let body: serde_json::Value = response.json().await.expect("problem JSON");
    assert_eq!(body["status"], status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["type"], format!("/problems/{code}"), "{body}");
    assert!(
        body["title"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    body
}

/// Asserts that the `pattern` a spec publishes for a text field accepts exactly the texts
/// `keeps` accepts, over every character up to U+3100 and a few beyond, each alone, after
/// and before another character, and doubled. `at` names the field in a failure.
pub fn assert_pattern_is_the_rule(at: &str, pattern: &str, keeps: impl Fn(&str) -> bool) {
    let regex = regex::Regex::new(pattern).expect("a valid pattern");
    let samples = (0..=0x3100)
        .chain([0xFEFF, 0xE000, 0x1_F980, 0x10_FFFF])
        .filter_map(char::from_u32)
        .flat_map(|c| {
            [
                c.to_string(),
                format!("a{c}"),
                format!("{c}a"),
                format!("{c}{c}"),
            ]
        });
    for text in samples {
        assert_eq!(regex.is_match(&text), keeps(&text), "{at}: {text:?}");
    }
}

/// A service binary run by a test, on the address it logged; killed if still running when
/// dropped.
#[derive(Debug)]
pub struct Process {
    child: std::process::Child,
    /// `host:port` the process listens on.
    pub addr: String,
}

impl Process {
    /// Starts `binary` with `args` (which should include `--listen 127.0.0.1:0`) and waits
    /// for its `listening addr=…` log line.
    pub fn spawn(binary: &str, args: &[&str]) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary)
            .args(args)
            .env("RUST_LOG", "info")
            .env_remove("LOG_FORMAT")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the service binary");
        let stdout = child.stdout.take().expect("piped stdout");
        // Ends when the child closes stdout (exits); the test runner's timeout bounds the rest.
        let mut lines = std::io::BufReader::new(stdout).lines();
        while let Some(Ok(line)) = lines.next() {
            let Some(rest) = line
                .split("addr=")
                .nth(1)
                .filter(|_| line.contains("listening"))
            else {
                continue;
            };
            let addr = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            // Keep draining stdout so the child never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Self { child, addr };
        }
        let status = child.wait();
        panic!("{binary} exited ({status:?}) without logging its address");
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let sent = std::process::Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit and returns its status.
    pub fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().expect("wait for the service binary")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Graceful shutdown, end to end: starts `binary`, begins `method path` with a JSON `body`,
/// and once the handler is reading the body (the server sent `100 Continue`) sends SIGTERM;
/// after new connections are refused, finishes the upload. Returns the response's raw text
/// after asserting that the process then exited successfully.
pub fn response_across_sigterm(
    binary: &str,
    args: &[&str],
    method: &str,
    path: &str,
    body: &[u8],
) -> String {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let process = Process::spawn(binary, args);
    let addr = process.addr.clone();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         expect: 100-continue\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .expect("send the head");
    // The server says `100 Continue` once the handler reads the body: the request is in
    // flight from here on.
    let mut interim = [0_u8; 25];
    stream.read_exact(&mut interim).expect("read 100 Continue");
    assert!(interim.starts_with(b"HTTP/1.1 100 Continue"), "{interim:?}");
    let split = body.len() / 2;
    stream
        .write_all(&body[..split])
        .expect("send half the body");
    process.signal("TERM");
    // Shutdown has begun once new connections are refused.
    wait_until(|| TcpStream::connect(&addr).is_err());
    stream.write_all(&body[split..]).expect("send the rest");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = process.wait();
    assert!(status.success(), "exit status {status}");
    response
}

/// Spins until `done` holds, for at most ten seconds.
pub fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "condition not reached in 10 s"
        );
        std::thread::yield_now();
    }
}

/// A fresh PostgreSQL database, dropped when this is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
}

/// Creates a fresh database on the server named by `TEST_POSTGRES_URL`; `None` when the
/// variable is unset (PostgreSQL tests are then skipped; CI always sets it).
pub async fn postgres() -> Option<TestDatabase> {
    use sqlx::migrate::MigrateDatabase;
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = std::env::var("TEST_POSTGRES_URL").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let name = format!(
        "test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let url = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
        _ => format!("{}/{name}", base.trim_end_matches('/')),
    };
    sqlx::Postgres::create_database(&url)
        .await
        .unwrap_or_else(|err| {
            panic!("TEST_POSTGRES_URL is set but {url} cannot be created: {err}")
        });
    Some(TestDatabase { url })
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        use sqlx::migrate::MigrateDatabase;
        let url = self.url.clone();
        // Drop runs inside a runtime that may be shutting down: use a runtime of our own.
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                let _ = rt.block_on(sqlx::Postgres::force_drop_database(&url));
            }
        })
        .join();
    }
}

/// Runs each named async test once on SQLite (in memory) and once on a fresh PostgreSQL
/// database (when `TEST_POSTGRES_URL` is set). Each test is `async fn name(database_url: &str)`.
///
/// ```ignore
/// kit::on_both_backends!(crud_round_trip, bulk_read_keeps_order);
/// ```
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test("sqlite::memory:").await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    match $crate::test_util::postgres().await {
                        Some(db) => super::$test(&db.url).await,
                        None => eprintln!("TEST_POSTGRES_URL unset: PostgreSQL run skipped"),
                    }
                }
            )*
        }
    };
}

/// The sum of the samples of metric `name` whose labels contain `labels`, in the
/// Prometheus or OpenMetrics `text` of a `/metrics` answer (0 when there is none).
pub fn metric_sum(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Polls `check` every 20 ms until it gives `Some`, for at most `within`; panics naming
/// `what` when it never does.
pub async fn eventually<T, F, Fut>(what: &str, within: std::time::Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if let Some(done) = check().await {
            return done;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not reached in {within:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Every event of the feed served at `base` (`http://127.0.0.1:PORT`), read from 0 with
/// `GET /changes` page by page.
pub async fn changes(client: &reqwest::Client, base: &str) -> Vec<serde_json::Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page: serde_json::Value = client
            .get(format!("{base}/changes?after={after}&limit=1000"))
            .send()
            .await
            .expect("GET /changes")
            .json()
            .await
            .expect("a page");
        let batch = page["changes"].as_array().cloned().unwrap_or_default();
        events.extend(batch);
        let next = page["next_after"].as_u64().expect("next_after");
        if next >= page["head"].as_u64().expect("head") {
            return events;
        }
        after = next;
    }
}

/// The `X-Change-Position` of `response` as `(source, seq)`; panics when it is absent.
pub fn change_position(response: &reqwest::Response) -> (String, u64) {
    let value = response
        .headers()
        .get(crate::feed::CHANGE_POSITION)
        .expect("an X-Change-Position header")
        .to_str()
        .expect("ASCII");
    let position: crate::feed::Position = value.parse().expect("SOURCE:SEQ");
    (position.source, position.seq)
}

/// A JetStream bus in a namespace no other run uses, when `TEST_NATS_URL` is set.
pub async fn nats_bus() -> Option<crate::feed::nats::Bus> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let url = std::env::var("TEST_NATS_URL").ok()?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let namespace = format!(
        "t{}x{}x{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let bus = crate::feed::nats::Bus::connect(&url)
        .await
        .unwrap_or_else(|err| panic!("TEST_NATS_URL is set but unusable: {err:#}"));
    Some(bus.namespaced(&namespace))
}
