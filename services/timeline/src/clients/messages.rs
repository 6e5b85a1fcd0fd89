use std::collections::{HashMap, HashSet};

use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;
use serde::Deserialize;
use tokio::time::Instant;

use super::{CallError, Downstream, Propagate, id_list};
use crate::domain::EntryMessage;

/// The fields of a message this service reads.
#[derive(Debug, Deserialize)]
struct MessageView {
    id: MessageId,
    text: String,
    created_at: Timestamp,
}

/// One author's latest messages, newest first.
#[derive(Debug, Deserialize)]
struct AuthorMessagesView {
    author_id: UserId,
    #[serde(default)]
    messages: Vec<MessageView>,
}

#[derive(Debug, Deserialize)]
struct LatestView {
    latest: Vec<AuthorMessagesView>,
}

/// A page of one author's messages, newest first.
#[derive(Debug, Deserialize)]
struct PageView {
    #[serde(default)]
    messages: Vec<MessageView>,
}

/// `GET /messages/latest?authors=…&per_author=N` for at most 500 authors: each author's
/// messages, newest first, at most `per_author` of them.
pub async fn latest_messages(
    messages: &Downstream,
    authors: &[UserId],
    per_author: u32,
    propagate: &Propagate,
    deadline: Instant,
) -> Result<HashMap<UserId, Vec<EntryMessage>>, CallError> {
    let query = [
        ("authors", id_list(authors)),
        ("per_author", per_author.to_string()),
    ];
    let view: LatestView = messages
        .get_json("/messages/latest", &query, propagate, deadline)
        .await?;
    Ok(by_author(view, authors, per_author))
}

/// `GET /users/{author}/messages?limit=N`: the author's newest `limit` messages (1 to 500),
/// newest first, within `deadline`.
pub async fn author_messages(
    messages: &Downstream,
    author: UserId,
    limit: u32,
    propagate: &Propagate,
    deadline: Instant,
) -> Result<Vec<EntryMessage>, CallError> {
    let path = format!("/users/{author}/messages");
    let page: PageView = messages
        .get_json(&path, &[("limit", limit.to_string())], propagate, deadline)
        .await?;
    Ok(page
        .messages
        .into_iter()
        .take(limit as usize)
        .map(MessageView::into_entry)
        .collect())
}

/// A tolerant reader keeps only what it asked about: the authors asked for, and at most
/// `per_author` messages each.
fn by_author(
    view: LatestView,
    asked: &[UserId],
    per_author: u32,
) -> HashMap<UserId, Vec<EntryMessage>> {
    let asked: HashSet<&UserId> = asked.iter().collect();
    let mut by_author = HashMap::with_capacity(asked.len());
    for author in view.latest {
        if !asked.contains(&author.author_id) {
            continue;
        }
        let messages = author
            .messages
            .into_iter()
            .take(per_author as usize)
            .map(MessageView::into_entry)
            .collect();
        by_author.insert(author.author_id, messages);
    }
    by_author
}

// === impl MessageView ===

impl MessageView {
    fn into_entry(self) -> EntryMessage {
        EntryMessage {
            id: self.id,
            text: self.text,
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, asked: &[i64], per_author: u32) -> HashMap<UserId, Vec<EntryMessage>> {
        let asked: Vec<UserId> = asked.iter().copied().map(UserId::new).collect();
        by_author(serde_json::from_str(json).unwrap(), &asked, per_author)
    }

    const TWO: &str = r#"{"latest": [
        {"author_id": 1, "extra": true, "messages": [
            {"id": 12, "author_id": 1, "text": "b", "created_at": "2026-01-02T00:00:00Z"},
            {"id": 11, "author_id": 1, "text": "a", "created_at": "2026-01-01T00:00:00Z"}]},
        {"author_id": 2}]}"#;

    #[test]
    fn each_author_asked_for_gets_their_messages_newest_first() {
        let latest = read(TWO, &[1, 2], 5);
        let ids: Vec<_> = latest[&UserId::new(1)].iter().map(|m| m.id).collect();
        assert_eq!(ids, [12, 11].map(MessageId::new));
        assert!(
            latest[&UserId::new(2)].is_empty(),
            "an author without messages"
        );
    }

    #[test]
    fn no_more_than_per_author_messages_are_kept() {
        let latest = read(TWO, &[1], 1);
        assert_eq!(latest[&UserId::new(1)].len(), 1);
        assert_eq!(latest[&UserId::new(1)][0].text, "b");
    }

    #[test]
    fn authors_not_asked_for_are_ignored() {
        let latest = read(TWO, &[2, 3], 5);
        assert_eq!(latest.keys().collect::<Vec<_>>(), [&UserId::new(2)]);
    }

    #[test]
    fn a_page_of_an_authors_messages_is_read_tolerantly() {
        let page: PageView = serde_json::from_str(
            r#"{"author_id": 1, "next_before": 11, "messages": [
                {"id": 12, "author_id": 1, "text": "b", "created_at": "2026-01-02T00:00:00Z"}]}"#,
        )
        .unwrap();
        assert_eq!(page.messages.len(), 1);
        let empty: PageView = serde_json::from_str(r#"{"author_id": 1}"#).unwrap();
        assert!(empty.messages.is_empty());
        let bad = r#"{"messages": [{"id": 0, "text": "x", "created_at": "2026-01-02T00:00:00Z"}]}"#;
        assert!(serde_json::from_str::<PageView>(bad).is_err(), "id 0");
    }

    #[test]
    fn an_unreadable_message_refuses_the_answer() {
        let bad = r#"{"latest": [{"author_id": 1, "messages": [{"id": 1, "text": "x"}]}]}"#;
        assert!(serde_json::from_str::<LatestView>(bad).is_err());
    }
}
