//! `/timeline/{user_id}`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use kit::extract::{Path, Query};
use kit::feed::Position;
use kit::ids::UserId;
use kit::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::clients::Propagate;
use crate::domain::{Rendered, Timeline, TimelineParams};
use crate::error::ApiError;
use crate::state::AppState;
use crate::timelines::SOURCE_HEADER;

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
///
/// The answer comes from a live view built from the services' change feeds, or, while the
/// view builds, lags (then `degraded` names `view`) or cannot answer exactly, is composed
/// from the services; the body is the same either way, and the response header
/// `x-timeline-source` says `view` or `composed`. Read-your-writes: send the
/// `X-Change-Position: SOURCE:SEQ` header(s) a write answered with (one or more, comma
/// lists allowed, e.g. `messages:18342, friends:77`); the request waits briefly until the
/// view has applied each, and is composed when it cannot (also for a source the view does
/// not follow). A malformed position is a 400.
///
/// The answer's `ETag` follows its content (everything but `generated_at`): the view and
/// the composition, and the monolith, give the same tag for the same timeline. A request
/// whose `If-None-Match` lists it (or is `*`) gets a 304 with no body.
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
        (status = 200, description = "The timeline, possibly degraded. Its `x-timeline-source` \
            header says where it came from: `view` (the live view) or `composed` (from the \
            services)", body = Timeline,
            headers(
                ("Server-Timing" = String,
                    description = "`view;dur=…` for an answer of the live view; for a composed \
                        one, each downstream stage with its duration, and cache hits"),
                ("ETag" = String, description = "A strong tag of the timeline's content \
                    (all but `generated_at`); it changes exactly when the content does"),
            )),
        (status = 304, description = "The timeline is the one `If-None-Match` names: no body",
            headers(("ETag" = String, description = "The current timeline's tag"))),
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
    let positions =
        Position::from_headers(&headers).map_err(|err| Problem::bad_request(err.to_string()))?;
    let propagate = Propagate {
        request_id: headers.get(kit::layers::REQUEST_ID).cloned(),
        traceparent: headers.get("traceparent").cloned(),
        tracestate: headers.get("tracestate").cloned(),
    };
    let answer = state
        .timelines
        .timeline(user_id, params, &positions, &propagate)
        .await?;
    let content_type = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    let answer_headers = [
        ("server-timing", answer.timing.header_value()),
        (SOURCE_HEADER, answer.source.as_str().to_owned()),
    ];
    // When this answer was made is not its content: the tag leaves it out.
    let Rendered { body, etag, .. } = answer.rendered;
    let response = (etag.clone(), content_type, answer_headers, body).into_response();
    Ok(kit::etag::conditional(&headers, &etag, response))
}
