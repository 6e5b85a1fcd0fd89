//! The friends service: who is friends with whom, each service owning its own database.
//!
//! Friendship is symmetric. The service knows user ids, never names. With `--users-url` it
//! follows the users service's change feed: it keeps the ids of the users that exist (in
//! its own database), refuses a friendship naming another id, and deletes a deleted user's
//! friendships, each deletion in its own feed. Without it, any ids are stored and a friend
//! id may name a user deleted elsewhere (composers treat such ids as missing).
//!
//! # Layout
//!
//! - `main.rs`: `kit::service::main` reads the [`Config`] and calls [`run`].
//! - [`routes`]: handlers with their OpenAPI description; thin, they parse and delegate.
//! - [`domain`]: the [`domain::Friendship`] pair, paging rules and the
//!   [`domain::FriendList`] page; no I/O.
//! - [`store`]: the friendships table on SQLite or PostgreSQL.
//! - [`error`]: every failure and the problem+json it becomes.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod config;
pub mod domain;
pub mod error;
pub mod routes;
pub mod state;
pub mod store;

use std::future::Future;

use std::time::Duration;

use axum::Router;
use kit::feed::FollowOptions;
use kit::feed::api::FeedApi;
use kit::feed::known::{Gate, Known};
use kit::feed::metrics::Followers;
use kit::layers::Limits;
use kit::ops::Readiness;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;

pub use config::Config;
pub use state::AppState;
pub use store::Store;

/// The entity types of the change feed, with the schema of each one's `data`.
const EVENTS: &[(&str, &str)] = &[("friendship", "Friendship")];

/// This service's name as a follower of the users feed.
pub const CONSUMER: &str = "friends";

/// The whole service as a router: API, ops endpoints, docs, and the standard layers.
pub fn app(state: AppState, limits: &Limits) -> Router {
    let feed = FeedApi::new(state.store.feed().clone(), Followers::default(), |_| {});
    app_with(state, feed, limits)
}

/// [`app`] with the feed routes' state `feed` (the service's followers and metrics).
pub fn app_with(state: AppState, feed: FeedApi, limits: &Limits) -> Router {
    let readiness = Readiness::database(state.store.db().clone(), "friends");
    kit::service::app_with_feed(routes::router(readiness), state, feed, EVENTS, limits)
}

/// The OpenAPI description of [`app`].
pub fn openapi() -> OpenApi {
    kit::service::openapi_with_feed(routes::router(Readiness::always()), "friends", EVENTS)
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
            let users = config
                .users_url
                .as_deref()
                .map(|url| follow_users(&store, running, url, config.known_users_wait));
            let feed = running.feed_api(store.feed(), |_| {});
            app_with(AppState { store, users }, feed, &running.limits)
        },
    )
    .await
}

/// Follows the users feed of the service at `url` (or on the running service's bus): keeps
/// the known users and deletes a deleted user's friendships. The gate answers whether a user
/// exists, waiting up to `wait` for the feed's head.
pub fn follow_users(
    store: &Store,
    running: &kit::service::Running,
    url: &str,
    wait: Duration,
) -> Gate {
    let known = Known::new(store.feed(), CONSUMER, "user");
    let follower = running.follow(
        url,
        known.with_cascade(store::RemoveFriendships),
        FollowOptions::new(CONSUMER, "users").entities(&["user"]),
    );
    known.gate(follower, wait)
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
