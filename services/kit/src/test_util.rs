//! Test helpers: servers on ephemeral ports and throwaway PostgreSQL databases.

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
