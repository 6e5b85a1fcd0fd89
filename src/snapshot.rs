//! What the proxy reads: a [`Snapshot`] is one compiled route table together with the
//! pooled clients of its upstreams, the merged OpenAPI spec it serves, and the state of each
//! route's shadow ([`shadow`]: its clients, in-flight bound and counters). Snapshots are
//! immutable but for the record of their swap's hand-overs and the gate of the routes
//! the swap holds ([`crate::handover::hold`]); a reload builds a new one and swaps it in
//! whole, so a request reads one consistent snapshot from arrival to answer.

use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;

pub mod client;
pub mod fetch;
pub mod keys;
pub mod limits;
pub mod shadow;
pub mod tls;

use std::sync::{Arc, Mutex, PoisonError};

pub use client::{ClientCache, UpstreamClient};
pub use keys::{KeyCache, KeyStore};
pub use limits::{Limiter, LimiterCache};
pub use shadow::{ShadowCache, ShadowState, ShadowStats};

use crate::handover::{Gate, Handover, Hold};
use crate::metrics::{Metrics, TableMetrics, TriggerName};
use crate::table::{Loaded, RouteTable, UpstreamId};

/// What asked for a load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The first load, at start.
    Startup,
    /// The file changed on disk.
    File,
    /// SIGHUP.
    Sighup,
    /// `POST /admin/reload`.
    Admin,
}

/// An active table with the clients of its upstreams.
#[derive(Debug)]
pub struct Snapshot {
    /// The compiled table.
    pub table: RouteTable,
    /// Clients by upstream (indexed like `table.upstreams()`), then by worker thread.
    clients: Box<[Box<[UpstreamClient]>]>,
    /// Content hash of the file.
    pub version: String,
    /// When it was swapped in.
    pub loaded_at: OffsetDateTime,
    /// What loaded it.
    pub trigger: Trigger,
    /// The merged OpenAPI spec of `table`, as served at `/openapi.json`.
    pub openapi: Bytes,
    /// The key store of each issuer, indexed like `table.issuers()`.
    keys: Box<[Arc<KeyStore>]>,
    /// The limiter of each route, indexed like `table.routes()`.
    limiters: Box<[Option<Arc<Limiter>>]>,
    /// The counters of each route and upstream, their label sets resolved.
    pub metrics: TableMetrics,
    /// The shadow of each route, indexed like `table.routes()`.
    shadows: Box<[Option<Arc<ShadowState>>]>,
    /// The hand-overs of the swap that brought this table in (none at startup, nor when
    /// the swap moved no route to another upstream); updated when their final catch-up
    /// ends, after the swap.
    handovers: Mutex<Vec<Handover>>,
    /// The moved routes held until the hand-overs' final catch-up ends; `None` when this
    /// table's swap held nothing.
    hold: Option<Hold>,
}

/// The key stores, limiters and metric families kept across reloads.
#[derive(Debug, Default)]
pub struct EdgeCache {
    /// Key stores by source.
    pub keys: KeyCache,
    /// Limiters by route.
    pub limiters: LimiterCache,
    /// Shadow counters by route.
    pub shadows: ShadowCache,
    /// The metric families every snapshot records into.
    pub metrics: Arc<Metrics>,
}

// === impl Trigger ===

impl Trigger {
    /// Its name, as serialized and as the `trigger` label of `gateway_reloads_total`.
    pub fn label(self) -> TriggerName {
        match self {
            Self::Startup => "startup",
            Self::File => "file",
            Self::Sighup => "sighup",
            Self::Admin => "admin",
        }
    }
}

// === impl Snapshot ===

impl Snapshot {
    /// A snapshot of `loaded`, taking its upstreams' clients from `clients` (pooled ones are
    /// reused while an upstream's address and connect timeout stay the same, and clients no
    /// upstream uses any more are dropped from the cache).
    pub fn build(loaded: Loaded, clients: &mut ClientCache, trigger: Trigger) -> Self {
        Self::build_with(loaded, clients, &mut EdgeCache::default(), trigger)
    }

    /// [`Snapshot::build`], also keeping issuers' keys and routes' limiter state from
    /// `edge` where their configuration is unchanged.
    pub fn build_with(
        loaded: Loaded,
        clients: &mut ClientCache,
        edge: &mut EdgeCache,
        trigger: Trigger,
    ) -> Self {
        let keys = loaded
            .table
            .issuers()
            .iter()
            .map(|i| edge.keys.store_for(i))
            .collect();
        edge.keys.retain(loaded.table.issuers());
        let limiters = loaded
            .table
            .routes()
            .iter()
            .map(|r| edge.limiters.limiter_for(r))
            .collect();
        edge.limiters.retain(loaded.table.routes());
        let table = &loaded.table;
        let shadows = table
            .routes()
            .iter()
            .map(|r| {
                r.shadow.as_ref()?;
                let stats = edge.shadows.stats_for(r);
                ShadowState::build(r, table, stats).map(Arc::new)
            })
            .collect();
        edge.shadows.retain(table.routes());
        let upstream_clients = loaded
            .table
            .upstreams()
            .iter()
            .map(|u| clients.clients_for(u))
            .collect();
        clients.retain(loaded.table.upstreams());
        let openapi = crate::openapi::served_bytes(&loaded.table);
        let metrics = edge.metrics.for_table(&loaded.table);
        Self {
            metrics,
            openapi,
            table: loaded.table,
            clients: upstream_clients,
            version: loaded.version,
            loaded_at: OffsetDateTime::now_utc(),
            trigger,
            keys,
            limiters,
            shadows,
            handovers: Mutex::new(Vec::new()),
            hold: None,
        }
    }

    /// Holds requests as `hold` says until its gate opens; set before the swap.
    pub fn with_hold(mut self, hold: Option<Hold>) -> Self {
        self.hold = hold;
        self
    }

    /// The gate a request of route `index` sent to `upstream` waits on before it is
    /// dispatched, while the hand-over that moved the route is catching up.
    pub fn held(&self, index: usize, upstream: UpstreamId) -> Option<&Gate> {
        self.hold.as_ref()?.gate_for(index, upstream)
    }

    /// The hand-overs of the swap that brought this table in, as they stand.
    pub fn handovers(&self) -> Vec<Handover> {
        self.handovers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Records the hand-overs of this table's swap.
    pub fn record_handovers(&self, handovers: &[Handover]) {
        handovers.clone_into(
            &mut self
                .handovers
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
    }

    /// The key store of issuer `index` (of `table.issuers()`).
    pub fn keys(&self, index: usize) -> Option<&Arc<KeyStore>> {
        self.keys.get(index)
    }

    /// The limiter of route `index` (of `table.routes()`), if it has a limit.
    pub fn limiter(&self, index: usize) -> Option<&Limiter> {
        self.limiters.get(index).and_then(Option::as_deref)
    }

    /// The shadow of route `index` (of `table.routes()`), if it has one.
    pub fn shadow(&self, index: usize) -> Option<&Arc<ShadowState>> {
        self.shadows.get(index).and_then(Option::as_ref)
    }

    /// Reads every issuer's keys that are not held yet (URL sources, at startup).
    pub async fn prefetch_keys(&self) {
        for store in &*self.keys {
            store.prefetch().await;
        }
    }

    /// The client worker `worker` uses for upstream `id`.
    pub fn client(&self, worker: usize, id: UpstreamId) -> &UpstreamClient {
        let per_worker = &self.clients[id.index()];
        // Every upstream has one client per worker (built together); the modulo only
        // guards against a worker count that changed, which it never does while running.
        &per_worker[worker % per_worker.len()]
    }
}
