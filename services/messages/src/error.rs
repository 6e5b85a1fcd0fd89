//! The service's errors and how each becomes a problem.

use axum::response::{IntoResponse, Response};
use kit::ids::{MessageId, UserId};
use kit::problem::Problem;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No message has this id.
    #[error("no message with id {0}")]
    NotFound(MessageId),
    /// The users feed is not applied up to its head, and the author is not known yet.
    #[error("user {0} is not known yet: the users feed is not caught up; retry shortly")]
    UsersBehind(UserId),
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
            Self::NotFound(id) => {
                Problem::not_found(format!("no message with id {id}")).into_response()
            }
            err @ Self::UsersBehind(_) => Problem::unavailable(err.to_string(), 1).into_response(),
            Self::Rejected(problem) => problem.into_response(),
            Self::Store(err) => kit::problem::internal_error(err),
        }
    }
}
