use std::cmp::Reverse;

use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::MessageText;

/// A message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 7,
    "author_id": 3,
    "text": "finally shipped the release",
    "created_at": "2025-12-24T18:30:00Z"
}))]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// The author's user id.
    pub author_id: UserId,
    /// The text, 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    /// When the message was created.
    pub created_at: Timestamp,
}

/// A validated request to create a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The author.
    pub author_id: UserId,
    /// The text.
    pub text: MessageText,
}

// === impl Message ===

impl Message {
    /// The order of an author's messages, newest first: higher `created_at`, then higher id.
    pub fn recency(&self) -> Reverse<(Timestamp, MessageId)> {
        Reverse((self.created_at, self.id))
    }
}
