use kit::ids::UserId;
use serde::Serialize;
use utoipa::ToSchema;

use super::Limit;

/// One page of a user's friends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"user_id": 42, "friend_ids": [7, 19, 23], "next_after": 23}))]
pub struct FriendList {
    /// The user whose friends these are.
    pub user_id: UserId,
    /// The friends' ids on this page, ascending, at most `limit` of them. Empty when the user
    /// has no friends, or is unknown to this service (which cannot tell the two apart).
    #[schema(max_items = 5000)]
    pub friend_ids: Vec<UserId>,
    /// Pass as `after` to read the next page: the last id of this page when more friends
    /// follow it, `null` on the last page.
    #[schema(required = true)]
    pub next_after: Option<UserId>,
}

// === impl FriendList ===

impl FriendList {
    /// A page from up to `limit + 1` ascending ids read past the cursor: an id beyond
    /// `limit` is not shown, it only tells that another page follows.
    pub fn page(user_id: UserId, mut fetched: Vec<UserId>, limit: Limit) -> Self {
        let limit = limit.get() as usize;
        let more = fetched.len() > limit;
        fetched.truncate(limit);
        let next_after = if more { fetched.last().copied() } else { None };
        Self {
            user_id,
            friend_ids: fetched,
            next_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(range: std::ops::RangeInclusive<i64>) -> Vec<UserId> {
        range.map(UserId::new).collect()
    }

    #[test]
    fn an_extra_id_means_another_page_follows() {
        let limit = Limit::parse("limit", Some("3")).unwrap();
        let page = FriendList::page(UserId::new(9), ids(1..=4), limit);
        assert_eq!(page.friend_ids, ids(1..=3));
        assert_eq!(page.next_after, Some(UserId::new(3)));
    }

    #[test]
    fn a_full_last_page_has_no_cursor() {
        let limit = Limit::parse("limit", Some("3")).unwrap();
        let page = FriendList::page(UserId::new(9), ids(1..=3), limit);
        assert_eq!(page.friend_ids, ids(1..=3));
        assert_eq!(page.next_after, None);
        let empty = FriendList::page(UserId::new(9), Vec::new(), limit);
        assert_eq!(empty.next_after, None);
    }

    #[test]
    fn serializes_to_the_contract_shape() {
        let page = FriendList::page(UserId::new(1), ids(2..=3), Limit::DEFAULT);
        assert_eq!(
            serde_json::to_value(page).unwrap(),
            serde_json::json!({"user_id": 1, "friend_ids": [2, 3], "next_after": null})
        );
    }
}
