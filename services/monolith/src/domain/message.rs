use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

use super::MessageText;

/// A message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 99,
    "author_id": 7,
    "text": "coffee later",
    "created_at": "2025-12-31T23:59:00Z"
}))]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// Who wrote it.
    pub author_id: UserId,
    /// Its text, 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A validated request to post a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The author.
    pub author_id: UserId,
    /// The text.
    pub text: MessageText,
}

/// Where a page of an author's messages starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// The newest messages.
    Newest,
    /// Messages older than this one (by `created_at`, then id).
    Message(MessageId),
}
