//! The join: the friends list cleaned, ranked by their messages, assembled with their
//! profiles, and the degradations that the reads leave on the answer.

use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};

use kit::ids::{MessageId, UserId};
use kit::timestamp::Timestamp;

use super::{Degradation, EntryMessage, EntryRef, Latest, Lookup, Resolved};

#[cfg(test)]
mod tests;

/// Each friend once, never the user themself, in the order given.
pub fn distinct_friends(friends: Vec<UserId>, user: UserId) -> Vec<UserId> {
    let mut seen = HashSet::with_capacity(friends.len());
    friends
        .into_iter()
        .filter(|id| *id != user && seen.insert(*id))
        .collect()
}

/// Friends in timeline order: those with messages by their newest message (newest first,
/// ties by higher message id), then those without by ascending id.
///
/// `latest` maps a friend to their messages, newest first; a friend absent from it (all of
/// them when messages could not be read) is in the second group.
pub fn rank<M: AsRef<[EntryMessage]>>(
    friends: &[UserId],
    latest: &HashMap<UserId, M>,
) -> Vec<UserId> {
    let mut keyed: Vec<_> = friends
        .iter()
        .map(|id| rank_key(*id, latest.get(id).and_then(|m| m.as_ref().first())))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Where `friend`, whose newest message is `newest`, stands in timeline order: the smaller
/// key comes first. [`rank`] sorts by it; a reader that needs only the first few friends
/// can select by it instead.
pub fn rank_key(
    friend: UserId,
    newest: Option<&EntryMessage>,
) -> (Reverse<Option<(Timestamp, MessageId)>>, UserId) {
    // `Some` is greater than `None`, so reversed, friends with a message come first, the
    // newest (then the higher message id) first; the id orders those without.
    (Reverse(newest.map(|m| (m.created_at, m.id))), friend)
}

/// Builds at most `limit` entries from `ranked` friends, borrowing their profiles and
/// messages: friends whose profile is [`Lookup::Missing`] are left out and returned,
/// ascending, as the second value; friends with no lookup at all (not examined) are skipped.
pub fn assemble<'a, M: AsRef<[EntryMessage]>>(
    ranked: &[UserId],
    profiles: &'a HashMap<UserId, Lookup>,
    latest: &'a HashMap<UserId, M>,
    limit: usize,
) -> (Vec<EntryRef<'a>>, Vec<UserId>) {
    let mut entries = Vec::with_capacity(limit.min(ranked.len()));
    let mut missing = Vec::new();
    for id in ranked {
        let profile = match profiles.get(id) {
            Some(Lookup::Missing) => {
                missing.push(*id);
                continue;
            }
            None => continue,
            Some(_) if entries.len() == limit => continue,
            Some(Lookup::Found(profile)) => Some(&**profile),
            Some(Lookup::Unknown) => None,
        };
        let messages = latest.get(id).map_or(&[][..], AsRef::as_ref);
        entries.push(EntryRef::new(*id, profile, messages));
    }
    missing.sort_unstable();
    (entries, missing)
}

/// What `degraded` names for an answer made of `latest` and `profiles`, in the order of
/// [`Degradation`]: `users` when some profile could not be read, `messages` when some
/// latest messages could not, `stale_profiles` when stale cached profiles stand in.
pub fn degraded(latest: &Latest, profiles: &Resolved) -> Vec<Degradation> {
    let mut degraded: Vec<_> = [
        (!latest.complete, Degradation::Messages),
        (profiles.users_failed, Degradation::Users),
        (profiles.stale_served, Degradation::StaleProfiles),
    ]
    .into_iter()
    .filter_map(|(short, degradation)| short.then_some(degradation))
    .collect();
    degraded.sort_unstable();
    degraded
}
