//! `/timeline/{user_id}`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use kit::etag::ETag;
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
///
/// The answer's `ETag` follows its content (everything but `generated_at`), the same
/// content giving the same tag as on the timeline service; a request whose
/// `If-None-Match` lists it (or is `*`) gets a 304 with no body.
#[utoipa::path(
    get,
    path = "/timeline/{user_id}",
    tag = "timeline",
    operation_id = "getTimeline",
    params(
        ("user_id" = UserId, Path, description = "Whose timeline"),
        TimelineQuery,
        kit::etag::IfNoneMatchHeader,
    ),
    responses(
        (status = 200, description = "The timeline", body = Timeline,
            headers(
                ("Server-Timing" = String, description = "The database query's duration"),
                ("ETag" = String, description = "A strong tag of the timeline's content \
                    (all but `generated_at`); it changes exactly when the content does"),
            )),
        (status = 304, description = "The timeline is the one `If-None-Match` names: no body",
            headers(("ETag" = String, description = "The current timeline's tag"))),
        (status = 404, description = "No user has this id", body = Problem,
            content_type = "application/problem+json"),
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
    let started = std::time::Instant::now();
    let entries = state
        .store
        .timeline(user_id, params)
        .await?
        .ok_or(ApiError::UserNotFound(user_id))?;
    let timing = format!("db;dur={:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let timeline = Timeline::complete(user_id, entries);
    // When this answer was made is not its content: the tag leaves it out. (A timeline
    // always serializes; were it ever not to, the answer would go untagged.)
    let etag = ETag::of_json(&timeline, &["generated_at"]).ok();
    let response = (etag.clone(), [("server-timing", timing)], Json(timeline)).into_response();
    Ok(match etag {
        Some(etag) => kit::etag::conditional(&headers, &etag, response),
        None => response,
    })
}
