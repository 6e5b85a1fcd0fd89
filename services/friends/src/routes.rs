//! The HTTP API: one module per resource, merged here with the ops routes.

mod friends;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use friends::{FriendPath, PageQuery};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "friends",
        description = "The friendship graph. Owns the friends database; the only way to it. \
            Friendship is symmetric: befriending stores both directions, unfriending removes \
            both. The service knows user ids, never names, and never checks that a user \
            exists (the users service owns users). `GET /users/{id}/friends` pages through \
            one user's friend ids in ascending order for composers such as the timeline \
            service.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8082", description = "Default local address")),
    tags(
        (name = "friends", description = "Friendships between users, by id"),
        (name = "ops", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub(crate) fn router(readiness: kit::ops::Readiness) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(friends::router())
        .merge(kit::ops::routes(readiness))
}
