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
            both. The service knows user ids, never names; the users service owns users. \
            Run with `--users-url`, it follows the users feed: a friendship naming a user \
            that feed does not hold is refused (404), and a deleted user's friendships are \
            deleted. `GET /users/{id}/friends` pages through one user's friend ids in \
            ascending order for composers such as the timeline service. Every write's \
            event is on `GET /changes` (entity `friendship`, subject `LOW-HIGH`).",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8082", description = "Default local address")),
    components(schemas(crate::domain::FriendshipData)),
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
