use kit::ids::{MessageId, UserId};
use kit::params::Bounded;
use serde::Serialize;
use utoipa::ToSchema;

use super::Message;

/// Messages per page of an author's messages: 1 to 500, 50 by default.
pub type PageLimit = Bounded<1, 500, 50>;

/// One page of an author's messages, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "author_id": 3,
    "messages": [
        {"id": 9, "author_id": 3, "text": "see you at the lake", "created_at": "2025-12-30T09:00:00Z"},
        {"id": 7, "author_id": 3, "text": "finally shipped the release", "created_at": "2025-12-24T18:30:00Z"}
    ],
    "next_before": 7
}))]
pub struct MessagePage {
    /// The author's user id, as requested.
    pub author_id: UserId,
    /// The author's messages, newest first (higher `created_at`, ties broken by the higher
    /// id); empty when the author has none, or none older than `before`.
    pub messages: Vec<Message>,
    /// The id of the page's last message when older messages follow: pass it as `before`
    /// for the next page. `null` on the last page.
    #[schema(required = true)]
    pub next_before: Option<MessageId>,
}

// === impl MessagePage ===

impl MessagePage {
    /// The page from `rows`, read newest first with one row more than `limit`: that extra
    /// row, when present, only says that more follow.
    pub fn from_lookahead(author_id: UserId, mut rows: Vec<Message>, limit: PageLimit) -> Self {
        let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_before = more.then(|| rows.last().map(|m| m.id)).flatten();
        Self {
            author_id,
            messages: rows,
            next_before,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::timestamp::Timestamp;

    fn rows(ids: &[i64]) -> Vec<Message> {
        ids.iter()
            .map(|&id| Message {
                id: MessageId::new(id),
                author_id: UserId::new(1),
                text: "x".into(),
                created_at: Timestamp::from_micros(id),
            })
            .collect()
    }

    fn limit(n: &str) -> PageLimit {
        PageLimit::parse("limit", Some(n)).unwrap()
    }

    #[test]
    fn a_row_beyond_the_limit_gives_the_cursor_and_is_dropped() {
        let page = MessagePage::from_lookahead(UserId::new(1), rows(&[9, 8, 7]), limit("2"));
        let ids: Vec<i64> = page.messages.iter().map(|m| m.id.get()).collect();
        assert_eq!(ids, vec![9, 8]);
        assert_eq!(page.next_before, Some(MessageId::new(8)));
    }

    #[test]
    fn a_short_or_exact_page_is_the_last() {
        for ids in [&[9, 8][..], &[9][..], &[][..]] {
            let page = MessagePage::from_lookahead(UserId::new(1), rows(ids), limit("2"));
            assert_eq!(page.messages.len(), ids.len());
            assert_eq!(page.next_before, None);
        }
    }
}
