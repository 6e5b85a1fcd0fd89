use kit::ids::{MessageId, UserId};
use serde::Serialize;
use utoipa::ToSchema;

use super::Message;
use super::paging::split_lookahead;

/// One page of a user's friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = super::examples::friend_list)]
pub struct FriendList {
    /// The user whose friends these are.
    pub(crate) user_id: UserId,
    /// The friends' ids on this page, ascending, at most `limit` of them. Empty when the user
    /// has no friends, or does not exist.
    #[schema(max_items = 5000)]
    pub(crate) friend_ids: Vec<UserId>,
    /// Pass as `after` to read the next page: the last id of this page when more friends
    /// follow it, `null` on the last page.
    #[schema(required = true)]
    pub(crate) next_after: Option<UserId>,
}

/// One page of an author's messages, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = super::examples::message_page)]
pub struct MessagePage {
    /// The author's user id, as requested.
    pub(crate) author_id: UserId,
    /// The author's messages, newest first (higher `created_at`, ties broken by the higher
    /// id); empty when the author has none, or none older than `before`.
    pub(crate) messages: Vec<Message>,
    /// The id of the page's last message when older messages follow: pass it as `before`
    /// for the next page. `null` on the last page.
    #[schema(required = true)]
    pub(crate) next_before: Option<MessageId>,
}

/// One author's latest messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = super::examples::author_messages)]
pub struct AuthorMessages {
    /// The author's user id, as requested.
    pub(crate) author_id: UserId,
    /// The author's latest messages, newest first; empty when the author has none.
    pub(crate) messages: Vec<Message>,
}

// === impl FriendList ===

impl FriendList {
    /// The page of `user_id`'s friends from `ids`, read ascending with one more than
    /// `limit`: that one only tells that another page follows.
    pub fn from_lookahead(user_id: UserId, ids: Vec<UserId>, limit: u32) -> Self {
        let (friend_ids, more) = split_lookahead(ids, limit);
        let next_after = friend_ids.last().copied().filter(|_| more);
        Self {
            user_id,
            friend_ids,
            next_after,
        }
    }

    /// The friends' ids on this page.
    pub fn friend_ids(&self) -> &[UserId] {
        &self.friend_ids
    }
}

// === impl MessagePage ===

impl MessagePage {
    /// The page of `author_id`'s messages from `rows`, read newest first with one more
    /// than `limit`: that one only tells that older messages follow.
    pub fn from_lookahead(author_id: UserId, rows: Vec<Message>, limit: u32) -> Self {
        let (messages, more) = split_lookahead(rows, limit);
        let next_before = messages.last().map(|m| m.id).filter(|_| more);
        Self {
            author_id,
            messages,
            next_before,
        }
    }
}

// === impl AuthorMessages ===

impl AuthorMessages {
    /// One entry per author of `authors`, in that order, each with its messages from
    /// `rows`; `rows` holds them author by author in that same order, each author's newest
    /// first, as the latest-messages statement returns them.
    pub fn in_request_order(authors: &[UserId], rows: Vec<Message>) -> Vec<Self> {
        let mut rows = rows.into_iter().peekable();
        authors
            .iter()
            .map(|&author_id| Self {
                author_id,
                messages: std::iter::from_fn(|| rows.next_if(|m| m.author_id == author_id))
                    .collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use kit::timestamp::Timestamp;

    use super::*;

    fn message(id: i64, author: i64) -> Message {
        Message {
            id: MessageId::new(id),
            author_id: UserId::new(author),
            text: format!("m{id}"),
            created_at: Timestamp::from_micros(id),
        }
    }

    fn users(ids: &[i64]) -> Vec<UserId> {
        ids.iter().copied().map(UserId::new).collect()
    }

    #[test]
    fn a_friend_page_points_past_itself_only_when_more_follow() {
        let page = FriendList::from_lookahead(UserId::new(9), users(&[1, 2, 3, 4]), 3);
        assert_eq!(page.friend_ids(), users(&[1, 2, 3]));
        assert_eq!(page.next_after, Some(UserId::new(3)));
        let page = FriendList::from_lookahead(UserId::new(9), users(&[1, 2, 3]), 3);
        assert_eq!(page.next_after, None);
        assert_eq!(
            serde_json::to_value(FriendList::from_lookahead(UserId::new(1), vec![], 5)).unwrap(),
            serde_json::json!({"user_id": 1, "friend_ids": [], "next_after": null})
        );
    }

    #[test]
    fn a_message_page_points_at_its_last_message_when_older_ones_follow() {
        let rows = vec![message(9, 1), message(8, 1), message(7, 1)];
        let page = MessagePage::from_lookahead(UserId::new(1), rows, 2);
        let ids: Vec<i64> = page.messages.iter().map(|m| m.id.get()).collect();
        assert_eq!(
            (ids, page.next_before),
            (vec![9, 8], Some(MessageId::new(8)))
        );
        let page = MessagePage::from_lookahead(UserId::new(1), vec![message(9, 1)], 2);
        assert_eq!(page.next_before, None);
    }

    #[test]
    fn every_author_asked_for_has_an_entry_in_request_order() {
        let rows = vec![message(5, 3), message(2, 3), message(4, 1)];
        let latest = AuthorMessages::in_request_order(&users(&[3, 2, 1]), rows);
        let shape: Vec<(i64, Vec<i64>)> = latest
            .iter()
            .map(|e| {
                (
                    e.author_id.get(),
                    e.messages.iter().map(|m| m.id.get()).collect(),
                )
            })
            .collect();
        assert_eq!(shape, vec![(3, vec![5, 2]), (2, vec![]), (1, vec![4])]);
    }
}
