use kit::ids::UserId;

/// The friendship of `a` and `b` as it is stored, lower id first whichever side asked
/// (so every write of one pair takes its two rows in the same order); `None` when they are
/// the same user, who cannot be their own friend.
pub fn friendship(a: UserId, b: UserId) -> Option<(UserId, UserId)> {
    (a != b).then(|| (a.min(b), a.max(b)))
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
    }
}
