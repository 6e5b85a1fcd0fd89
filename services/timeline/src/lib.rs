//! The timeline service: for a user, the latest message(s) of each friend with that friend's
//! name and avatar. It owns no data: it answers from a live view it builds in memory from
//! the users, friends and messages services' change feeds, and composes from those services
//! over HTTP while the view builds, lags, or cannot answer exactly. It reads the others with
//! its own tolerant views.
//!
//! # Layout
//!
//! - `main.rs`: `kit::service::main` reads the [`Config`] and calls [`run`].
//! - [`routes`]: `GET /timeline/{user_id}`, `/metrics`, ops; thin handlers.
//! - [`timelines`]: per request, the view's answer or a composed one.
//! - [`view`]: the live view: its followers, their health, read-your-writes, repairs.
//! - [`engine`]: the fan-out within a deadline: friends list, then messages and profiles.
//! - [`profiles`]: the profile cache (fresh, stale fallback, coalesced bulk loads, changes
//!   learned from the users feed).
//! - [`clients`]: one [`clients::Downstream`] per service and the views read from them.
//! - [`domain`]: the timeline types, the join (`rank`, `assemble`) and the view's data
//!   ([`domain::View`]), pure functions.
//! - [`metrics`], [`timing`]: Prometheus metrics and the `Server-Timing` header.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod clients;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod profiles;
pub mod routes;
pub mod state;
pub mod timelines;
pub mod timing;
pub mod view;

use std::future::Future;

use axum::Router;
use kit::layers::Limits;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;

pub use config::Config;
pub use state::AppState;

/// The whole service as a router: API, metrics, ops endpoints, docs, standard layers.
pub fn app(state: AppState, limits: &Limits) -> Router {
    kit::service::app(routes::router(), state, limits)
}

/// The OpenAPI description of [`app`].
pub fn openapi() -> OpenApi {
    kit::service::openapi(routes::router())
}

/// Serves on `listener` until `shutdown` completes; requests in flight finish first. The
/// view's followers stop with the server.
pub async fn serve(
    mut config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // The port actually bound names the view's follower (port 0 picks one).
    config.listen = listener.local_addr()?;
    let state = AppState::start(&config).await?;
    kit::server::serve(listener, app(state, &config.limits), shutdown).await?;
    Ok(())
}

/// Binds the configured address, then [`serve`]s.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    kit::service::run(config.listen, |listener| serve(config, listener, shutdown)).await
}
