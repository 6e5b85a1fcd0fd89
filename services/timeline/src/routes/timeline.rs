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
    let params = parse_params(&query)?;
    let propagate = Propagate {
        request_id: headers.get(kit::layers::REQUEST_ID).cloned(),
        traceparent: headers.get("traceparent").cloned(),
        tracestate: headers.get("tracestate").cloned(),
    };
    let composed = state.engine.timeline(user_id, params, &propagate).await?;
    let timing = composed.timing.header_value();
    Ok(([("server-timing", timing)], Json(composed.timeline)).into_response())
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
        for (per_friend, limit) in [
            (Some(0), None),
            (Some(11), None),
            (None, Some(0)),
            (None, Some(501)),
        ] {
            let problem = parse_params(&q(per_friend, limit)).unwrap_err();
            assert_eq!(problem.status, 400);
        }
    }
}
