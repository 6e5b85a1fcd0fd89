//! Live swaps of the route table. A saved file, SIGHUP and `POST /admin/reload` all call
//! [`Reloader::reload`]: read the file, validate it, and on success swap the new
//! [`Snapshot`] in atomically; on failure keep the old one and record the rejection.
//!
//! Requests hold the snapshot they loaded on arrival until they finish, so a swap never
//! changes the route of a request in flight.
//!
//! A swap that moves routes to another upstream first waits, bounded by
//! `handover_timeout`, for the new side to have applied the old side's change feed up to
//! its head ([`crate::handover`]); the old table serves every request meanwhile. Then the
//! new table is swapped in with the moved routes held ([`crate::handover::hold`]) while
//! the previous table's requests finish and the new side catches up with the head read
//! after them, within the same bound; the gate opens whatever happens, and a later
//! reload waits for it, loads being serialized.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use futures_util::future::join_all;
use serde::Serialize;
use time::OffsetDateTime;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::handover::{self, FeedClient, Gate, Handover, Hold, Outcome, Pair, hold};
use crate::metrics::{Metrics, ReloadOutcome};
use crate::snapshot::{ClientCache, EdgeCache, Snapshot, Trigger};
use crate::table::{self, ConfigError, LoadErrors, Overrides};

/// A load that was refused.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rejection {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: OffsetDateTime,
    /// What asked for it.
    pub trigger: Trigger,
    /// Content hash of the refused file (absent when it could not be read).
    pub version: Option<String>,
    /// Every error found.
    pub errors: Vec<ConfigError>,
}

/// The result of a successful [`Reloader::reload`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Reloaded {
    /// The version now active.
    pub version: String,
    /// False when the file was unchanged (nothing was swapped).
    pub changed: bool,
    /// The hand-overs of the swap, both waits: each pair of upstreams the new table moved
    /// routes between (empty when nothing moved or nothing was swapped).
    pub handovers: Vec<Handover>,
}

/// Loads and swaps tables; shared by every reload path.
#[derive(Debug)]
pub struct Reloader {
    path: PathBuf,
    overrides: Overrides,
    active: Arc<ArcSwap<Snapshot>>,
    clients: Mutex<ClientCache>,
    /// Issuers' keys and routes' limiters, kept for what a reload leaves unchanged.
    edge: Mutex<EdgeCache>,
    rejected: Mutex<Option<Rejection>>,
    /// The metric families (also held by `edge`), for reload counts and scrapes.
    metrics: Arc<Metrics>,
    /// One load at a time, so concurrent triggers cannot swap in an older file last.
    serial: tokio::sync::Mutex<()>,
    /// Reads the sides' `/feeds` for hand-overs.
    feeds: FeedClient,
}

// === impl Reloader ===

impl Reloader {
    /// Loads `path` for the first time, with connection pools for `workers` worker
    /// threads; fails (with every error) if it is invalid.
    pub fn start(
        path: PathBuf,
        overrides: Overrides,
        workers: usize,
    ) -> Result<Arc<Self>, LoadErrors> {
        let loaded = table::load_file(&path, &overrides)?;
        let mut clients = ClientCache::new(workers);
        let mut edge = EdgeCache::default();
        let snapshot = Snapshot::build_with(loaded, &mut clients, &mut edge, Trigger::Startup);
        let metrics = Arc::clone(&edge.metrics);
        metrics.reloaded(Trigger::Startup.label(), ReloadOutcome::Applied);
        Ok(Arc::new(Self {
            metrics,
            path,
            overrides,
            active: Arc::new(ArcSwap::from_pointee(snapshot)),
            clients: Mutex::new(clients),
            edge: Mutex::new(edge),
            rejected: Mutex::new(None),
            serial: tokio::sync::Mutex::new(()),
            feeds: FeedClient::default(),
        }))
    }

    /// The swappable active snapshot, for the proxy.
    pub fn active(&self) -> Arc<ArcSwap<Snapshot>> {
        Arc::clone(&self.active)
    }

    /// The snapshot serving now.
    pub fn current(&self) -> Arc<Snapshot> {
        self.active.load_full()
    }

    /// The client hand-overs read the sides' `/feeds` with.
    pub fn feed_client(&self) -> &FeedClient {
        &self.feeds
    }

    /// The metric families every snapshot records into.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The last refused load, if any.
    pub fn last_rejected(&self) -> Option<Rejection> {
        self.rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The routes file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The upstream URL overrides applied to every load.
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// Reads, validates and swaps in the file; an invalid file changes nothing but the
    /// recorded rejection.
    #[tracing::instrument(skip(self), fields(file = %self.path.display()))]
    pub async fn reload(&self, trigger: Trigger) -> Result<Reloaded, Rejection> {
        let outcome = self.load(trigger).await;
        let counted = match &outcome {
            Ok(Reloaded { changed: true, .. }) => ReloadOutcome::Applied,
            Ok(Reloaded { changed: false, .. }) => ReloadOutcome::Unchanged,
            Err(_) => ReloadOutcome::Rejected,
        };
        self.metrics.reloaded(trigger.label(), counted);
        outcome
    }

    async fn load(&self, trigger: Trigger) -> Result<Reloaded, Rejection> {
        let _serial = self.serial.lock().await;
        // A file event may arrive while a writer is still writing: wait until two reads
        // a moment apart agree, so a half-written file is neither loaded nor reported.
        let settled = if trigger == Trigger::File {
            SETTLE_READS
        } else {
            1
        };
        let mut text = self.read(trigger).await?;
        for _ in 1..settled {
            tokio::time::sleep(SETTLE).await;
            let again = self.read(trigger).await?;
            if again == text {
                break;
            }
            text = again;
        }
        let version = table::version(&text);
        if trigger == Trigger::File && text.is_empty() {
            // Truncated and not yet written: the writer's next event brings the content.
            // (An empty file is never a valid table; SIGHUP and the admin API report it.)
            tracing::debug!("routes file is empty; waiting for the write to finish");
            return Ok(Reloaded {
                version: self.active.load().version.clone(),
                changed: false,
                handovers: Vec::new(),
            });
        }
        if version == self.active.load().version {
            return Ok(Reloaded {
                version,
                changed: false,
                handovers: Vec::new(),
            });
        }
        let parsed = match std::str::from_utf8(&text) {
            Ok(text) => table::parse(text, &self.overrides),
            Err(_) => Err(LoadErrors(vec![ConfigError::new(
                0,
                0,
                "the file is not UTF-8 text",
            )])),
        };
        match parsed {
            Ok(loaded) => {
                let started = Instant::now();
                let pairs = handover::pairs(&self.active.load().table, &loaded.table);
                let mut handovers = self.feeds.hand_over_all(&pairs).await;
                // Only a pair that caught up has a final catch-up: one that timed out has
                // no time left, and one with nothing to wait for has nothing to hold for.
                let catching_up: Vec<usize> = (0..pairs.len())
                    .filter(|&i| handovers[i].outcome == Outcome::CaughtUp)
                    .collect();
                let (gate, opener) = Gate::closed();
                let hold = Hold::new(gate, &loaded.table, catching_up.iter().map(|&i| &pairs[i]));
                let held = hold.is_some();
                let snapshot = {
                    let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
                    let mut edge = self.edge.lock().unwrap_or_else(PoisonError::into_inner);
                    Snapshot::build_with(loaded, &mut clients, &mut edge, trigger).with_hold(hold)
                };
                snapshot.record_handovers(&handovers);
                let snapshot = Arc::new(snapshot);
                let previous = self.active.swap(Arc::clone(&snapshot));
                tracing::info!(
                    ?trigger,
                    version = %version,
                    previous = %previous.version,
                    file = %self.path.display(),
                    held,
                    "route table swapped in"
                );
                if held {
                    let swapped = Instant::now();
                    self.catch_up(&pairs, &catching_up, &mut handovers, started, previous)
                        .await;
                    opener.open();
                    let held_ms = handover::wait::millis(swapped.elapsed());
                    for &i in &catching_up {
                        handovers[i].held_ms = held_ms;
                    }
                    snapshot.record_handovers(&handovers);
                } else {
                    opener.open();
                }
                self.count(&handovers);
                Ok(Reloaded {
                    version,
                    changed: true,
                    handovers,
                })
            }
            Err(LoadErrors(errors)) => Err(self.reject(trigger, Some(version), errors)),
        }
    }

    /// The final catch-up of each pair of `pairs` listed in `catching_up`, all at once,
    /// with the new table swapped in and its moved routes held: waits for the requests
    /// that loaded `previous` to finish, then for the new side to reach the old side's
    /// head read after that, within what remains of each pair's timeout.
    async fn catch_up(
        &self,
        pairs: &[Pair],
        catching_up: &[usize],
        handovers: &mut [Handover],
        started: Instant,
        previous: Arc<Snapshot>,
    ) {
        let finals = join_all(catching_up.iter().map(|&i| {
            let pair = &pairs[i];
            let first = handovers[i].clone();
            let previous = &previous;
            async move {
                let drained = hold::drained(previous, started + pair.timeout).await;
                self.feeds.catch_up(pair, first, started, drained).await
            }
        }))
        .await;
        for (&i, done) in catching_up.iter().zip(finals) {
            handovers[i] = done;
        }
    }

    /// Counts each hand-over, how long it waited and how long it held requests.
    fn count(&self, handovers: &[Handover]) {
        for h in handovers {
            self.metrics.handed_over(
                h.outcome.label(),
                Duration::from_millis(h.waited_ms),
                (h.held_ms > 0 || h.final_head.is_some()).then(|| Duration::from_millis(h.held_ms)),
            );
        }
    }

    async fn read(&self, trigger: Trigger) -> Result<Vec<u8>, Rejection> {
        tokio::fs::read(&self.path).await.map_err(|err| {
            let error =
                ConfigError::new(0, 0, format!("cannot read {}: {err}", self.path.display()));
            self.reject(trigger, None, vec![error])
        })
    }

    fn reject(
        &self,
        trigger: Trigger,
        version: Option<String>,
        errors: Vec<ConfigError>,
    ) -> Rejection {
        let rejection = Rejection {
            at: OffsetDateTime::now_utc(),
            trigger,
            version,
            errors,
        };
        let listed: Vec<String> = rejection.errors.iter().map(ToString::to_string).collect();
        tracing::warn!(
            ?trigger,
            file = %self.path.display(),
            errors = ?listed,
            "route table rejected; the previous table keeps serving"
        );
        *self.rejected.lock().unwrap_or_else(PoisonError::into_inner) = Some(rejection.clone());
        rejection
    }

    /// Reloads on every SIGHUP until `stop`. The handler is installed before this returns,
    /// so a SIGHUP sent afterwards reloads instead of ending the process.
    #[cfg(unix)]
    pub fn on_sighup(self: &Arc<Self>, stop: CancellationToken) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = signal(SignalKind::hangup())?;
        let this = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    received = hangups.recv() => {
                        if received.is_none() {
                            break;
                        }
                        let _logged = this.reload(Trigger::Sighup).await;
                    }
                }
            }
        });
        Ok(())
    }

    /// Reloads whenever the file's directory changes: a plain write, an atomic rename over
    /// the file, or the `..data` symlink swap Kubernetes does for a mounted ConfigMap.
    /// Watching starts before this returns.
    pub fn watch(self: &Arc<Self>, stop: CancellationToken) -> notify::Result<()> {
        use notify::{EventKind, RecursiveMode, Watcher};
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = self.path.file_name().map(ToOwned::to_owned);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let Ok(event) = event else { return };
                if matches!(event.kind, EventKind::Access(_)) {
                    return;
                }
                let relevant = event.paths.iter().any(|p| {
                    let name = p.file_name();
                    name == file_name.as_deref()
                        || name.is_some_and(|n| n.to_string_lossy().starts_with(".."))
                });
                if relevant {
                    // A full channel already holds a pending reload, which will read the file
                    // as it is then.
                    let _pending = tx.try_send(());
                }
            })?;
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
        let this = Arc::clone(self);
        tokio::spawn(async move {
            // Owned by the task: dropping it stops the watching.
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = stop.cancelled() => break,
                    event = rx.recv() => {
                        if event.is_none() {
                            break;
                        }
                        // Let a burst of events (truncate, write, close) settle first.
                        tokio::time::sleep(SETTLE).await;
                        while rx.try_recv().is_ok() {}
                        let _logged = this.reload(Trigger::File).await;
                    }
                }
            }
        });
        Ok(())
    }
}

/// How long file events must pause before the file is read, and the interval between the
/// reads that must agree.
const SETTLE: Duration = Duration::from_millis(50);

/// Most reads a file-triggered load makes while waiting for the file to stop changing.
const SETTLE_READS: usize = 20;
