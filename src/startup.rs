//! Wiring for `gateway serve`: load the table, bind both listeners, start the reload
//! paths, and serve until told to stop. Tests start the same thing in-process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use secrecy::SecretString;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::proxy::Bound;
use crate::reload::Reloader;
use crate::table::Overrides;

/// Everything `serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The routes file.
    pub routes: PathBuf,
    /// Proxy address.
    pub listen: SocketAddr,
    /// Admin address.
    pub admin: SocketAddr,
    /// Admin bearer token.
    pub admin_token: Option<SecretString>,
    /// Upstream URL overrides.
    pub overrides: Overrides,
    /// Reload when the file changes.
    pub watch: bool,
    /// Reload on SIGHUP.
    pub sighup: bool,
    /// Time requests in flight get on shutdown.
    pub shutdown_grace: Duration,
    /// Proxy worker threads (one per core is best).
    pub workers: usize,
    /// Requests the proxy handles at once, over all workers; more are answered 503.
    pub max_concurrent_requests: usize,
}

/// A gateway that is serving.
#[derive(Debug)]
pub struct Running {
    /// Where the proxy listens.
    pub addr: SocketAddr,
    /// Where the admin API listens.
    pub admin_addr: SocketAddr,
    /// The reloader, for tests and the admin API.
    pub reloader: Arc<Reloader>,
    stop: CancellationToken,
    admin_task: Option<JoinHandle<()>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

/// Loads the routes file, binds both listeners and starts serving; returns once both
/// accept connections and every reload path is armed.
pub async fn start(config: ServeConfig) -> anyhow::Result<Running> {
    let workers = config.workers.max(1);
    let reloader = Reloader::start(config.routes.clone(), config.overrides.clone(), workers)
        .map_err(|errors| anyhow::anyhow!("{}:\n{errors}", config.routes.display()))
        .context("the routes file is invalid; nothing was started")?;
    // Issuers' JWKS URLs read before the first request, for at most a few seconds each (a
    // source that fails is retried by the requests that need it).
    reloader.current().prefetch_keys().await;
    let (addr, proxy_listeners) = crate::server::bind(config.listen, workers)?;
    let admin_listener = kit::server::bind(config.admin).await?;
    let admin_addr = admin_listener
        .local_addr()
        .context("admin listener address")?;
    if !admin_addr.ip().is_loopback() && config.admin_token.is_none() {
        tracing::warn!(%admin_addr, "the admin API is reachable beyond loopback without a token");
    }

    let stop = CancellationToken::new();
    if config.watch {
        reloader
            .watch(stop.clone())
            .with_context(|| format!("cannot watch {}", config.routes.display()))?;
    }
    #[cfg(unix)]
    if config.sighup {
        reloader
            .on_sighup(stop.clone())
            .context("cannot listen for SIGHUP")?;
    }

    let bound = Arc::new(Bound::new(config.max_concurrent_requests));
    let worker_threads = crate::server::spawn_workers(
        proxy_listeners,
        &reloader.active(),
        &bound,
        &stop,
        config.shutdown_grace,
    )
    .context("cannot start the proxy worker threads")?;
    let admin = crate::admin::router(
        Arc::clone(&reloader),
        config.admin_token.clone(),
        Arc::clone(&bound),
    );
    let admin_stop = stop.clone().cancelled_owned();
    let admin_task = tokio::spawn(async move {
        if let Err(err) = kit::server::serve(admin_listener, admin, admin_stop).await {
            tracing::error!(%err, "admin listener failed");
        }
    });
    let snapshot = reloader.current();
    tracing::info!(%addr, %admin_addr, workers, max_concurrent_requests = bound.max(), version = %snapshot.version, file = %config.routes.display(), "gateway listening");
    Ok(Running {
        addr,
        admin_addr,
        reloader,
        stop,
        admin_task: Some(admin_task),
        workers: worker_threads,
    })
}

/// One worker per core the process may use.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Requests in flight per proxy worker when `--max-concurrent-requests` is not given.
pub const MAX_CONCURRENT_PER_WORKER: usize = 1024;

/// The bound for `workers` proxy workers: [`MAX_CONCURRENT_PER_WORKER`] each, so it grows
/// with the cores the gateway runs on. A request in flight costs little besides its two
/// sockets, so the bound is there to answer an overload with a prompt 503 rather than
/// latency climbing for everyone, and to stay below the process's open-file limit (keep
/// that above twice the bound).
pub fn default_max_concurrent_requests(workers: usize) -> usize {
    workers.max(1).saturating_mul(MAX_CONCURRENT_PER_WORKER)
}

// === impl Running ===

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the grace period), and waits.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.admin_task.take() {
            let _ = task.await;
        }
        let workers = std::mem::take(&mut self.workers);
        let _ = tokio::task::spawn_blocking(move || {
            for worker in workers {
                let _ = worker.join();
            }
        })
        .await;
    }

    /// Serves until `signal` completes, then stops gracefully.
    pub async fn serve_until(self, signal: impl std::future::Future<Output = ()>) {
        signal.await;
        self.stop().await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
