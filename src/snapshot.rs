//! What the proxy reads: a [`Snapshot`] is one compiled route table together with the
//! pooled clients of its upstreams and the merged OpenAPI spec it serves. Snapshots are
//! immutable; a reload builds a new one and swaps it in whole, so a request reads one
//! consistent snapshot from arrival to answer.

use bytes::Bytes;
use serde::Serialize;
use time::OffsetDateTime;

pub mod client;

pub use client::{ClientCache, UpstreamClient};

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
}

// === impl Snapshot ===

impl Snapshot {
    /// A snapshot of `loaded`, taking its upstreams' clients from `clients` (pooled ones are
    /// reused while an upstream's address and connect timeout stay the same, and clients no
    /// upstream uses any more are dropped from the cache).
    pub fn build(loaded: Loaded, clients: &mut ClientCache, trigger: Trigger) -> Self {
        let upstream_clients = loaded
            .table
            .upstreams()
            .iter()
            .map(|u| clients.clients_for(u))
            .collect();
        clients.retain(loaded.table.upstreams());
        let openapi = crate::openapi::served_bytes(&loaded.table);
        Self {
            openapi,
            table: loaded.table,
            clients: upstream_clients,
            version: loaded.version,
            loaded_at: OffsetDateTime::now_utc(),
            trigger,
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
