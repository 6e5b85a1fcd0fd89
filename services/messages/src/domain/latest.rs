use kit::ids::UserId;
use kit::params::Bounded;
use serde::Serialize;
use utoipa::ToSchema;

use super::Message;

/// Latest messages per author in the bulk read: 1 to 10, 1 by default.
pub type PerAuthor = Bounded<1, 10, 1>;

/// One author's latest messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "author_id": 3,
    "messages": [{
        "id": 7,
        "author_id": 3,
        "text": "finally shipped the release",
        "created_at": "2025-12-24T18:30:00Z"
    }]
}))]
pub struct AuthorMessages {
    /// The author's user id, as requested.
    pub author_id: UserId,
    /// The author's latest messages, newest first; empty when the author has none.
    pub messages: Vec<Message>,
}

/// One entry per author of `authors`, in that order, each holding that author's messages
/// from `found` newest first (higher `created_at`, ties broken by the higher id). Messages
/// of authors not asked for are dropped.
pub fn group_by_author(authors: &[UserId], found: Vec<Message>) -> Vec<AuthorMessages> {
    let position: std::collections::HashMap<UserId, usize> = authors
        .iter()
        .enumerate()
        .map(|(index, author)| (*author, index))
        .collect();
    let mut groups: Vec<AuthorMessages> = authors
        .iter()
        .map(|&author_id| AuthorMessages {
            author_id,
            messages: Vec::new(),
        })
        .collect();
    for message in found {
        if let Some(&index) = position.get(&message.author_id) {
            groups[index].messages.push(message);
        }
    }
    for group in &mut groups {
        group.messages.sort_by_key(Message::recency);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::ids::MessageId;
    use kit::timestamp::Timestamp;

    fn message(id: i64, author: i64, second: i64) -> Message {
        Message {
            id: MessageId::new(id),
            author_id: UserId::new(author),
            text: format!("m{id}"),
            created_at: Timestamp::from_micros(second * 1_000_000),
        }
    }

    fn ids(group: &AuthorMessages) -> Vec<i64> {
        group.messages.iter().map(|m| m.id.get()).collect()
    }

    #[test]
    fn follows_request_order_with_empty_entries() {
        let authors = [3, 1, 2].map(UserId::new);
        let groups = group_by_author(&authors, vec![message(1, 1, 10), message(2, 3, 20)]);
        let order: Vec<i64> = groups.iter().map(|g| g.author_id.get()).collect();
        assert_eq!(order, vec![3, 1, 2]);
        assert_eq!(ids(&groups[0]), vec![2]);
        assert_eq!(ids(&groups[1]), vec![1]);
        assert!(groups[2].messages.is_empty());
    }

    #[test]
    fn newest_first_ties_broken_by_higher_id() {
        let authors = [UserId::new(1)];
        let found = vec![
            message(4, 1, 10),
            message(9, 1, 30),
            message(5, 1, 30),
            message(7, 1, 20),
        ];
        assert_eq!(ids(&group_by_author(&authors, found)[0]), vec![9, 5, 7, 4]);
    }

    #[test]
    fn drops_messages_of_authors_not_asked_for() {
        let groups = group_by_author(&[UserId::new(1)], vec![message(1, 2, 10)]);
        assert_eq!(groups.len(), 1);
        assert!(groups[0].messages.is_empty());
    }
}
