//! The shared kit of every service: the mechanisms they must not each reinvent, and no wire
//! types (each service owns its own).
//!
//! # Layout
//!
//! - [`problem`]: RFC 9457 problem+json bodies and the middleware that makes every error one.
//! - `feed` (feature `db`): the transactional outbox served as a change feed, followers of
//!   other services' feeds, and the same feeds on NATS JetStream.
//! - [`extract`]: `Json`, `Path` and `Query` whose rejections are problems; a body read
//!   and ignored.
//! - [`etag`]: strong `ETag`s from an answer's content, `If-None-Match` and its 304.
//! - [`fields`]: body fields: `null` told from absent, every refused field in one 422.
//! - [`auth`]: the caller the gateway verified (`x-authenticated-user`), and the trust
//!   boundary that makes the header safe to read.
//! - [`ids`]: typed positive ids and the `ids=1,2,3` list syntax.
//! - [`params`]: bounded integer query parameters (`limit`, `per_author`, …), one wording.
//! - [`layers`]: the tower stack (request id, tracing, timeout, load shedding, body limit).
//! - [`service`]: a service's app from its API router, its spec, and serving it (with a
//!   store: open, demo fill, serve, close).
//! - [`server`], [`shutdown`]: binding with clear errors; graceful SIGINT/SIGTERM shutdown.
//! - [`cli`]: flags that also read `PREFIX_FLAG` environment variables.
//! - `store` (feature `db`, on by default): SQLite/PostgreSQL URLs, pools and embedded
//!   migrations.
//! - [`demo`]: the deterministic demo world every store can be filled with.
//! - [`timestamp`]: instants as stored (microseconds) and shown (RFC 3339).
//! - [`openapi`]: the generic error responses every operation documents.
//! - [`ops`]: `/healthz`, `/readyz`, `/openapi.json`, `/docs`.
//! - [`telemetry`]: logging set-up.
//! - `test_util` (feature `test-util`): a service with its store on an ephemeral port,
//!   problem assertions, and throwaway databases.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]
#![warn(missing_docs)]

pub mod auth;
pub mod cli;
pub mod demo;
pub mod etag;
pub mod extract;
#[cfg(feature = "db")]
pub mod feed;
pub mod fields;
pub mod ids;
pub mod layers;
pub mod openapi;
pub mod ops;
pub mod params;
pub mod problem;
pub mod server;
pub mod service;
pub mod shutdown;
#[cfg(feature = "db")]
pub mod store;
pub mod telemetry;
pub mod timestamp;

#[cfg(any(test, feature = "test-util"))]
#[allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
pub mod test_util;
