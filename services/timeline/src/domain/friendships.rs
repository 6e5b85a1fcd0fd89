use std::collections::HashMap;

use kit::ids::UserId;

/// The friends part of the view: each user's friends, ascending, without duplicates.
/// Friendship is symmetric, so a pair is stored on both sides.
///
/// A sorted `Vec` costs 8 bytes a friend (a set would cost several times that); a replay
/// delivers pairs in ascending order, so building one is mostly appending.
#[derive(Debug, Clone, Default)]
pub struct Friendships {
    of: HashMap<UserId, Vec<UserId>>,
    pairs: usize,
}

// === impl Friendships ===

impl Friendships {
    /// `user`'s friends, ascending.
    pub fn of(&self, user: UserId) -> &[UserId] {
        self.of.get(&user).map_or(&[], Vec::as_slice)
    }

    /// Friendships stored (each pair once).
    pub fn pairs(&self) -> usize {
        self.pairs
    }

    /// Users with at least one friend.
    pub fn users(&self) -> usize {
        self.of.len()
    }

    /// `a` and `b` are friends (again, maybe). A user is never their own friend.
    pub fn befriend(&mut self, a: UserId, b: UserId) {
        if a != b && insert(self.of.entry(a).or_default(), b) {
            insert(self.of.entry(b).or_default(), a);
            self.pairs += 1;
        }
    }

    /// `a` and `b` are no longer friends (if they were).
    pub fn unfriend(&mut self, a: UserId, b: UserId) {
        if self.remove(a, b) {
            self.remove(b, a);
            self.pairs -= 1;
        }
    }

    /// Forgets everything, to be rebuilt from the feed.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    fn remove(&mut self, user: UserId, friend: UserId) -> bool {
        let Some(friends) = self.of.get_mut(&user) else {
            return false;
        };
        let Ok(at) = friends.binary_search(&friend) else {
            return false;
        };
        friends.remove(at);
        if friends.is_empty() {
            self.of.remove(&user);
        }
        true
    }
}

/// Inserts `id` in sorted `ids`; false when it was there.
fn insert(ids: &mut Vec<UserId>, id: UserId) -> bool {
    if ids.last().is_none_or(|last| *last < id) {
        ids.push(id);
        return true;
    }
    match ids.binary_search(&id) {
        Ok(_) => false,
        Err(at) => {
            ids.insert(at, id);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uid(n: i64) -> UserId {
        UserId::new(n)
    }

    fn of(friendships: &Friendships, user: i64) -> Vec<i64> {
        friendships
            .of(uid(user))
            .iter()
            .map(|id| id.get())
            .collect()
    }

    #[test]
    fn friendship_is_symmetric_sorted_and_stored_once() {
        let mut f = Friendships::default();
        for (a, b) in [(3, 17), (17, 5), (3, 17), (1, 3), (17, 3)] {
            f.befriend(uid(a), uid(b));
        }
        assert_eq!(of(&f, 3), [1, 17]);
        assert_eq!(of(&f, 17), [3, 5]);
        assert_eq!(of(&f, 5), [17]);
        assert_eq!((f.pairs(), f.users()), (3, 4));
    }

    #[test]
    fn unfriending_removes_both_sides_and_forgets_empty_users() {
        let mut f = Friendships::default();
        f.befriend(uid(1), uid(2));
        f.befriend(uid(1), uid(3));
        f.unfriend(uid(2), uid(1));
        assert_eq!(of(&f, 1), [3]);
        assert!(of(&f, 2).is_empty());
        assert_eq!((f.pairs(), f.users()), (1, 2));
        f.unfriend(uid(2), uid(1));
        f.unfriend(uid(8), uid(9));
        assert_eq!(f.pairs(), 1, "unfriending strangers changes nothing");
    }

    #[test]
    fn nobody_is_their_own_friend() {
        let mut f = Friendships::default();
        f.befriend(uid(4), uid(4));
        assert!(of(&f, 4).is_empty());
        assert_eq!(f.pairs(), 0);
        f.unfriend(uid(4), uid(4));
        assert_eq!(f.pairs(), 0);
    }

    #[test]
    fn a_reset_forgets_every_friendship() {
        let mut f = Friendships::default();
        f.befriend(uid(1), uid(2));
        f.reset();
        assert!(of(&f, 1).is_empty());
        assert_eq!(f.pairs(), 0);
    }
}
