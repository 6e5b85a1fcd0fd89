use kit::ids::{IdError, MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Serialize;
use utoipa::ToSchema;

/// A message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
#[schema(example = super::examples::message)]
pub struct Message {
    /// The message's id.
    pub(crate) id: MessageId,
    /// The author's user id.
    pub(crate) author_id: UserId,
    /// The text, 1 to 1000 characters.
    #[schema(min_length = 1, max_length = 1000)]
    pub(crate) text: String,
    /// When the message was created.
    pub(crate) created_at: Timestamp,
}

/// A message to post, its fields checked: an author id and a
/// [`MESSAGE_TEXT`](super::MESSAGE_TEXT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The author, whose existence only the database can tell.
    pub author_id: UserId,
    /// The text.
    pub text: String,
}

/// The author of a message to post, from the body's `author_id` (any JSON integer).
pub fn author(author_id: Option<i64>) -> Result<UserId, String> {
    match author_id {
        None => Err("is required: the author's user id, a positive 64-bit integer".to_owned()),
        Some(id) if id < 1 => Err(IdError::NotPositive(id.to_string()).to_string()),
        Some(id) => Ok(UserId::new(id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_author_is_a_positive_id_and_required() {
        assert_eq!(author(Some(3)), Ok(UserId::new(3)));
        for bad in [0, -4] {
            let why = author(Some(bad)).unwrap_err();
            assert!(why.contains(&format!("`{bad}`")), "{why}");
        }
        assert!(author(None).unwrap_err().starts_with("is required"));
    }
}
