use std::cmp::Ordering;

use kit::ids::UserId;

/// Two distinct users who are, or are to become, friends.
///
/// Friendship is symmetric, so the pair is kept in ascending order whichever side asked:
/// every write touches its two rows in the same order, and concurrent writes of one pair
/// from both sides queue behind each other instead of deadlocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Friendship {
    low: UserId,
    high: UserId,
}

/// `data` of a `friendship.upserted` event: the pair, lower id first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Friendship, example = json!({"user_id": 3, "friend_id": 17}))]
pub struct FriendshipData {
    /// The lower id.
    pub user_id: UserId,
    /// The higher id.
    pub friend_id: UserId,
}

/// A user cannot be their own friend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("user {0} cannot befriend themselves: `id` and `friend_id` must differ")]
pub struct SelfFriendship(pub UserId);

// === impl Friendship ===

impl Friendship {
    /// The friendship of `a` and `b`, in either order; refused when they are the same user.
    pub fn new(a: UserId, b: UserId) -> Result<Self, SelfFriendship> {
        match a.cmp(&b) {
            Ordering::Less => Ok(Self { low: a, high: b }),
            Ordering::Greater => Ok(Self { low: b, high: a }),
            Ordering::Equal => Err(SelfFriendship(a)),
        }
    }

    /// The smaller of the two ids.
    pub fn low(self) -> UserId {
        self.low
    }

    /// The larger of the two ids.
    pub fn high(self) -> UserId {
        self.high
    }

    /// The pair as its feed events show it.
    pub fn data(self) -> FriendshipData {
        FriendshipData {
            user_id: self.low,
            friend_id: self.high,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_order_gives_the_same_pair() {
        let one = UserId::new(1);
        let two = UserId::new(2);
        let pair = Friendship::new(two, one).unwrap();
        assert_eq!(pair, Friendship::new(one, two).unwrap());
        assert_eq!((pair.low(), pair.high()), (one, two));
    }

    #[test]
    fn refuses_self_friendship() {
        let seven = UserId::new(7);
        let err = Friendship::new(seven, seven).unwrap_err();
        assert_eq!(err, SelfFriendship(seven));
        assert!(err.to_string().contains("user 7"), "{err}");
    }
}
