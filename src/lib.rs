//! The Strangler-Fig gateway: every client calls it, and routes.yaml decides, route by
//! route, whether the monolith or a new service answers. The table is swapped live while
//! traffic flows.
//!
//! # Layout
//!
//! Bottom to top; a module uses only those listed before it.
//!
//! - [`table`]: the route table: routes.yaml parsed, validated with every error at
//!   line:column, compiled into an immutable [`table::RouteTable`]; path hygiene and
//!   matching in [`table::matcher`].
//! - [`handover`]: hand-over at a swap: which upstreams a reload moves requests between
//!   ([`handover::diff`]), and the wait for each new side to have applied the old side's
//!   change feed up to its head ([`handover::wait`]).
//! - [`openapi`]: the specs as plain data: the checked-in service specs embedded in the
//!   binary, merging them for a table, comparing, rendering, checking files.
//! - [`metrics`]: the Prometheus families the proxy and reloads count into, with each
//!   table's label sets resolved once ([`metrics::TableMetrics`]).
//! - [`snapshot`]: what the proxy reads: a [`snapshot::Snapshot`] of one table with its
//!   upstreams' pooled clients ([`snapshot::client`]), its issuers' keys
//!   ([`snapshot::keys`]), its routes' rate limiters ([`snapshot::limits`]), its metrics'
//!   label sets and its served spec.
//! - [`proxy`]: one request against the snapshot active at its arrival: resolve, forward,
//!   answer, behind the stack every request passes ([`proxy::stack`]: request id, span,
//!   concurrency bound, panic catcher); the gateway's own failures as problem+json
//!   ([`proxy::error`]), header policy ([`proxy::headers`]), bearer tokens and owners
//!   ([`proxy::auth`]), rate limits ([`proxy::limit`]), `/openapi.json` ([`proxy::spec`]).
//! - [`reload`]: builds and swaps snapshots: file watch, SIGHUP and admin reloads, one
//!   code path.
//! - [`server`]: the proxy listener (thread per core, hyper HTTP/1.1, graceful stop).
//! - [`admin`]: `GET /admin/routes`, `POST /admin/reload`, `GET /metrics`, `GET /admin/stats`,
//!   the migration page at `GET /admin/`, and the admin API's own spec.
//! - [`check`]: the one-screen summary of `gateway check`.
//! - [`sync`]: `gateway sync verify`, the monolith's data compared with the services' by
//!   replaying their change feeds.
//! - [`startup`]: wires `serve` together; [`token`]: the demo signing key and its tokens
//!   (`gateway token`); [`cli`]: the command line.
//! - `up`: `gateway up`, the whole system in one process for one machine, and `specs`:
//!   `gateway openapi`, every checked-in spec generated from the code. Both need the
//!   service crates and exist only with the `services` feature (on by default); without
//!   it the crate is the proxy alone.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod admin;
pub mod check;
pub mod cli;
pub mod handover;
pub mod metrics;
pub mod openapi;
pub mod proxy;
pub mod reload;
pub mod server;
pub mod snapshot;
#[cfg(feature = "services")]
pub mod specs;
pub mod startup;
pub mod sync;
pub mod table;
pub mod token;
#[cfg(feature = "services")]
pub mod up;
