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
pub use with_store::{ServiceStore, serve_store};

#[cfg(feature = "db")]
mod with_store {
    use std::future::Future;

    use axum::Router;
    use tokio::net::TcpListener;

    use crate::cli::StoreArgs;
    use crate::demo::World;
    use crate::layers::Limits;
    use crate::store::Db;

    /// A service's storage as its start-up and its tests see it: opened from a URL, filled
    /// with the demo world, closed after serving. Cloning is shallow.
    ///
    /// Every store has these as inherent methods, so their callers need no trait in scope;
    /// [`service_store!`](crate::service_store) implements this trait by them.
    pub trait ServiceStore: Clone + Send + Sync + Sized + 'static {
        /// Connects to `url` (creating the SQLite file or the PostgreSQL database when
        /// missing) and applies the schema.
        fn open(url: &str) -> impl Future<Output = anyhow::Result<Self>> + Send;

        /// Fills an empty store with `world`; a store that already holds data is left
        /// alone.
        fn fill_demo(&self, world: &World) -> impl Future<Output = anyhow::Result<()>> + Send;

        /// The database, for readiness checks and shutdown.
        fn db(&self) -> &Db;
    }

    /// Opens the store `args` names, fills it with the demo world when `args` asks, and
    /// serves `app(store, limits)` on `listener` until `shutdown` completes; requests in
    /// flight finish, then the database is closed.
    pub async fn serve_store<S, A>(
        args: &StoreArgs,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        app: A,
    ) -> anyhow::Result<()>
    where
        S: ServiceStore,
        A: FnOnce(S, &Limits) -> Router,
    {
        let store = S::open(&args.database_url).await?;
        if let Some(spec) = &args.demo {
            store.fill_demo(&World::new(spec.clone())).await?;
        }
        let served = crate::server::serve(listener, app(store.clone(), &args.limits), shutdown);
        let result = served.await;
        store.db().close().await;
        Ok(result?)
    }
}

/// Makes `$store`, a struct whose one field is `db: Db`, the store of the schema
/// `$migrations`: its inherent `open` (connect, then migrate) and `db`, and
/// [`ServiceStore`] by those and the store's own `fill_demo` (whatever that reports).
///
/// ```text
/// #[derive(Debug, Clone)]
/// pub struct Store {
///     db: Db,
/// }
///
/// kit::service_store!(Store, MIGRATIONS); // MIGRATIONS: Migrations = kit::migrations!()
/// ```
#[cfg(feature = "db")]
#[macro_export]
macro_rules! service_store {
    ($store:ident, $migrations:expr) => {
        impl $store {
            /// Connects to `url` (creating the SQLite file or the PostgreSQL database when
            /// missing) and applies the schema.
            pub async fn open(url: &str) -> ::anyhow::Result<Self> {
                let db = $crate::store::Db::connect(url, $migrations).await?;
                Ok(Self { db })
            }

            /// The database, for readiness checks, plans and shutdown.
            pub fn db(&self) -> &$crate::store::Db {
                &self.db
            }
        }

        impl $crate::service::ServiceStore for $store {
            fn open(
                url: &str,
            ) -> impl ::std::future::Future<Output = ::anyhow::Result<Self>> + Send {
                // Inherent associated functions take precedence: this is the store's own.
                <$store>::open(url)
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
        }
    };
}
