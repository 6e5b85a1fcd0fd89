//! The Strangler-Fig gateway: every client calls it, and routes.yaml decides, route by
//! route, whether the monolith or a new service answers. The table is swapped live while
//! traffic flows.
//!
//! # Layout
//!
//! A request's path through the code, in order:
//!
//! - [`cli`]: `gateway serve` and `gateway check`; [`startup`] wires `serve` together.
//! - [`server`]: the proxy listener (hyper HTTP/1.1, keep-alive, graceful stop).
//! - [`proxy`]: resolve against the active table, forward through a pooled client, map
//!   the gateway's own failures to problem+json ([`proxy::error`]), header policy
//!   ([`proxy::headers`]), one client pool per upstream ([`proxy::client`]).
//! - [`table`]: the route table: routes.yaml parsed, validated with every error at
//!   line:column, compiled into an immutable [`table::RouteTable`]; path hygiene and
//!   matching in [`table::matcher`].
//! - [`reload`]: file watch, SIGHUP and admin reloads, one code path, atomic swaps.
//! - [`admin`]: `GET /admin/routes`, `POST /admin/reload`.
//! - [`check`]: the one-screen summary of `gateway check`.
//! - [`up`]: `gateway up`, the whole system in one process for one machine.
//! - [`openapi`]: the checked-in specs (`gateway openapi`), the admin API's spec, and the
//!   merged spec of the active table served at `/openapi.json`.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod admin;
pub mod check;
pub mod cli;
pub mod openapi;
pub mod proxy;
pub mod reload;
pub mod server;
pub mod startup;
pub mod table;
pub mod up;
