//! `/timeline/{user_id}`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kit::extract::{Json, Path, Query};
use kit::ids::UserId;
use kit::problem::Problem;
use kit::timestamp::Timestamp;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{LIMIT, PER_FRIEND, Timeline, TimelineParams};
use crate::error::ApiError;
use crate::state::AppState;

/// Query of `GET /timeline/{user_id}`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Messages per friend, newest first.
    #[param(minimum = 1, maximum = 10, default = 1)]
    pub per_friend: Option<u32>,
    /// Most entries (friends) in the answer.
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<u32>,
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
    let params = parse_params(&query)?;
    let started = std::time::Instant::now();
    let entries = state
        .store
        .timeline(user_id, params)
        .await?
        .ok_or(ApiError::UserNotFound(user_id))?;
    let timing = format!("db;dur={:.1}", started.elapsed().as_secs_f64() * 1000.0);
    let timeline = Timeline {
        user_id,
        entries,
        missing_friends: Vec::new(),
        degraded: Vec::new(),
        generated_at: Timestamp::now(),
    };
    Ok(([("server-timing", timing)], Json(timeline)).into_response())
}

fn parse_params(query: &TimelineQuery) -> Result<TimelineParams, Problem> {
    let check = |name: &str, value: Option<u32>, (default, min, max): (u32, u32, u32)| {
        let value = value.unwrap_or(default);
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(Problem::bad_request(format!(
                "`{name}` must be between {min} and {max}, got {value}"
            )))
        }
    };
    Ok(TimelineParams {
        per_friend: check("per_friend", query.per_friend, PER_FRIEND)?,
        limit: check("limit", query.limit, LIMIT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        let q = |per_friend, limit| TimelineQuery { per_friend, limit };
        assert_eq!(
            parse_params(&q(None, None)).unwrap(),
            TimelineParams {
                per_friend: 1,
                limit: 50
            }
        );
        assert!(parse_params(&q(Some(10), Some(500))).is_ok());
        for (per_friend, limit, detail) in [
            (
                Some(0),
                None,
                "`per_friend` must be between 1 and 10, got 0",
            ),
            (
                Some(11),
                None,
                "`per_friend` must be between 1 and 10, got 11",
            ),
            (None, Some(0), "`limit` must be between 1 and 500, got 0"),
            (
                None,
                Some(501),
                "`limit` must be between 1 and 500, got 501",
            ),
        ] {
            let problem = parse_params(&q(per_friend, limit)).unwrap_err();
            assert_eq!(problem.status, 400);
            assert_eq!(problem.detail.as_deref(), Some(detail));
        }
    }
}
