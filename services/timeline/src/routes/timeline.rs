//! `/timeline/{user_id}`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use kit::extract::{Json, Path, Query};
use kit::ids::UserId;
use kit::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clients::Propagate;
use crate::domain::{Timeline, TimelineParams};
use crate::error::ApiError;
use crate::state::AppState;

/// Query of `GET /timeline/{user_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Messages per friend, newest first.
    // A string, so a value that is not a number gets the same wording as one out of range.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 10, default = 1)]
    pub per_friend: Option<String>,
    /// Most entries (friends) in the answer.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_timeline))
}

/// A user's timeline: each friend's latest messages with the friend's name and avatar.
///
/// Entries are ordered by each friend's newest message (newest first, ties by higher
/// message id); friends without messages follow by ascending id. A failing users or
/// messages service gives a 200 with what is known and the service named in `degraded`.
#[utoipa::path(
    get,
    path = "/timeline/{user_id}",
    tag = "timeline",
    operation_id = "getTimeline",
    params(("user_id" = UserId, Path, description = "Whose timeline"), TimelineQuery),
    responses(
        (status = 200, description = "The timeline, possibly degraded", body = Timeline,
            headers(("Server-Timing" = String,
                description = "Each downstream stage with its duration, and cache hits"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
        (status = 503, description = "The friends list cannot be read; retry after \
            `Retry-After` seconds", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds to wait before retrying"))),
    )
)]
async fn get_timeline(
    State(state): State<AppState>,
    Path(user_id): Path<UserId>,
    Query(query): Query<TimelineQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let params = TimelineParams::parse(query.per_friend.as_deref(), query.limit.as_deref())
        .map_err(Problem::from)?;
    let propagate = Propagate {
        request_id: headers.get(kit::layers::REQUEST_ID).cloned(),
        traceparent: headers.get("traceparent").cloned(),
        tracestate: headers.get("tracestate").cloned(),
    };
    let composed = state.engine.timeline(user_id, params, &propagate).await?;
    let timing = composed.timing.header_value();
    Ok(([("server-timing", timing)], Json(composed.timeline)).into_response())
}
