//! Test upstreams that answer with their own name, a gateway started in-process on
//! ephemeral ports, and a raw HTTP/1.1 client for requests other clients would tidy up.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use gateway::startup::{Running, ServeConfig};
use gateway::table::Overrides;
use kit::test_util::TestServer;
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The five upstream names of the system, in the order the migration moves them.
pub(crate) const NAMES: [&str; 5] = ["users", "friends", "messages", "timeline", "monolith"];

/// A request header asking a test upstream to wait this many milliseconds before answering.
pub(crate) const DELAY: &str = "x-test-delay-ms";
/// A request header naming a write; test upstreams count each name they receive.
pub(crate) const WRITE_ID: &str = "x-write-id";
/// A request header asking a test upstream to answer with hop-by-hop headers.
pub(crate) const HOP: &str = "x-test-hop";
/// A request header asking a test upstream to answer 409 with [`UPSTREAM_PROBLEM`].
pub(crate) const FAIL: &str = "x-test-fail";
/// The problem+json body a test upstream answers with when asked to fail.
pub(crate) const UPSTREAM_PROBLEM: &str = r#"{"type":"/problems/conflict","title":"Conflict","status":409,"detail":"from the upstream","code":"conflict"}"#;

/// A test upstream on an ephemeral port.
pub(crate) struct Upstream {
    pub(crate) name: &'static str,
    pub(crate) server: TestServer,
    pub(crate) state: Arc<UpstreamState>,
}

/// What a test upstream saw.
#[derive(Default)]
pub(crate) struct UpstreamState {
    name: &'static str,
    /// Requests that arrived (counted on arrival, before any delay).
    pub(crate) requests: AtomicUsize,
    /// Write id → times received.
    pub(crate) writes: Mutex<HashMap<String, u32>>,
}

/// All five upstreams.
pub(crate) struct Upstreams {
    pub(crate) all: Vec<Upstream>,
}

/// A gateway serving a routes file in a temporary directory.
pub(crate) struct Gateway {
    pub(crate) running: Running,
    /// Holds the routes file; removed on drop.
    _dir: tempfile::TempDir,
    pub(crate) file: PathBuf,
    pub(crate) http: reqwest::Client,
}

/// Options for [`Gateway::start_with`].
#[derive(Clone, Copy)]
pub(crate) struct Options {
    pub(crate) watch: bool,
    pub(crate) sighup: bool,
    /// `--max-concurrent-requests`.
    pub(crate) max_concurrent_requests: usize,
}

// === impl Options ===

impl Default for Options {
    /// Every reload path armed, and the bound of a two-core machine.
    fn default() -> Self {
        Self {
            watch: true,
            sighup: true,
            max_concurrent_requests: 2048,
        }
    }
}

// === impl Upstream ===

impl Upstream {
    pub(crate) async fn start(name: &'static str) -> Self {
        let state = Arc::new(UpstreamState {
            name,
            ..UpstreamState::default()
        });
        let app = Router::new()
            .fallback(answer)
            .with_state(Arc::clone(&state));
        Self {
            name,
            server: TestServer::start(app).await,
            state,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    pub(crate) fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }
}

/// Answers with the upstream's name and what it received: method, raw path and query,
/// headers and body length.
async fn answer(State(state): State<Arc<UpstreamState>>, request: Request) -> Response {
    state.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = request.into_parts();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if !matches!(parts.method.as_str(), "GET" | "HEAD")
        && let Some(id) = header(WRITE_ID)
    {
        *state
            .writes
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_default() += 1;
    }
    if let Some(ms) = header(DELAY).and_then(|v| v.parse().ok()) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if header(FAIL).is_some() {
        let mut response = (axum::http::StatusCode::CONFLICT, UPSTREAM_PROBLEM).into_response();
        response
            .headers_mut()
            .insert("content-type", "application/problem+json".parse().unwrap());
        return response;
    }
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let echo = json!({
        "upstream": state.name,
        "method": parts.method.as_str(),
        "path": parts.uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/"),
        "headers": headers,
        "body_len": body.len(),
    });
    let mut response = axum::Json(echo).into_response();
    if header(HOP).is_some() {
        let h = response.headers_mut();
        h.insert("x-internal", "secret".parse().unwrap());
        h.insert("connection", "x-internal".parse().unwrap());
        h.insert("proxy-authenticate", "Basic".parse().unwrap());
        h.insert("x-end-to-end", "kept".parse().unwrap());
    }
    response
}

// === impl Upstreams ===

impl Upstreams {
    pub(crate) async fn start() -> Self {
        let mut all = Vec::new();
        for name in NAMES {
            all.push(Upstream::start(name).await);
        }
        Self { all }
    }

    pub(crate) fn get(&self, name: &str) -> &Upstream {
        self.all.iter().find(|u| u.name == name).unwrap()
    }

    /// Points every upstream name at its test server, and the shipped files' `demo`
    /// issuer at the test key of [`crate::tokens::DEMO`].
    pub(crate) fn overrides(&self) -> Overrides {
        let jwks = crate::tokens::DEMO.jwks_file.to_string_lossy().into_owned();
        self.all
            .iter()
            .fold(Overrides::default(), |o, u| o.with(u.name, u.url()))
            .with_jwks(gateway::token::DEMO_ISSUER, jwks)
    }

    /// Write id → times received, over all upstreams.
    pub(crate) fn writes(&self) -> HashMap<String, u32> {
        let mut total: HashMap<String, u32> = HashMap::new();
        for u in &self.all {
            for (id, n) in u.state.writes.lock().unwrap().iter() {
                *total.entry(id.clone()).or_default() += n;
            }
        }
        total
    }

    pub(crate) fn total_requests(&self) -> usize {
        self.all.iter().map(Upstream::requests).sum()
    }
}

// === impl Gateway ===

impl Gateway {
    /// Serves `routes` (YAML text) with every reload path armed.
    pub(crate) async fn start(routes: &str, overrides: Overrides) -> Self {
        Self::start_with(routes, overrides, Options::default()).await
    }

    pub(crate) async fn start_with(routes: &str, overrides: Overrides, options: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("routes.yaml");
        std::fs::write(&file, routes).unwrap();
        let running = serve_file(file.clone(), overrides, None, options).await;
        Self {
            running,
            _dir: dir,
            file,
            http: client(),
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    pub(crate) fn admin(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.admin_addr)
    }

    /// `POST /admin/reload`.
    pub(crate) async fn reload(&self) -> reqwest::Response {
        self.http
            .post(self.admin("/admin/reload"))
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// `GET /admin/routes`.
    pub(crate) async fn routes(&self) -> Value {
        let response = self
            .http
            .get(self.admin("/admin/routes"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Waits, polling, until the admin API reports `version` active.
    pub(crate) async fn wait_for_version(&self, version: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let routes = self.routes().await;
            if routes["version"] == version {
                return routes;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "version {version} never became active; active: {}",
                routes["version"]
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Starts a gateway in-process on ephemeral ports, serving `file`.
pub(crate) async fn serve_file(
    file: PathBuf,
    overrides: Overrides,
    admin_token: Option<SecretString>,
    options: Options,
) -> Running {
    kit::test_util::init_tracing();
    gateway::startup::start(ServeConfig {
        routes: file,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_token,
        overrides,
        watch: options.watch,
        sighup: options.sighup,
        shutdown_grace: Duration::from_secs(5),
        workers: 2,
        max_concurrent_requests: options.max_concurrent_requests,
    })
    .await
    .unwrap()
}

/// Sends `signal` (`HUP`, `TERM`) to process `pid` with kill(1).
pub(crate) fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A keep-alive HTTP client that never uses a proxy.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// The shipped routes file at `path` (relative to the package root), as text.
pub(crate) fn shipped(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The version the gateway will report for `text`.
pub(crate) fn version_of(text: &str) -> String {
    gateway::table::version(text.as_bytes())
}

/// A URL where nothing listens: connections are refused.
pub(crate) async fn refused_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// How a [`closing_upstream`] ends a connection.
#[derive(Clone, Copy)]
pub(crate) enum Close {
    /// A normal close (FIN).
    Graceful,
    /// A TCP reset (RST), by closing with a zero linger time.
    Reset,
}

/// An upstream that reads a request and closes the connection without answering; counts
/// the connections it took.
pub(crate) async fn closing_upstream(close: Close) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf)).await;
            if let Close::Reset = close {
                stream.set_zero_linger().unwrap();
            }
            drop(stream);
        }
    });
    (format!("http://{addr}"), accepted)
}

/// A response read off a raw connection.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawResponse {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends `head` (request line and headers, without the final blank line) and `body` as
/// they are, with `Connection: close`, and reads the whole answer.
pub(crate) async fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{head}\r\nhost: gateway.test\r\nconnection: close\r\n\r\n").into_bytes();
    request.extend_from_slice(body);
    stream.write_all(&request).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut bytes))
        .await
        .expect("the gateway answers within 10s")
        .unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    RawResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Asserts a gateway problem+json answer and returns its body.
pub(crate) async fn problem(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status);
    assert_eq!(body["code"], code);
    assert_eq!(body["request_id"], request_id.as_str());
    body
}

/// Sends `bytes` exactly as they are and reads everything the gateway answers until it
/// closes the connection.
pub(crate) async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    read_all(&mut stream).await
}

/// Everything `stream` yields until its end (an error, such as a reset, ends it too).
pub(crate) async fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("the gateway closes within 10s")
        {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
        }
    }
}

/// The status codes of every response in `bytes`, in order (pipelined responses follow
/// one another without a separator).
pub(crate) fn statuses(bytes: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    let mut rest = text.as_ref();
    while let Some(at) = rest.find("HTTP/1.") {
        rest = &rest[at + "HTTP/1.".len()..];
        let line = rest.as_bytes();
        if line.len() >= 6
            && matches!(line[0], b'0' | b'1')
            && line[1] == b' '
            && line[5] == b' '
            && let Ok(code) = rest[2..5].parse()
        {
            found.push(code);
        }
    }
    found
}

/// A response read off a raw connection, the head split into lines and the body as raw
/// bytes (still chunked if it was).
pub(crate) fn split_response(bytes: &[u8]) -> (Vec<String>, Vec<u8>) {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]);
    (
        head.split("\r\n").map(str::to_owned).collect(),
        bytes[end + 4..].to_vec(),
    )
}

/// An upstream on a raw socket: for each connection it reads one request (head, then a
/// body framed by `Content-Length` or chunks), keeps its bytes, writes `response` exactly
/// as given and closes.
pub(crate) struct RawUpstream {
    pub(crate) url: String,
    /// Each request's bytes as they arrived, in order.
    pub(crate) received: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl RawUpstream {
    pub(crate) async fn start(response: &'static [u8]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let request = read_request(&mut stream).await;
                log.lock().unwrap().push(request);
                let _ = stream.write_all(response).await;
                let _ = stream.shutdown().await;
            }
        });
        Self { url, received }
    }

    /// The requests received, as text.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

/// Reads one request off `stream`: the head, then the body its head frames; stops early if
/// the peer closes.
async fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let complete = |bytes: &[u8]| -> bool {
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            return false;
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let body = &bytes[end + 4..];
        if head.contains("transfer-encoding: chunked") {
            return body.ends_with(b"0\r\n\r\n");
        }
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        body.len() >= length
    };
    while !complete(&bytes) {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => bytes.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    bytes
}

/// A gateway with one upstream, `up`, at `url`, serving `prefix: /`.
pub(crate) async fn gateway_to(url: &str) -> Gateway {
    gateway_with(url, "").await
}

/// The same, with `extra` (YAML lines) after the route's `to`.
pub(crate) async fn gateway_with(url: &str, extra: &str) -> Gateway {
    let routes = format!(
        "upstreams: {{up: {{url: 'http://127.0.0.1:9'}}}}\nroutes:\n  - prefix: /\n    to: up\n{extra}"
    );
    Gateway::start(&routes, Overrides::default().with("up", url)).await
}
