//! `/users/{id}/friends` and `/users/{id}/friends/{friend_id}`.

use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::{Json, Path, Query};
use kit::ids::UserId;
use kit::problem::Problem;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{FRIENDS_LIMIT, FriendPage, bounded};
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Befriended;

/// Query of `GET /users/{id}/friends`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FriendsQuery {
    /// Most friend ids in the page.
    #[param(minimum = 1, maximum = 5000, default = 1000)]
    pub limit: Option<u32>,
    /// Only friends with a higher id than this (the previous page's `next_after`).
    #[param(value_type = Option<UserId>)]
    pub after: Option<UserId>,
}

/// A page of a user's friends.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"user_id": 1, "friend_ids": [2, 5, 9], "next_after": null}))]
pub struct FriendList {
    /// Whose friends these are.
    pub user_id: UserId,
    /// Friend ids, ascending.
    pub friend_ids: Vec<UserId>,
    /// The last id of this page when more follow (pass it as `after`); `null` on the last
    /// page.
    pub next_after: Option<UserId>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_friends))
        .routes(routes!(add_friend, remove_friend))
}

/// Befriend two users.
///
/// Friendship is symmetric: each appears in the other's list. Idempotent.
#[utoipa::path(
    put,
    path = "/users/{id}/friends/{friend_id}",
    tag = "friends",
    operation_id = "addFriend",
    params(
        ("id" = UserId, Path, description = "One user's id"),
        ("friend_id" = UserId, Path, description = "The other user's id"),
    ),
    responses(
        (status = 204, description = "The two are friends"),
        (status = 400, description = "`id` equals `friend_id` (`self-friendship`), or an id \
            is not a positive 64-bit integer", body = Problem,
            content_type = "application/problem+json"),
        (status = 404, description = "One of the users does not exist; nothing was written",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn add_friend(
    State(state): State<AppState>,
    Path((id, friend_id)): Path<(UserId, UserId)>,
) -> Result<StatusCode, ApiError> {
    if id == friend_id {
        return Err(self_friendship().into());
    }
    match state.store.add_friend(id, friend_id).await? {
        Befriended::Yes => Ok(StatusCode::NO_CONTENT),
        Befriended::NoSuchUser(missing) => Err(ApiError::UserNotFound(missing)),
    }
}

/// End a friendship.
///
/// Removes it in both directions.
#[utoipa::path(
    delete,
    path = "/users/{id}/friends/{friend_id}",
    tag = "friends",
    operation_id = "removeFriend",
    params(
        ("id" = UserId, Path, description = "One user's id"),
        ("friend_id" = UserId, Path, description = "The other user's id"),
    ),
    responses(
        (status = 204, description = "The two are no longer friends"),
        (status = 404, description = "The two are not friends", body = Problem,
            content_type = "application/problem+json"),
    )
)]
async fn remove_friend(
    State(state): State<AppState>,
    Path((id, friend_id)): Path<(UserId, UserId)>,
) -> Result<StatusCode, ApiError> {
    if state.store.remove_friend(id, friend_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFriends(id, friend_id))
    }
}

/// List a user's friends.
///
/// Ascending ids, paged with `after`. A user without friends, or unknown, has an empty
/// list.
#[utoipa::path(
    get,
    path = "/users/{id}/friends",
    tag = "friends",
    operation_id = "listFriends",
    params(("id" = UserId, Path, description = "The user's id"), FriendsQuery),
    responses(
        (status = 200, description = "A page of friend ids", body = FriendList),
        (status = 400, description = "`limit` is not between 1 and 5000, or `after` is not a \
            positive 64-bit integer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_friends(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Query(query): Query<FriendsQuery>,
) -> Result<Json<FriendList>, ApiError> {
    let limit = bounded("limit", query.limit, FRIENDS_LIMIT)
        .map_err(|err| Problem::bad_request(err.to_string()))?;
    let page = FriendPage {
        after: query.after,
        limit,
    };
    let (friend_ids, next_after) = state.store.friend_page(id, page).await?;
    Ok(Json(FriendList {
        user_id: id,
        friend_ids,
        next_after,
    }))
}

fn self_friendship() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "self-friendship",
        "Cannot befriend oneself",
    )
    .with_detail("`id` and `friend_id` must differ: a user cannot befriend themself")
}
