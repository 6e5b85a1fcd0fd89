//! Operational endpoints every service serves: `/healthz`, `/readyz`, `/openapi.json` and
//! Swagger UI at `/docs` (assets vendored into the binary).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::extract::Json;
use crate::problem::Problem;

type Check = dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync;

/// How a service tells whether it can serve: for a store, a trivial query.
#[derive(Clone)]
pub struct Readiness(Arc<Check>);

/// The body of `/healthz` and of a successful `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

// === impl Readiness ===

impl Readiness {
    /// Ready when `check` succeeds; its error text becomes the 503's detail.
    pub fn new<F, Fut>(check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        Self(Arc::new(move || Box::pin(check())))
    }

    /// Ready while `db` answers a trivial query; `what` names it in the 503's detail.
    #[cfg(feature = "db")]
    pub fn database(db: crate::store::Db, what: &'static str) -> Self {
        Self::new(move || {
            let db = db.clone();
            async move {
                if db.ping().await {
                    Ok(())
                } else {
                    Err(format!("the {what} database is unreachable"))
                }
            }
        })
    }

    /// Always ready: for services without dependencies.
    pub fn always() -> Self {
        Self::new(|| async { Ok(()) })
    }
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Readiness")
    }
}

/// Liveness: the process serves HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    operation_id = "getHealth",
    responses((status = 200, description = "The process is alive", body = Status))
)]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// Readiness: the service can reach what it needs (its database).
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    operation_id = "getReadiness",
    responses(
        (status = 200, description = "Ready to serve", body = Status),
        (status = 503, description = "A dependency is unreachable", body = Problem,
            content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
async fn readyz(State(readiness): State<Readiness>) -> Response {
    match (readiness.0)().await {
        Ok(()) => Json(Status { status: "ok" }).into_response(),
        Err(why) => Problem::unavailable(why, 1).into_response(),
    }
}

/// The ops routes and their OpenAPI description, to merge into a service's router.
pub fn routes<S: Clone + Send + Sync + 'static>(readiness: Readiness) -> OpenApiRouter<S> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .with_state(readiness)
}

/// Serves `spec` at `/openapi.json` and Swagger UI for it at `/docs`, with its `servers`
/// the relative `/` ([`crate::openapi::served`]), so "Try it out" calls this server
/// whatever port it listens on.
pub fn docs(spec: OpenApi) -> Router {
    Router::new().merge(SwaggerUi::new("/docs").url("/openapi.json", crate::openapi::served(spec)))
}
