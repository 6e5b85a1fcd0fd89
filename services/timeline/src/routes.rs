//! The HTTP API: the timeline, its metrics, and the ops routes.

mod metrics;
mod timeline;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use timeline::TimelineQuery;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "timeline",
        description = "The timeline of a user: the latest message(s) of each friend, with the \
            friend's name and avatar. Composed from the users, friends and messages services \
            with bulk reads; owns no data. Deleted friends are reported in `missing_friends`; a \
            failing users or messages service degrades the answer (named in `degraded`) \
            instead of failing it. Every answer carries `Server-Timing`.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8084", description = "Default local address")),
    tags(
        (name = "timeline", description = "Composite timelines"),
        (name = "ops", description = "Liveness, readiness and metrics"),
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(timeline::router())
        .merge(metrics::router())
        // Always ready: the service holds no state, and a dependency's outage is answered
        // by degrading, which needs this instance in rotation.
        .merge(kit::ops::routes(kit::ops::Readiness::always()))
}
