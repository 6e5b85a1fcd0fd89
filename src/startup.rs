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

use crate::cli::ServeArgs;
use crate::proxy::Proxy;
use crate::reload::Reloader;
use crate::routes::Overrides;

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
    tasks: Vec<JoinHandle<()>>,
}

/// Loads the routes file, binds both listeners and starts serving; returns once both
/// accept connections and every reload path is armed.
pub async fn start(config: ServeConfig) -> anyhow::Result<Running> {
    let reloader = Reloader::start(config.routes.clone(), config.overrides.clone())
        .map_err(|errors| anyhow::anyhow!("{}:\n{errors}", config.routes.display()))
        .context("the routes file is invalid; nothing was started")?;
    let proxy_listener = kit::server::bind(config.listen).await?;
    let admin_listener = kit::server::bind(config.admin).await?;
    let addr = proxy_listener
        .local_addr()
        .context("proxy listener address")?;
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

    let proxy = Proxy::new(reloader.active());
    let proxy_task = tokio::spawn(crate::server::serve(
        proxy_listener,
        proxy,
        stop.clone(),
        config.shutdown_grace,
    ));
    let admin = crate::admin::router(Arc::clone(&reloader), config.admin_token.clone());
    let admin_stop = stop.clone().cancelled_owned();
    let admin_task = tokio::spawn(async move {
        if let Err(err) = kit::server::serve(admin_listener, admin, admin_stop).await {
            tracing::error!(%err, "admin listener failed");
        }
    });
    let snapshot = reloader.current();
    tracing::info!(%addr, %admin_addr, version = %snapshot.version, file = %config.routes.display(), "gateway listening");
    Ok(Running {
        addr,
        admin_addr,
        reloader,
        stop,
        tasks: vec![proxy_task, admin_task],
    })
}

// === impl ServeConfig ===

impl From<ServeArgs> for ServeConfig {
    fn from(args: ServeArgs) -> Self {
        Self {
            overrides: args.upstreams.overrides(),
            routes: args.routes,
            listen: args.listen,
            admin: args.admin,
            admin_token: args.admin_token,
            watch: !args.no_watch,
            sighup: true,
            shutdown_grace: args.shutdown_grace,
        }
    }
}

// === impl Running ===

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the grace period), and waits.
    pub async fn stop(mut self) {
        self.stop.cancel();
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
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
