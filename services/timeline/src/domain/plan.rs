use std::collections::HashMap;

use kit::ids::UserId;

use super::Lookup;

/// Which profiles one timeline reads, decided once its friends are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Every friend's profile and the owner's, at the same time as the messages.
    All,
    /// Messages first, then, in rounds, the profiles of the friends shown; the owner's rides
    /// in the first round.
    Shown,
}

// === impl Plan ===

impl Plan {
    /// The cheaper plan for `friends` friends shown at most `limit` at a time: [`Plan::All`]
    /// when every friend can be shown, [`Plan::Shown`] when some cannot.
    pub fn fitting(friends: usize, limit: u32) -> Self {
        if friends <= limit as usize {
            Self::All
        } else {
            Self::Shown
        }
    }
}

/// For [`Plan::Shown`]: the friends whose profiles the next round reads. `ranked` is in
/// timeline order and its first `examined` have been looked up in `lookups`; every one not
/// [`Lookup::Missing`] fills one of `limit` places, so the next round takes as many of the
/// following friends as places are left. Empty when the places are filled or the friends
/// exhausted.
pub fn next_round<'a>(
    ranked: &'a [UserId],
    examined: usize,
    lookups: &HashMap<UserId, Lookup>,
    limit: usize,
) -> &'a [UserId] {
    let (examined, rest) = ranked.split_at(examined.min(ranked.len()));
    let shown = examined
        .iter()
        .filter(|id| lookups.get(id) != Some(&Lookup::Missing))
        .count();
    &rest[..limit.saturating_sub(shown).min(rest.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uids<const N: usize>(ids: [i64; N]) -> [UserId; N] {
        ids.map(UserId::new)
    }

    #[test]
    fn every_friend_profile_is_read_only_when_every_friend_can_be_shown() {
        assert_eq!(Plan::fitting(0, 50), Plan::All);
        assert_eq!(Plan::fitting(50, 50), Plan::All);
        assert_eq!(Plan::fitting(51, 50), Plan::Shown);
        assert_eq!(Plan::fitting(1000, 500), Plan::Shown);
    }

    #[test]
    fn the_first_round_asks_for_as_many_friends_as_places() {
        let ranked = uids([5, 3, 9, 1]);
        assert_eq!(next_round(&ranked, 0, &HashMap::new(), 2), &uids([5, 3]));
        assert_eq!(next_round(&ranked, 0, &HashMap::new(), 10), &ranked);
    }

    #[test]
    fn each_missing_friend_frees_a_place_for_the_next() {
        let ranked = uids([5, 3, 9, 1, 7]);
        let lookups = HashMap::from([
            (UserId::new(5), Lookup::Missing),
            (UserId::new(3), Lookup::Unknown),
        ]);
        assert_eq!(next_round(&ranked, 2, &lookups, 2), &uids([9]));
        let all_missing = HashMap::from([
            (UserId::new(5), Lookup::Missing),
            (UserId::new(3), Lookup::Missing),
        ]);
        assert_eq!(next_round(&ranked, 2, &all_missing, 2), &uids([9, 1]));
    }

    #[test]
    fn no_round_once_the_places_are_filled_or_the_friends_exhausted() {
        let ranked = uids([5, 3, 9]);
        let found = HashMap::from([
            (UserId::new(5), Lookup::Unknown),
            (UserId::new(3), Lookup::Unknown),
        ]);
        assert!(
            next_round(&ranked, 2, &found, 2).is_empty(),
            "places filled"
        );
        let missing = HashMap::from([
            (UserId::new(5), Lookup::Missing),
            (UserId::new(3), Lookup::Missing),
            (UserId::new(9), Lookup::Missing),
        ]);
        assert!(
            next_round(&ranked, 3, &missing, 2).is_empty(),
            "friends exhausted"
        );
        assert!(
            next_round(&[], 0, &HashMap::new(), 50).is_empty(),
            "no friends"
        );
        assert!(
            next_round(&ranked, 10, &HashMap::new(), 50).is_empty(),
            "examined past the end"
        );
    }
}
