use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Deserialize;
use tokio::time::Instant;

use super::{CallError, Downstream, Propagate, id_list};

/// The fields of a message this service reads.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageView {
    /// The message's id.
    pub id: MessageId,
    /// Its text.
    pub text: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// One author's latest messages, newest first.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthorMessagesView {
    /// The author.
    pub author_id: UserId,
    /// Newest first.
    #[serde(default)]
    pub messages: Vec<MessageView>,
}

#[derive(Debug, Deserialize)]
struct LatestView {
    latest: Vec<AuthorMessagesView>,
}

/// `GET /messages/latest?authors=…&per_author=N` for at most 500 authors.
pub async fn latest_messages(
    messages: &Downstream,
    authors: &[UserId],
    per_author: u32,
    propagate: &Propagate,
    deadline: Instant,
) -> Result<Vec<AuthorMessagesView>, CallError> {
    let query = [
        ("authors", id_list(authors)),
        ("per_author", per_author.to_string()),
    ];
    let view: LatestView = messages
        .get_json("/messages/latest", &query, propagate, deadline)
        .await?;
    Ok(view.latest)
}
