//! The monolith's errors and how each becomes a problem: the same problems the services
//! answer with.

use axum::response::{IntoResponse, Response};
use kit::ids::{MessageId, UserId};
use kit::problem::Problem;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No user has this id.
    #[error("no user with id {0}")]
    UserNotFound(UserId),
    /// No message has this id.
    #[error("no message with id {0}")]
    MessageNotFound(MessageId),
    /// The two users are not friends.
    #[error("users {0} and {1} are not friends")]
    NotFriends(UserId, UserId),
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
            Self::UserNotFound(_) | Self::MessageNotFound(_) | Self::NotFriends(..) => {
                Problem::not_found(self.to_string()).into_response()
            }
            Self::Rejected(problem) => problem.into_response(),
            Self::Store(err) => kit::problem::internal_error(err),
        }
    }
}
