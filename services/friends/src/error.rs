//! The service's errors and how each becomes a problem.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kit::ids::UserId;
use kit::problem::Problem;

use crate::domain::SelfFriendship;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `id` and `friend_id` name the same user.
    #[error(transparent)]
    SelfFriendship(#[from] SelfFriendship),
    /// There is no friendship between the two users to remove.
    #[error("users {id} and {friend_id} are not friends")]
    NotFriends {
        /// The path's `id`.
        id: UserId,
        /// The path's `friend_id`.
        friend_id: UserId,
    },
    /// A user the users feed does not hold (with `--users-url`); nothing is stored.
    #[error("no user with id {0}")]
    NoSuchUser(UserId),
    /// The users feed is not applied up to its head, and the user is not known yet.
    #[error("user {0} is not known yet: the users feed is not caught up; retry shortly")]
    UsersBehind(UserId),
    /// The request was refused before anything was read or written (400).
    #[error("{0}")]
    Rejected(Problem),
    /// The database failed; the cause is logged, never sent.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Rejected(problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::SelfFriendship(err) => Problem::new(
                StatusCode::BAD_REQUEST,
                "self-friendship",
                "Cannot befriend oneself",
            )
            .with_detail(err.to_string())
            .into_response(),
            err @ (Self::NotFriends { .. } | Self::NoSuchUser(_)) => {
                Problem::not_found(err.to_string()).into_response()
            }
            err @ Self::UsersBehind(_) => Problem::unavailable(err.to_string(), 1).into_response(),
            Self::Rejected(problem) => problem.into_response(),
            Self::Store(err) => kit::problem::internal_error(err),
        }
    }
}
