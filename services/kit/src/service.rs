//! A service's whole life in a few calls: its app from its API router (ops endpoints, docs
//! and the standard layers around it), its finished OpenAPI description, serving it, and
//! the binary's `main`.
//!
//! A service with a database implements [`ServiceStore`] for its store; [`serve_store`]
//! then opens the store, fills it with the demo world when asked, serves until shutdown
//! and closes the database once the last request has finished.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::layers::Limits;

/// The whole service as a router: `api` with its state, `/openapi.json` and `/docs` for its
/// finished description, all inside the standard layers.
pub fn app<S>(api: OpenApiRouter<S>, state: S, limits: &Limits) -> Router
where
    S: Clone + Send + Sync + 'static,
{
    let (router, spec) = api.split_for_parts();
    let router = router
        .with_state(state)
        .merge(crate::ops::docs(crate::openapi::finished(spec)));
    crate::layers::apply(router, limits)
}

/// The whole service as a router, like [`app`], with its change feed's routes
/// (`/changes`, `/feeds`, `/metrics`) served from `feed`; `events` names, for each entity
/// type of the feed, the schema of its `data` (see [`openapi_with_feed`]).
#[cfg(feature = "db")]
pub fn app_with_feed<S>(
    api: OpenApiRouter<S>,
    state: S,
    feed: crate::feed::api::FeedApi,
    events: &[(&str, &str)],
    limits: &Limits,
) -> Router
where
    S: Clone + Send + Sync + 'static,
{
    let (router, spec) = api.split_for_parts();
    let (feed_router, _) =
        crate::feed::api::routes::<crate::feed::api::FeedApi>().split_for_parts();
    let spec = crate::feed::api::document(spec, feed.feed.source(), events);
    let router = router
        .with_state(state)
        .merge(feed_router.with_state(feed))
        .merge(crate::ops::docs(crate::openapi::finished(spec)));
    crate::layers::apply(router, limits)
}

/// The finished OpenAPI description of `api` with the change feed's routes, whose events
/// are described per entity type (see [`crate::feed::api::document`]): the feed of `source`,
/// whose `events` map each entity (`user`) to the component
/// schema of its `data` (`User`).
#[cfg(feature = "db")]
pub fn openapi_with_feed<S>(api: OpenApiRouter<S>, source: &str, events: &[(&str, &str)]) -> OpenApi
where
    S: Clone + Send + Sync + 'static,
{
    crate::openapi::finished(crate::feed::api::document(
        api.split_for_parts().1,
        source,
        events,
    ))
}

/// The finished OpenAPI description of `api` (generic error responses added), as
/// [`app`] serves it.
pub fn openapi<S>(api: OpenApiRouter<S>) -> OpenApi
where
    S: Clone + Send + Sync + 'static,
{
    crate::openapi::finished(api.split_for_parts().1)
}

/// What stops a server gracefully: the first SIGINT or SIGTERM, for [`main`].
pub type Shutdown = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A service binary's whole `main`: its configuration `C` from the arguments and the
/// environment (a usage message and exit 2 when invalid), logging, then `run` until SIGINT
/// or SIGTERM; a failure is one line on stderr, `{name}: …`, and exit code 1.
pub async fn main<C, F, Fut>(name: &str, run: F) -> std::process::ExitCode
where
    C: crate::cli::ServiceConfig,
    F: FnOnce(C, Shutdown) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = C::from_env();
    crate::telemetry::init();
    let shutdown: Shutdown = Box::pin(crate::shutdown::signal());
    crate::cli::exit_code(name, run(config, shutdown).await)
}

/// Binds `listen` (a taken port is one clear error), then runs `serve` on the listener.
pub async fn run<F, Fut>(listen: SocketAddr, serve: F) -> anyhow::Result<()>
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let listener = crate::server::bind(listen).await?;
    serve(listener).await
}

#[cfg(feature = "db")]
pub use with_store::{Running, ServiceStore, serve_store};

#[cfg(feature = "db")]
mod with_store {
    use std::future::Future;
    use std::time::Duration;

    use axum::Router;
    use tokio::net::TcpListener;
    use tokio_util::sync::CancellationToken;

    use crate::cli::FeedSource;
    use crate::cli::StoreArgs;
    use crate::demo::World;
    use crate::feed::api::{FeedApi, MAX_WAIT};
    use crate::feed::metrics::Followers;
    use crate::feed::nats::Bus;
    use crate::feed::replicate::{Replica, Replicator};
    use crate::feed::{Consumer, Feed, FeedOptions, FollowOptions, Follower, Source};
    use crate::layers::Limits;
    use crate::store::Db;

    /// A service's storage as its start-up and its tests see it: opened from a URL with
    /// its change feed, filled with the demo world, closed after serving. Cloning is
    /// shallow.
    ///
    /// Every store has these as inherent methods, so their callers need no trait in scope;
    /// [`service_store!`](crate::service_store) implements this trait by them.
    pub trait ServiceStore: Clone + Send + Sync + Sized + 'static {
        /// Connects to `url` (creating the SQLite file or the PostgreSQL database when
        /// missing), applies the schema and opens the change feed with `feed`.
        fn open_with(
            url: &str,
            feed: FeedOptions,
        ) -> impl Future<Output = anyhow::Result<Self>> + Send;

        /// Fills an empty store with `world` (its events included); a store that already
        /// holds data is left alone.
        fn fill_demo(&self, world: &World) -> impl Future<Output = anyhow::Result<()>> + Send;

        /// The database, for readiness checks and shutdown.
        fn db(&self) -> &Db;

        /// The store's change feed.
        fn feed(&self) -> &Feed;
    }

    /// What a serving service has besides its store: its limits, its followers of other
    /// feeds, the bus its feeds travel on (when one is configured), and the token that
    /// stops its background tasks.
    #[derive(Debug)]
    pub struct Running {
        /// Request limits.
        pub limits: Limits,
        /// Every follower started through [`follow`](Self::follow).
        pub followers: Followers,
        /// JetStream, with `--feed-bus`.
        pub bus: Option<Bus>,
        /// Cancelled when the service stops.
        pub stop: CancellationToken,
        client: reqwest::Client,
    }

    // === impl Running ===

    impl Running {
        /// A service's running context with `limits`, no followers yet, and `bus` for the
        /// feeds (none: over HTTP).
        pub fn new(limits: Limits, bus: Option<Bus>) -> Self {
            Self {
                limits,
                followers: Followers::default(),
                bus,
                stop: CancellationToken::new(),
                // No TLS, a plain connector: building it cannot fail but for the system's
                // resolver configuration, which the default client reads lazily.
                client: reqwest::Client::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .build()
                    .unwrap_or_default(),
            }
        }

        /// Follows the feed of `options.source`, served at `url` (or on the bus, when there
        /// is one), handing its batches to `consumer` until the service stops.
        pub fn follow<C: Consumer>(
            &self,
            url: &str,
            consumer: C,
            options: FollowOptions,
        ) -> Follower {
            let source = match &self.bus {
                Some(bus) => Source::Nats(Box::new(bus.source(&options.source))),
                None => Source::http(url, self.client.clone()),
            };
            let follower = Follower::spawn(source, consumer, options, self.stop.clone());
            self.followers.add(follower.clone());
            follower
        }

        /// Follows `source`'s feed and applies the entities `store` holds to it, last writer
        /// winning ([`crate::feed::replicate`]); the follower is named `{this side}-from-{source}`.
        pub fn replicate<S: Replica + Clone>(&self, store: &S, source: &FeedSource) -> Follower {
            let consumer = format!("{}-from-{}", store.replica_feed().source(), source.name);
            self.follow(
                &source.url,
                Replicator::new(store.clone(), consumer.clone()),
                FollowOptions::new(consumer, source.name.clone()).entities(S::ENTITIES),
            )
        }

        /// The state of the feed routes for `feed`, with `register` adding the service's own
        /// figures to `/metrics`.
        pub fn feed_api(
            &self,
            feed: &Feed,
            register: impl FnOnce(&mut prometheus_client::registry::Registry),
        ) -> FeedApi {
            FeedApi::new(feed.clone(), self.followers.clone(), register)
        }
    }

    /// The feed options `args` asks for: its tombstone retention, and long polls kept a
    /// second below the request timeout.
    pub(super) fn feed_options(args: &StoreArgs) -> FeedOptions {
        FeedOptions {
            tombstone_retention: args.feed.tombstone_retention,
            max_wait: MAX_WAIT.min(
                args.limits
                    .request_timeout
                    .saturating_sub(Duration::from_secs(1)),
            ),
            ids: args.feed.id_slot,
            ..FeedOptions::default()
        }
    }

    /// Opens the store `args` names, fills it with the demo world when `args` asks, starts
    /// the feed's compaction (and its relay to JetStream with `--feed-bus`), and serves
    /// `app(store, running)` on `listener` until `shutdown` completes; requests in flight
    /// finish, then the background tasks stop and the database is closed.
    pub async fn serve_store<S, A>(
        args: &StoreArgs,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        app: A,
    ) -> anyhow::Result<()>
    where
        S: ServiceStore + Replica + Clone,
        A: FnOnce(S, &Running) -> Router,
    {
        let store = S::open_with(&args.database_url, feed_options(args)).await?;
        if let Some(spec) = &args.demo {
            store.fill_demo(&World::new(spec.clone())).await?;
        }
        let bus = match &args.feed.feed_bus {
            Some(url) => Some(Bus::connect(url).await?),
            None => None,
        };
        let running = Running::new(args.limits.clone(), bus);
        store.feed().spawn_compaction(running.stop.clone());
        if let Some(bus) = &running.bus {
            crate::feed::nats::spawn_relay(store.feed().clone(), bus.clone(), running.stop.clone());
        }
        for source in &args.feed.replicate_from {
            running.replicate(&store, source);
        }
        let router = app(store.clone(), &running);
        let result = crate::server::serve(listener, router, shutdown).await;
        running.stop.cancel();
        store.db().close().await;
        Ok(result?)
    }
}

/// Makes `$store`, a struct whose fields are `db: Db` and `feed: Feed`, the store of the
/// schema `$migrations` with the change feed of `$source`: its inherent `open` and
/// `open_with` (connect, migrate, open the feed), `db` and `feed`, and [`ServiceStore`] by
/// those and the store's own `fill_demo` (whatever that reports). A store with more fields
/// passes a fourth argument, a function making it from its `Db` and `Feed` (called inside
/// the runtime, so it may start tasks).
///
/// ```text
/// #[derive(Debug, Clone)]
/// pub struct Store {
///     db: Db,
///     feed: Feed,
/// }
///
/// kit::service_store!(Store, MIGRATIONS, "users"); // MIGRATIONS: Migrations = kit::migrations!()
/// ```
#[cfg(feature = "db")]
#[macro_export]
macro_rules! service_store {
    ($store:ident, $migrations:expr, $source:expr) => {
        $crate::service_store!($store, $migrations, $source, |db, feed| $store { db, feed });
    };
    // `$new` makes the store from its database and feed (a store with more fields).
    ($store:ident, $migrations:expr, $source:expr, $new:expr) => {
        impl $store {
            /// Connects to `url` (creating the SQLite file or the PostgreSQL database when
            /// missing), applies the schema and opens the change feed with its defaults.
            pub async fn open(url: &str) -> ::anyhow::Result<Self> {
                Self::open_with(url, $crate::feed::FeedOptions::default()).await
            }

            /// Like [`open`](Self::open), with the feed kept as `options` say.
            pub async fn open_with(
                url: &str,
                options: $crate::feed::FeedOptions,
            ) -> ::anyhow::Result<Self> {
                let db = $crate::store::Db::connect(url, $migrations).await?;
                let feed = $crate::feed::Feed::open(db.clone(), $source, options).await?;
                let new: fn($crate::store::Db, $crate::feed::Feed) -> Self = $new;
                Ok(new(db, feed))
            }

            /// The database, for readiness checks, plans and shutdown.
            pub fn db(&self) -> &$crate::store::Db {
                &self.db
            }

            /// The change feed every write records its events in.
            pub fn feed(&self) -> &$crate::feed::Feed {
                &self.feed
            }
        }

        impl $crate::service::ServiceStore for $store {
            fn open_with(
                url: &str,
                options: $crate::feed::FeedOptions,
            ) -> impl ::std::future::Future<Output = ::anyhow::Result<Self>> + Send {
                // Inherent associated functions take precedence: this is the store's own.
                <$store>::open_with(url, options)
            }

            fn fill_demo(
                &self,
                world: &$crate::demo::World,
            ) -> impl ::std::future::Future<Output = ::anyhow::Result<()>> + Send {
                let filled = <$store>::fill_demo(self, world);
                async move { filled.await.map(drop) }
            }

            fn db(&self) -> &$crate::store::Db {
                <$store>::db(self)
            }

            fn feed(&self) -> &$crate::feed::Feed {
                <$store>::feed(self)
            }
        }
    };
}
