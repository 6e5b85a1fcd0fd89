//! The two sides under comparison: the monolith, and the users, friends, messages and
//! timeline services, all in this process on ephemeral loopback ports, each store holding
//! the same demo world. Requests go to the monolith and to the service that owns the path
//! (as the gateway routes them), with the same `x-request-id`, so even problem bodies can
//! be compared whole.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use kit::cli::ServiceConfig;
use kit::test_util::TestDatabase;
use reqwest::{Client, Method};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Which engine every store of a stack runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One server, stopped (gracefully) when dropped.
pub(crate) struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
}

/// The monolith and the services with the same world.
pub(crate) struct Stack {
    monolith: Running,
    users: Running,
    friends: Running,
    messages: Running,
    timeline: Running,
    client: Client,
    requests: AtomicU64,
    // Dropped after the servers, which close their pools first.
    _databases: Vec<TestDatabase>,
}

/// A request body.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    None,
    Json(Value),
    Raw(&'static str, &'static str),
}

/// What a client sees of an answer: status, the headers that carry meaning, and the JSON
/// body (`null` when empty) without `generated_at`, the one field allowed to differ.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) location: Option<String>,
    pub(crate) allow: Option<String>,
    /// A timeline's tag of its content: equal contents, equal tags on both sides.
    pub(crate) etag: Option<String>,
    pub(crate) body: Value,
}

// === impl Running ===

impl Running {
    /// Binds an ephemeral port, then runs `serve` on it until dropped. A service that fills
    /// its store first accepts connections only afterwards; requests wait in the backlog.
    async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let listener = kit::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind an ephemeral port");
        let addr = listener.local_addr().expect("bound address");
        let (stop, stopped) = oneshot::channel();
        let served = serve(listener, stopped);
        let handle = tokio::spawn(async move { served.await.expect("server failed") });
        Self {
            addr,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn stop(mut self) {
        drop(self.stop.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        drop(self.stop.take());
    }
}

async fn shutdown(stopped: oneshot::Receiver<()>) {
    let _ = stopped.await;
}

/// Runs service `$krate` (its `serve`, `--demo` fill included) with command line `$args`.
macro_rules! serve {
    ($krate:ident, $args:expr) => {{
        let args = $args;
        Running::start(|listener, stopped| {
            let config = $krate::Config::try_from_args(args).expect(concat!(
                "a valid ",
                stringify!($krate),
                " command line"
            ));
            $krate::serve(config, listener, shutdown(stopped))
        })
        .await
    }};
}

// === impl Stack ===

impl Stack {
    /// Everything on `backend` with the demo world `spec`; `None` for PostgreSQL when
    /// `TEST_POSTGRES_URL` is unset.
    pub(crate) async fn start(backend: Backend, spec: &str) -> Option<Self> {
        kit::test_util::init_tracing();
        let mut databases = Vec::new();
        let mut urls = Vec::new();
        for _ in 0..4 {
            match backend {
                Backend::Sqlite => urls.push("sqlite::memory:".to_owned()),
                Backend::Postgres => {
                    let db = kit::test_util::postgres().await?;
                    urls.push(db.url.clone());
                    databases.push(db);
                }
            }
        }
        let store_args = |name: &str, url: &str| {
            vec![
                name.to_owned(),
                "--listen=127.0.0.1:0".to_owned(),
                format!("--database={url}"),
                format!("--demo={spec}"),
            ]
        };

        let monolith = serve!(monolith, store_args("monolith", &urls[0]));
        let users = serve!(users, store_args("users", &urls[1]));
        // Friends and messages follow the users feed, as `up` runs them: they refuse
        // unknown users and delete a deleted user's rows, as the monolith does.
        let following = |name: &str, url: &str| {
            let mut args = store_args(name, url);
            args.push(format!("--users-url={}", users.url("")));
            args
        };
        let friends = serve!(friends, following("friends", &urls[2]));
        let messages = serve!(messages, following("messages", &urls[3]));
        // No profile cache, so a renamed user shows at once as in the monolith; generous
        // time limits, so a busy test machine never turns an answer into a degraded one.
        let timeline_args = vec![
            "timeline".to_owned(),
            "--listen=127.0.0.1:0".to_owned(),
            format!("--users-url={}", users.url("")),
            format!("--friends-url={}", friends.url("")),
            format!("--messages-url={}", messages.url("")),
            "--cache-ttl=0s".to_owned(),
            "--deadline=30s".to_owned(),
            "--call-timeout=30s".to_owned(),
            "--connect-timeout=5s".to_owned(),
            "--request-timeout=60s".to_owned(),
        ];
        let timeline = serve!(timeline, timeline_args);
        Some(Self {
            monolith,
            users,
            friends,
            messages,
            timeline,
            client: Client::new(),
            requests: AtomicU64::new(0),
            _databases: databases,
        })
    }

    /// The service that owns `path`, as the gateway routes it.
    fn service_for(&self, path: &str) -> &Running {
        let path = path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match segments.as_slice() {
            ["timeline", ..] => &self.timeline,
            ["messages", ..] | ["users", _, "messages", ..] => &self.messages,
            ["users", _, "friends", ..] => &self.friends,
            _ => &self.users,
        }
    }

    /// Sends the request to the monolith and to the owning service; returns both answers.
    pub(crate) async fn both(&self, method: &Method, path: &str, body: &Body) -> (Answer, Answer) {
        let request_id = format!(
            "equivalence-{}",
            self.requests.fetch_add(1, Ordering::Relaxed)
        );
        let monolith = self
            .send(&self.monolith, method, path, body, &request_id)
            .await;
        let services = self
            .send(self.service_for(path), method, path, body, &request_id)
            .await;
        (monolith, services)
    }

    /// Sends the request to both sides, asserts they answer alike, and returns the answer.
    pub(crate) async fn same(&self, method: &Method, path: &str, body: &Body) -> Answer {
        let (monolith, services) = self.both(method, path, body).await;
        assert_eq!(
            monolith, services,
            "{method} {path} {body:?}: monolith (left) and services (right) differ"
        );
        monolith
    }

    /// [`same`](Self::same) for a GET.
    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.same(&Method::GET, path, &Body::None).await
    }

    async fn send(
        &self,
        to: &Running,
        method: &Method,
        path: &str,
        body: &Body,
        request_id: &str,
    ) -> Answer {
        let mut request = self
            .client
            .request(method.clone(), to.url(path))
            .header("x-request-id", request_id);
        request = match body {
            Body::None => request,
            Body::Json(json) => request.json(json),
            Body::Raw(content_type, text) => request
                .header("content-type", *content_type)
                .body(text.to_owned()),
        };
        let response = request.send().await.expect("request");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (content_type, location, allow, etag) = (
            header("content-type"),
            header("location"),
            header("allow"),
            header("etag"),
        );
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        let mut body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if let Some(object) = body.as_object_mut() {
            object.remove("generated_at");
        }
        Answer {
            status,
            content_type,
            location,
            allow,
            etag,
            body,
        }
    }

    /// Stops every server, the timeline first.
    pub(crate) async fn stop(self) {
        self.timeline.stop().await;
        self.monolith.stop().await;
        self.users.stop().await;
        self.friends.stop().await;
        self.messages.stop().await;
    }
}

/// `value` without any `created_at` member, at any depth: instants of rows written during
/// a test are the clock's, and differ between the two sides.
pub(crate) fn without_created_at(mut value: Value) -> Value {
    fn strip(value: &mut Value) {
        match value {
            Value::Object(object) => {
                object.remove("created_at");
                object.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}
