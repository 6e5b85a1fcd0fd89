//! The HTTP API: one module per resource, merged here with the ops routes.

mod users;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use users::{CreateUser, IdsQuery, UpdateUser, UsersByIds};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "users",
        description = "User profiles. Owns the users database; the only way to it. \
            `GET /users?ids=…` reads up to 500 profiles in one call for composers such as the \
            timeline service.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8081", description = "Default local address")),
    tags(
        (name = "users", description = "User profiles"),
        (name = "ops", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub(crate) fn router(readiness: kit::ops::Readiness) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(users::router())
        .merge(kit::ops::routes(readiness))
}
