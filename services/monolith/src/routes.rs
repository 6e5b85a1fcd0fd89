//! The HTTP API: one module per resource, merged here with the ops routes. Paths,
//! parameters, bodies and problems are those of the users, friends, messages and timeline
//! services.

mod friends;
mod messages;
mod timeline;
mod users;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use friends::{FriendPath, FriendsQuery};
pub use messages::{CreateMessage, LatestMessages, LatestQuery, PageQuery};
pub use timeline::TimelineQuery;
pub use users::{CreateUser, IdsQuery, UpdateUser, UsersByIds};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "monolith",
        description = "The legacy monolith: users, friendships and messages in one database \
            with foreign keys, and each user's timeline computed by one SQL query. Serves the \
            same paths, parameters, bodies and problems as the users, friends, messages and \
            timeline services, which are carved out of it.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8085", description = "Default local address")),
    // The `data` of the feed's friendship events.
    components(schemas(crate::domain::Friendship)),
    tags(
        (name = "users", description = "User profiles"),
        (name = "friends", description = "Friendships between users"),
        (name = "messages", description = "Messages and their authors"),
        (name = "timeline", description = "Composite timelines"),
        (name = "ops", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub(crate) fn router(readiness: kit::ops::Readiness) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(users::router())
        .merge(friends::router())
        .merge(messages::router())
        .merge(timeline::router())
        .merge(kit::ops::routes(readiness))
}
