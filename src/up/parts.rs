//! The five services as `up` runs them: every port bound before anything starts, each
//! service started on a runtime of its own, waited for until it is ready, watched while it
//! runs, and stopped.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use anyhow::Context as _;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::ready::Probe;
use super::service::{self, Launch, Service, Urls};
use crate::cli::UpArgs;
use crate::table::{Overrides, UpstreamOverride};

/// Where the services keep their SQLite files: `--data`, or with `--fresh` a temporary
/// directory deleted when this is dropped.
#[derive(Debug)]
pub(super) struct Data {
    path: PathBuf,
    fresh: Option<tempfile::TempDir>,
}

/// Every service's listener, bound; nothing runs yet.
#[derive(Debug)]
pub(super) struct Bound {
    listeners: Vec<(Service, std::net::TcpListener, SocketAddr)>,
    urls: Urls,
}

/// The services, each running on its own runtime.
#[derive(Debug)]
pub(super) struct Parts {
    parts: Vec<Part>,
    stop: CancellationToken,
}

/// A service running on its own runtime.
#[derive(Debug)]
pub(super) struct Part {
    pub(super) service: Service,
    pub(super) addr: SocketAddr,
    /// Its store, for the services that have one.
    pub(super) database: Option<String>,
    /// `None` once shut down.
    runtime: Option<Runtime>,
    /// `None` once awaited.
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// How often a starting service is asked whether it is ready.
const READY_POLL: Duration = Duration::from_millis(50);

// === impl Data ===

impl Data {
    /// The data directory `args` ask for, as an absolute path (the services open files
    /// relative to nothing).
    pub(super) fn new(args: &UpArgs) -> anyhow::Result<Self> {
        let fresh = if args.fresh {
            Some(
                tempfile::Builder::new()
                    .prefix("timeline-up-")
                    .tempdir()
                    .context("cannot create a temporary data directory")?,
            )
        } else {
            None
        };
        let path = fresh.as_ref().map_or(args.data.as_path(), |dir| dir.path());
        let path = std::path::absolute(path)
            .with_context(|| format!("cannot resolve {}", path.display()))?;
        Ok(Self { path, fresh })
    }

    /// The directory.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Whether it is deleted on exit.
    pub(super) fn is_fresh(&self) -> bool {
        self.fresh.is_some()
    }
}

// === impl Bound ===

impl Bound {
    /// Binds every port `args` name, so a taken one fails here, before anything runs. The
    /// gateway binds its own listeners when it starts, last; its ports are tried now and
    /// let go.
    pub(super) fn all(args: &UpArgs) -> anyhow::Result<Self> {
        for (name, port) in [
            ("gateway", args.gateway_port),
            ("gateway admin", args.admin_port),
        ] {
            if port != 0 {
                drop(bind(SocketAddr::new(args.host, port)).context(name)?);
            }
        }
        let mut listeners = Vec::with_capacity(Service::ALL.len());
        let mut urls = Urls::default();
        for service in Service::ALL {
            let listener = bind(SocketAddr::new(args.host, service.port(args)))
                .with_context(|| service.to_string())?;
            let addr = listener.local_addr().context("listener address")?;
            match service {
                Service::Users => urls.users = url(addr),
                Service::Friends => urls.friends = url(addr),
                Service::Messages => urls.messages = url(addr),
                Service::Monolith => urls.monolith = url(addr),
                Service::Timeline => {}
            }
            listeners.push((service, listener, addr));
        }
        urls.replicate_to_monolith = format!(
            "users={},friends={},messages={}",
            urls.users, urls.friends, urls.messages
        );
        urls.replicate_to_services = format!("monolith={}", urls.monolith);
        Ok(Self { listeners, urls })
    }
}

// === impl Parts ===

impl Parts {
    /// Starts every bound service: each opens its SQLite file under `data` and fills an
    /// empty store with the `demo` world.
    pub(super) fn start(bound: Bound, data: &Data, demo: &str) -> anyhow::Result<Self> {
        let mut parts = Self {
            parts: Vec::with_capacity(bound.listeners.len()),
            stop: CancellationToken::new(),
        };
        for (service, listener, addr) in bound.listeners {
            let database = service
                .database()
                .map(|file| format!("sqlite://{}", data.path().join(file).display()));
            let runtime = service::runtime(service.name())?;
            let launch = Launch {
                listener,
                addr,
                database: database.as_deref(),
                demo,
                urls: &bound.urls,
            };
            // On an error the parts started so far are dropped, which aborts them.
            let task = service.spawn(launch, &runtime, parts.stop.clone())?;
            parts.parts.push(Part {
                service,
                addr,
                database,
                runtime: Some(runtime),
                task: Some(task),
            });
        }
        Ok(parts)
    }

    /// Waits until every service answers `GET /readyz` with 200; fails when one stops first.
    pub(super) async fn ready(&mut self) -> anyhow::Result<()> {
        let probe = Probe::new();
        for part in &mut self.parts {
            loop {
                if let Some(task) = part.task.take_if(|task| task.is_finished()) {
                    let err = flatten(task.await)
                        .err()
                        .unwrap_or_else(|| anyhow::anyhow!("stopped before it was ready"));
                    return Err(err.context(part.service.name()));
                }
                if probe.ready(part.addr).await {
                    break;
                }
                tokio::time::sleep(READY_POLL).await;
            }
        }
        Ok(())
    }

    /// The services in start order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Part> {
        self.parts.iter()
    }

    /// Upstream URLs pointing every service's name at where it listens.
    pub(super) fn overrides(&self) -> Overrides {
        self.parts
            .iter()
            .map(|part| UpstreamOverride {
                name: part.service.name().to_owned(),
                url: url(part.addr),
            })
            .collect()
    }

    /// The first service whose task ends, and how it ended (a service ending on its own is
    /// a failure).
    pub(super) async fn first_to_end(&mut self) -> (&'static str, anyhow::Result<()>) {
        std::future::poll_fn(|cx| {
            for part in &mut self.parts {
                let Some(task) = part.task.as_mut() else {
                    continue;
                };
                if let Poll::Ready(joined) = Pin::new(task).poll(cx) {
                    part.task = None;
                    return Poll::Ready((part.service.name(), flatten(joined)));
                }
            }
            Poll::Pending
        })
        .await
    }

    /// Stops services that are still starting: a demo fill is one transaction, so the
    /// store is left as it was (and filled on the next start).
    pub(super) fn abort(self) {
        drop(self);
    }

    /// Stops every service, letting requests in flight finish, and logs any that failed.
    pub(super) async fn stop(mut self) {
        self.stop.cancel();
        for part in &mut self.parts {
            if let Some(task) = part.task.take()
                && let Err(err) = flatten(task.await)
            {
                tracing::error!(part = part.service.name(), "{err:#}");
            }
        }
    }
}

// === impl Part ===

impl Drop for Part {
    /// Aborts the task if it still runs, and lets the runtime go without blocking (a
    /// runtime dropped inside another one would panic).
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A listener on `addr`, ready for a runtime to register.
fn bind(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let listener =
        std::net::TcpListener::bind(addr).map_err(|err| kit::server::BindError::new(addr, &err))?;
    listener
        .set_nonblocking(true)
        .context("cannot make the listener non-blocking")?;
    Ok(listener)
}

/// The base URL of a part listening on `addr`.
pub(super) fn url(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

fn flatten(joined: Result<anyhow::Result<()>, tokio::task::JoinError>) -> anyhow::Result<()> {
    joined.unwrap_or_else(|join| Err(anyhow::anyhow!("crashed: {join}")))
}
