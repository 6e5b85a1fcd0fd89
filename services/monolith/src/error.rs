//! The monolith's errors and how each becomes a problem: the problems the services answer
//! with.

use axum::http::StatusCode;
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
    /// A path that names the same user twice, to befriend.
    #[error("user {0} cannot befriend themselves: `id` and `friend_id` must differ")]
    SelfFriendship(UserId),
    /// The path's two users (`id`, `friend_id`) are not friends.
    #[error("users {0} and {1} are not friends")]
    NotFriends(UserId, UserId),
    /// The request was refused before anything was written (400 or 422).
    #[error("{0}")]
    Rejected(#[from] Problem),
    /// The database failed; the cause is logged, never sent.
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

// === impl ApiError ===

impl ApiError {
    /// The problem this error answers with; a failed database has none to show, only its
    /// cause to log.
    pub fn problem(self) -> Result<Problem, sqlx::Error> {
        Ok(match self {
            Self::Store(err) => return Err(err),
            Self::Rejected(problem) => problem,
            Self::SelfFriendship(_) => Problem::new(
                StatusCode::BAD_REQUEST,
                "self-friendship",
                "Cannot befriend oneself",
            )
            .with_detail(self.to_string()),
            Self::UserNotFound(_) | Self::MessageNotFound(_) | Self::NotFriends(..) => {
                Problem::not_found(self.to_string())
            }
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self.problem() {
            Ok(problem) => problem.into_response(),
            Err(err) => kit::problem::internal_error(err),
        }
    }
}
