//! The messages service: short messages by author, each service owning its own database.
//!
//! # Layout
//!
//! - `main.rs`: `kit::service::main` reads the [`Config`] and calls [`run`].
//! - [`routes`]: handlers with their OpenAPI description; thin, they parse and delegate.
//! - [`domain`]: validated text and counts, the [`domain::Message`] type, paging and the
//!   per-author grouping of the bulk read; no I/O.
//! - [`store`]: the messages table and its index on SQLite or PostgreSQL.
//! - [`error`]: every failure and the problem+json it becomes.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;
pub mod store;

use std::future::Future;

use axum::Router;
use kit::layers::Limits;
use kit::ops::Readiness;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;

pub use config::Config;
pub use state::AppState;
pub use store::Store;

/// The whole service as a router: API, ops endpoints, docs, and the standard layers.
pub fn app(state: AppState, limits: &Limits) -> Router {
    let readiness = Readiness::database(state.store.db().clone(), "messages");
    kit::service::app(routes::router(readiness), state, limits)
}

/// The OpenAPI description of [`app`].
pub fn openapi() -> OpenApi {
    kit::service::openapi(routes::router(Readiness::always()))
}

/// Opens the store, fills it with the demo world when asked, and serves on `listener` until
/// `shutdown` completes; requests in flight finish first.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    kit::service::serve_store(&config.store, listener, shutdown, |store, limits| {
        app(AppState { store }, limits)
    })
    .await
}

/// Binds the configured address, then [`serve`]s.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    kit::service::run(config.store.listen, |listener| {
        serve(config, listener, shutdown)
    })
    .await
}
