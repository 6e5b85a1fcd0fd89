//! `/users/{id}/friends` and `/users/{id}/friends/{friend_id}`.

use axum::extract::State;
use axum::http::StatusCode;
use kit::extract::{IgnoredBody, Json, Path, Query};
use kit::feed::Position;
use kit::ids::{IdError, UserId};
use kit::problem::Problem;
use serde::Deserialize;
use tokio::time::Instant;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::{FriendList, FriendsPage, friendship};
use crate::error::ApiError;
use crate::state::{AppState, USER_WAIT};
use crate::store::Befriended;

/// The two users of `/users/{id}/friends/{friend_id}`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct FriendPath {
    /// The user whose friend list is addressed.
    pub(crate) id: UserId,
    /// The other user.
    pub(crate) friend_id: UserId,
}

/// Query of the friend list: a page size and a cursor.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FriendsQuery {
    /// How many friend ids to return: 1 to 5000.
    #[param(value_type = Option<i32>, minimum = 1, maximum = 5000, default = 1000,
        example = 100)]
    pub(crate) limit: Option<String>,
    /// Only friends whose id is greater than this one (exclusive): the `next_after` of the
    /// previous page. Omit it for the first page.
    #[param(value_type = Option<UserId>, inline, example = 23)]
    pub(crate) after: Option<String>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_friend, remove_friend))
        .routes(routes!(list_friends))
}

/// Befriend two users.
///
/// Idempotent: befriending users who already are friends answers 204 again and stores
/// nothing twice. Friendship is symmetric, so each user then lists the other. Both users
/// must exist (404 otherwise). A request body, if any, is read and ignored.
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
            headers(("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ` (that of the friendship's event when they already were friends)"))),
        (status = 400, description = "`id` equals `friend_id` (code `self-friendship`), or an \
            id is not a positive 64-bit integer (code `bad-request`); nothing is stored",
            body = Problem, content_type = "application/problem+json",
            examples(
                ("self-friendship" = (summary = "The same user twice",
                    value = json!(self_friendship_example()))),
                ("bad-id" = (summary = "An id that is not a positive integer",
                    value = json!(bad_id_example()))),
            )),
        (status = 404, description = "One of the users does not exist (the first missing one \
            is named); nothing is stored", body = Problem,
            content_type = "application/problem+json",
            example = json!(missing_user_example())),
    )
)]
async fn add_friend(
    State(state): State<AppState>,
    Path(path): Path<FriendPath>,
    // The ids are in the path; a body means nothing.
    _body: IgnoredBody,
) -> Result<(Position, StatusCode), ApiError> {
    let pair = friendship(path.id, path.friend_id).ok_or(ApiError::SelfFriendship(path.id))?;
    // A user created on the users service a moment ago may still be on its way here.
    let deadline = Instant::now() + USER_WAIT;
    loop {
        match state.store.add_friend(pair).await? {
            Befriended::Yes(position) => return Ok((position, StatusCode::NO_CONTENT)),
            Befriended::NoSuchUsers(_) if state.users_arrived(deadline).await => {}
            // The first in the path's order: `id` is named before `friend_id`.
            Befriended::NoSuchUsers(missing) if missing.contains(&path.id) => {
                return Err(ApiError::UserNotFound(path.id));
            }
            Befriended::NoSuchUsers(_) => return Err(ApiError::UserNotFound(path.friend_id)),
        }
    }
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
        (status = 204, description = "The users are no longer friends", headers(("X-Change-Position" = String, description = "The write's position in the change feed, `monolith:SEQ`"))),
        (status = 404, description = "The users are not friends (a user is never their own \
            friend); nothing changed", body = Problem, content_type = "application/problem+json",
            example = json!(not_friends_example())),
    )
)]
async fn remove_friend(
    State(state): State<AppState>,
    Path(path): Path<FriendPath>,
) -> Result<(Position, StatusCode), ApiError> {
    let removed = match friendship(path.id, path.friend_id) {
        Some(pair) => state.store.remove_friend(pair).await?,
        // Nobody is their own friend.
        None => None,
    };
    let position = removed.ok_or(ApiError::NotFriends(path.id, path.friend_id))?;
    Ok((position, StatusCode::NO_CONTENT))
}

/// List a user's friends.
///
/// One page of friend ids, ascending. To read them all, repeat with `after` set to the
/// previous page's `next_after` until it is `null`. Never answers 404: a user with no
/// friends, or one that does not exist, has an empty list.
#[utoipa::path(
    get,
    path = "/users/{id}/friends",
    tag = "friends",
    operation_id = "listFriends",
    params(
        ("id" = UserId, Path, description = "The user's id"),
        FriendsQuery,
    ),
    responses(
        (status = 200, description = "One page of the user's friends", body = FriendList,
            examples(
                ("more follow" = (summary = "A page with more after it",
                    value = json!(page_example(42, &[7, 19, 23], true)))),
                ("last page" = (summary = "The last page",
                    value = json!(page_example(42, &[31, 40], false)))),
                ("no friends" = (summary = "No friends, or a user that does not exist",
                    value = json!(page_example(43, &[], false)))),
            )),
        (status = 400, description = "`limit` is not an integer from 1 to 5000, `after` or \
            `id` is not a positive 64-bit integer; `detail` names each bad parameter and its \
            range", body = Problem, content_type = "application/problem+json",
            example = json!(bad_limit_example())),
    )
)]
async fn list_friends(
    State(state): State<AppState>,
    Path(id): Path<UserId>,
    Query(query): Query<FriendsQuery>,
) -> Result<Json<FriendList>, ApiError> {
    let page = FriendsPage::parse(query.limit.as_deref(), query.after.as_deref())
        .map_err(Problem::bad_request)?;
    Ok(Json(state.store.friend_page(id, page).await?))
}

// === examples ===
//
// The OpenAPI examples, built from what answers them.

/// A page of `user`'s friends `ids`, with more after it when `more`.
fn page_example(user: i64, ids: &[i64], more: bool) -> FriendList {
    let mut fetched: Vec<UserId> = ids.iter().copied().map(UserId::new).collect();
    if more {
        fetched.push(UserId::new(i64::MAX));
    }
    FriendList::from_lookahead(
        UserId::new(user),
        fetched,
        ids.len().try_into().unwrap_or(0),
    )
}

fn error_example(error: ApiError, instance: &str) -> Problem {
    // None of the errors shown is a database failure, the one without a problem.
    error
        .problem()
        .unwrap_or_else(|_| Problem::internal())
        .example_at(instance)
}

fn self_friendship_example() -> Problem {
    error_example(
        ApiError::SelfFriendship(UserId::new(7)),
        "/users/7/friends/7",
    )
}

fn bad_id_example() -> Problem {
    let zero = IdError::NotPositive("0".to_owned());
    Problem::bad_request(format!("invalid path parameter: {zero}")).example_at("/users/0/friends/7")
}

fn missing_user_example() -> Problem {
    error_example(
        ApiError::UserNotFound(UserId::new(19)),
        "/users/7/friends/19",
    )
}

fn not_friends_example() -> Problem {
    let error = ApiError::NotFriends(UserId::new(7), UserId::new(19));
    error_example(error, "/users/7/friends/19")
}

fn bad_limit_example() -> Problem {
    // `0` is below every limit: `parse` refuses it.
    let detail = FriendsPage::parse(Some("0"), None)
        .err()
        .unwrap_or_default();
    Problem::bad_request(detail).example_at("/users/42/friends")
}
