//! `/users/{id}/friends` and `/users/{id}/friends/{friend_id}`.

use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::{IgnoredBody, Json, Path, Query};
use kit::feed::Position;
use kit::feed::known::Lookup;
use kit::ids::UserId;
use kit::problem::Problem;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{FriendList, Friendship, PageRequest};
use crate::error::ApiError;
use crate::state::AppState;

/// The two users of `/users/{id}/friends/{friend_id}`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct FriendPath {
    /// The user whose friend list is addressed.
    pub id: UserId,
    /// The other user.
    pub friend_id: UserId,
}

/// Query of the friend list: a page size and a cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// How many friend ids to return: 1 to 5000.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 5000, default = 1000,
        example = 100)]
    pub limit: Option<String>,
    /// Only friends whose id is greater than this one (exclusive): the `next_after` of the
    /// previous page. Omit it for the first page.
    #[param(value_type = Option<UserId>, inline, example = 23)]
    pub after: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_friend, remove_friend))
        .routes(routes!(list_friends))
}

/// Befriend two users.
///
/// Idempotent: befriending users who already are friends answers 204 again and stores
/// nothing twice. Friendship is symmetric, so each user then lists the other. With
/// `--users-url`, both users must be in the users feed (a user created a moment ago is
/// waited for, up to `--known-users-wait`; when the feed is not applied up to its head by
/// then, the answer is 503 with `Retry-After`); without it neither id is checked. The users
/// service is never called. A request body, if any, is read and ignored.
#[utoipa::path(
    put,
    path = "/users/{id}/friends/{friend_id}",
    tag = "friends",
    operation_id = "addFriend",
    params(
        ("id" = UserId, Path, description = "One user's id", example = 7),
        ("friend_id" = UserId, Path, description = "The other user's id; must differ from `id`",
            example = 19),
    ),
    responses(
        (status = 204, description = "The users are friends (now, or already were)",
            headers(("X-Change-Position" = String, description = "The position of the \
                friendship's event in the friends feed, `friends:SEQ` (the existing one when \
                they already were friends)"))),
        (status = 400, description = "`id` equals `friend_id` (code `self-friendship`), or an \
            id is not a positive 64-bit integer (code `bad-request`); nothing is stored",
            body = Problem, content_type = "application/problem+json",
            examples(
                ("self-friendship" = (summary = "The same user twice", value = json!({
                    "type": "/problems/self-friendship",
                    "title": "Cannot befriend oneself",
                    "status": 400,
                    "detail": "user 7 cannot befriend themselves: `id` and `friend_id` must differ",
                    "instance": "/users/7/friends/7",
                    "code": "self-friendship",
                    "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
                }))),
                ("bad-id" = (summary = "An id that is not a positive integer", value = json!({
                    "type": "/problems/bad-request",
                    "title": "Bad request",
                    "status": 400,
                    "detail": "invalid path parameter: `0` is not a positive 64-bit integer (ids start at 1)",
                    "instance": "/users/0/friends/7",
                    "code": "bad-request",
                    "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
                }))),
            )),
        (status = 404, description = "One of the users does not exist (the first missing one \
            is named); nothing is stored. Answered when the service follows the users feed \
            (`--users-url`); without it, friendships between any ids are stored",
            body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "/problems/not-found",
                "title": "Resource not found",
                "status": 404,
                "detail": "no user with id 19",
                "instance": "/users/7/friends/19",
                "code": "not-found",
                "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
            })),
    )
)]
async fn add_friend(
    State(state): State<AppState>,
    Path(path): Path<FriendPath>,
    // The ids are in the path; a body means nothing.
    _body: IgnoredBody,
) -> Result<(StatusCode, Option<Position>, ()), ApiError> {
    let pair = Friendship::new(path.id, path.friend_id)?;
    if let Some(users) = &state.users {
        // In the path's order: `id` is named before `friend_id`.
        for user in [path.id, path.friend_id] {
            match users.check(&user.to_string()).await? {
                Lookup::Known => {}
                Lookup::Unknown => return Err(ApiError::NoSuchUser(user)),
                Lookup::Behind => return Err(ApiError::UsersBehind(user)),
            }
        }
    }
    let position = state.store.befriend(pair).await?;
    Ok((StatusCode::NO_CONTENT, position, ()))
}

/// Unfriend two users.
///
/// Removes the friendship in both directions.
#[utoipa::path(
    delete,
    path = "/users/{id}/friends/{friend_id}",
    tag = "friends",
    operation_id = "removeFriend",
    params(
        ("id" = UserId, Path, description = "One user's id", example = 7),
        ("friend_id" = UserId, Path, description = "The other user's id", example = 19),
    ),
    responses(
        (status = 204, description = "The users are no longer friends",
            headers(("X-Change-Position" = String, description = "The position of the \
                friendship's deletion in the friends feed, `friends:SEQ`"))),
        (status = 404, description = "The users are not friends (a user is never their own \
            friend); nothing changed", body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "/problems/not-found",
                "title": "Resource not found",
                "status": 404,
                "detail": "users 7 and 19 are not friends",
                "instance": "/users/7/friends/19",
                "code": "not-found",
                "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
            })),
    )
)]
async fn remove_friend(
    State(state): State<AppState>,
    Path(path): Path<FriendPath>,
) -> Result<(StatusCode, Option<Position>, ()), ApiError> {
    let not_friends = ApiError::NotFriends {
        id: path.id,
        friend_id: path.friend_id,
    };
    let Ok(pair) = Friendship::new(path.id, path.friend_id) else {
        return Err(not_friends);
    };
    match state.store.unfriend(pair).await? {
        Some(position) => Ok((StatusCode::NO_CONTENT, position, ())),
        None => Err(not_friends),
    }
}

/// List a user's friends.
///
/// One page of friend ids, ascending. To read them all, repeat with `after` set to the
/// previous page's `next_after` until it is `null`. Never answers 404: a user with no
/// friends, or unknown to this service, has an empty list.
#[utoipa::path(
    get,
    path = "/users/{id}/friends",
    tag = "friends",
    operation_id = "listFriends",
    params(
        ("id" = UserId, Path, description = "The user's id"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "One page of the user's friends", body = FriendList,
            examples(
                ("more follow" = (summary = "A page with more after it",
                    value = json!({"user_id": 42, "friend_ids": [7, 19, 23], "next_after": 23}))),
                ("last page" = (summary = "The last page",
                    value = json!({"user_id": 42, "friend_ids": [31, 40], "next_after": null}))),
                ("no friends" = (summary = "No friends, or a user this service never saw",
                    value = json!({"user_id": 43, "friend_ids": [], "next_after": null}))),
            )),
        (status = 400, description = "`limit` is not an integer from 1 to 5000, `after` or \
            `id` is not a positive 64-bit integer; `detail` names each bad parameter and its \
            range", body = Problem, content_type = "application/problem+json",
            example = json!({
                "type": "/problems/bad-request",
                "title": "Bad request",
                "status": 400,
                "detail": "`limit` must be an integer from 1 to 5000 (default 1000); got `0`",
                "instance": "/users/42/friends",
                "code": "bad-request",
                "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
            })),
    )
)]
async fn list_friends(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Query(query): Query<PageQuery>,
) -> Result<Json<FriendList>, ApiError> {
    let page =
        PageRequest::parse(query.limit.as_deref(), query.after.as_deref()).map_err(|errors| {
            let details: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Problem::bad_request(details.join("; "))
        })?;
    Ok(Json(state.store.friends(id, page).await?))
}
