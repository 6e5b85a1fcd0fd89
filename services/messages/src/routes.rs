//! The HTTP API: one module per resource, merged here with the ops routes.

mod messages;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use messages::{CreateMessage, LatestMessages, LatestQuery, PageQuery};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "messages",
        description = "Short messages by author. Owns the messages database; the only way to \
            it. Authors are user ids of the users service, which this service never asks: a \
            message may name a user who no longer exists. \
            `GET /messages/latest?authors=…&per_author=N` reads the newest messages of up to \
            500 authors in one call for composers such as the timeline service; each author's \
            are read from the index `(author_id, created_at DESC, id DESC)`, so the answer \
            costs the same however many messages the store holds.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "http://127.0.0.1:8083", description = "Default local address")),
    tags(
        (name = "messages", description = "Messages and their authors' timelines"),
        (name = "ops", description = "Liveness and readiness probes"),
    )
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub(crate) fn router(readiness: kit::ops::Readiness) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(messages::router())
        .merge(kit::ops::routes(readiness))
}
