//! `/timeline/{user_id}`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kit::extract::{Json, Path, Query};
use kit::ids::UserId;
use kit::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
    pub(crate) per_friend: Option<String>,
    /// Most entries (friends) in the answer.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500, default = 50)]
    pub(crate) limit: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_timeline))
}

/// A user's timeline: each friend's latest messages with the friend's name and avatar.
///
/// Entries are ordered by each friend's newest message (newest first, ties by higher
/// message id); friends without messages follow by ascending id. Computed by one SQL query;
/// `missing_friends` and `degraded` are always empty here, since the foreign keys keep
/// every friend's profile in the same database.
#[utoipa::path(
    get,
    path = "/timeline/{user_id}",
    tag = "timeline",
    operation_id = "getTimeline",
    params(("user_id" = UserId, Path, description = "Whose timeline"), TimelineQuery),
    responses(
        (status = 200, description = "The timeline", body = Timeline,
            headers(("Server-Timing" = String,
                description = "The database query's duration"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn get_timeline(
    State(state): State<AppState>,
    Path(user_id): Path<UserId>,
    Query(query): Query<TimelineQuery>,
) -> Result<Response, ApiError> {
    let params = TimelineParams::parse(query.per_friend.as_deref(), query.limit.as_deref())
        .map_err(Problem::from)?;
    let started = std::time::Instant::now();
    let entries = state
        .store
        .timeline(user_id, params)
        .await?
        .ok_or(ApiError::UserNotFound(user_id))?;
    let timing = format!("db;dur={:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let timeline = Timeline::complete(user_id, entries);
    Ok(([("server-timing", timing)], Json(timeline)).into_response())
}
