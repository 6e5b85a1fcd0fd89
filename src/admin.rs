//! The admin API, on its own listener (loopback by default), optionally behind a bearer
//! token:
//!
//! - `GET /admin/routes`: the active table, its version and load time, and the last
//!   rejected load with its errors.
//! - `POST /admin/reload`: load the routes file now; 200 with the version, or 422 with
//!   every error and the old table still serving.
//! - `GET /admin/stats`: request totals per route and upstream, for the migration page.
//! - `GET /metrics`: Prometheus metrics (OpenMetrics text), behind the same token.
//! - `GET /admin/`: the migration page (no token needed to load it: it holds no data, and
//!   asks for the token to send on its own requests).
//! - `GET /admin/shadow`: each shadowed route's comparison counters, noise fields and
//!   latest differences.
//! - `GET /healthz`: the process is up.
//! - `GET /openapi.json` and `GET /docs`: this API's spec and Swagger UI for it (no token
//!   needed: the spec holds no secrets).

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use secrecy::SecretString;

pub mod metrics;
pub mod routes;
pub mod shadow;
pub mod spec;
pub mod view;

pub use routes::AdminState;
pub use shadow::ShadowsView;
pub use view::{RouteView, RoutesView, SettingsView, UpstreamView};

use crate::proxy::Bound;
use crate::reload::Reloader;

/// Builds the admin router (with kit's standard stack: request ids, tracing, problems),
/// reporting the proxy's `bound` in its metrics.
pub fn router(reloader: Arc<Reloader>, token: Option<SecretString>, bound: Arc<Bound>) -> Router {
    let state = AdminState::new(reloader, token, bound);
    let routes = Router::new()
        .route("/admin/routes", get(routes::get_routes))
        .route("/admin/reload", post(routes::reload))
        .route("/admin/stats", get(metrics::get_stats))
        // Scrapers send the token as a bearer token too (Prometheus: `authorization`).
        .route("/metrics", get(metrics::get_metrics))
        .route("/admin/shadow", get(routes::get_shadow))
        .route("/admin/replication", get(routes::get_replication))
        // On the `/admin` routes only, so `/healthz` stays open and unknown paths are 404s.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::require_token,
        ))
        .route("/healthz", get(routes::healthz))
        .route("/admin/", get(routes::page))
        .route(
            "/admin",
            get(|| async { axum::response::Redirect::permanent("/admin/") }),
        )
        .with_state(state)
        .merge(kit::ops::docs(spec::openapi()));
    kit::layers::apply(routes, &kit::layers::Limits::default())
}
