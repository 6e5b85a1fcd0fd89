use kit::ids::UserId;
use serde::Serialize;
use utoipa::ToSchema;

/// A friendship as its change events show it: the lower id first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"user_id": 7, "friend_id": 19}))]
pub struct Friendship {
    /// The lower of the two user ids.
    pub user_id: UserId,
    /// The higher of the two user ids.
    pub friend_id: UserId,
}

/// The friendship of `a` and `b` as it is stored, lower id first whichever side asked
/// (so every write of one pair takes its two rows in the same order); `None` when they are
/// the same user, who cannot be their own friend.
pub fn friendship(a: UserId, b: UserId) -> Option<(UserId, UserId)> {
    (a != b).then(|| (a.min(b), a.max(b)))
}

// === impl Friendship ===

impl Friendship {
    /// The friendship of `pair`, as [`friendship`] orders it.
    pub fn of(pair: (UserId, UserId)) -> Self {
        Self {
            user_id: pair.0,
            friend_id: pair.1,
        }
    }

    /// Its key in the change feed: `LOW-HIGH`.
    pub fn subject(&self) -> String {
        format!("{}-{}", self.user_id, self.friend_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_side_gives_the_same_pair_and_nobody_befriends_themselves() {
        let (one, two) = (UserId::new(1), UserId::new(2));
        assert_eq!(friendship(two, one), Some((one, two)));
        assert_eq!(friendship(one, two), Some((one, two)));
        assert_eq!(friendship(two, two), None);
        assert_eq!(Friendship::of((one, two)).subject(), "1-2");
    }
}
