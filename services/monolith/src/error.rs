//! The monolith's errors and how each becomes a problem: the problems the services answer
//! with.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kit::ids::{MessageId, UserId};
use kit::problem::Problem;

use crate::domain::SelfFriendship;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No user has this id.
    #[error("no user with id {0}")]
    UserNotFound(UserId),
    /// No message has this id.
    #[error("no message with id {0}")]
    MessageNotFound(MessageId),
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
    /// The request was refused before anything was written (400 or 422).
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
            err @ (Self::UserNotFound(_) | Self::MessageNotFound(_) | Self::NotFriends { .. }) => {
                Problem::not_found(err.to_string()).into_response()
            }
            Self::SelfFriendship(err) => Problem::new(
                StatusCode::BAD_REQUEST,
                "self-friendship",
                "Cannot befriend oneself",
            )
            .with_detail(err.to_string())
            .into_response(),
            Self::Rejected(problem) => problem.into_response(),
            Self::Store(err) => kit::problem::internal_error(err),
        }
    }
}
