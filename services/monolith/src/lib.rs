//! The monolith: the legacy system the services are carved out of, and the oracle they are
//! checked against. One process, one database holding users, friendships and messages in
//! related tables with foreign keys; every endpoint of the users, friends, messages and
//! timeline services at the same paths with the same answers; the timeline computed by one
//! SQL query in the database.
//!
//! # Layout
//!
//! - `main.rs`: `kit::service::main` reads the [`Config`] and calls [`run`].
//! - [`routes`]: handlers with their OpenAPI description, one module per resource; thin,
//!   they check the body and delegate.
//! - [`domain`]: the monolith's own rules (one text rule for names and message texts,
//!   avatar URLs, counts and cursors, friendship pairs) and the types it answers with; no
//!   I/O.
//! - [`store`]: the tables on SQLite or PostgreSQL, read straight into the domain's types;
//!   the timeline SQL, the demo fill.
//! - [`error`]: every failure and the problem+json it becomes.
//!
//! It shares no code with the services but the kit: the equivalence test holds two
//! implementations of one contract to the same answers.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;
pub mod store;

use std::future::Future;

use axum::Router;
use kit::feed::api::FeedApi;
use kit::feed::metrics::Followers;
use kit::layers::Limits;
use kit::ops::Readiness;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;

pub use config::Config;
pub use state::AppState;
pub use store::Store;

/// The entity types of the change feed, with the schema of each one's `data`.
const EVENTS: &[(&str, &str)] = &[
    (store::USER_EVENT, "User"),
    (store::FRIENDSHIP_EVENT, "Friendship"),
    (store::MESSAGE_EVENT, "Message"),
];

/// The whole monolith as a router: API, ops endpoints, docs, and the standard layers.
pub fn app(state: AppState, limits: &Limits) -> Router {
    let feed = FeedApi::new(state.store.feed().clone(), Followers::default(), |_| {});
    app_with(state, feed, limits)
}

/// [`app`] with the feed routes' state `feed` (the service's followers and metrics).
pub fn app_with(state: AppState, feed: FeedApi, limits: &Limits) -> Router {
    let readiness = Readiness::database(state.store.db().clone(), "monolith");
    kit::service::app_with_feed(routes::router(readiness), state, feed, EVENTS, limits)
}

/// The OpenAPI description of [`app`].
pub fn openapi() -> OpenApi {
    kit::service::openapi_with_feed(routes::router(Readiness::always()), "monolith", EVENTS)
}

/// Opens the store, fills it with the demo world when asked, and serves on `listener` until
/// `shutdown` completes; requests in flight finish first.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    kit::service::serve_store(
        &config.store,
        listener,
        shutdown,
        |store: Store, running| {
            let feed = running.feed_api(store.feed(), |_| {});
            let state = AppState {
                store,
                users_replica: running.followers.of("users"),
            };
            app_with(state, feed, &running.limits)
        },
    )
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
