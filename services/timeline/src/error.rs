//! The service's errors and how each becomes a problem.

use axum::response::{IntoResponse, Response};
use kit::problem::Problem;

use crate::engine::EngineError;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter out of range (400).
    #[error("{0}")]
    Rejected(Problem),
    /// No timeline could be composed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<Problem> for ApiError {
    fn from(problem: Problem) -> Self {
        Self::Rejected(problem)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Rejected(problem) => problem.into_response(),
            Self::Engine(EngineError::UserNotFound(id)) => {
                Problem::not_found(format!("no user with id {id}")).into_response()
            }
            Self::Engine(EngineError::FriendsUnavailable(err)) => {
                tracing::warn!(%err, "no friends list: answering 503");
                Problem::unavailable(
                    "the friends list cannot be read right now, and there is no timeline \
                     without it",
                    1,
                )
                .into_response()
            }
        }
    }
}
