//! The join: the friends list cleaned, ranked by their messages, assembled with their
//! profiles, and the degradations that the reads leave on the answer.

use std::collections::{HashMap, HashSet};

use kit::ids::UserId;

use super::{Degradation, Entry, EntryMessage, Friend, Latest, Lookup, Resolved};

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
pub fn rank(friends: &[UserId], latest: &HashMap<UserId, Vec<EntryMessage>>) -> Vec<UserId> {
    let newest = |id: &UserId| latest.get(id)?.first().map(|m| (m.created_at, m.id));
    let (mut with, mut without): (Vec<_>, Vec<_>) = friends
        .iter()
        .map(|id| (*id, newest(id)))
        .partition(|(_, newest)| newest.is_some());
    with.sort_unstable_by_key(|&(_, newest)| std::cmp::Reverse(newest));
    without.sort_unstable_by_key(|(id, _)| *id);
    with.into_iter().chain(without).map(|(id, _)| id).collect()
}

/// Builds at most `limit` entries from `ranked` friends: friends whose profile is
/// [`Lookup::Missing`] are left out and returned, ascending, as the second value; friends
/// with no lookup at all (not examined) are skipped.
pub fn assemble(
    ranked: &[UserId],
    profiles: &HashMap<UserId, Lookup>,
    latest: &HashMap<UserId, Vec<EntryMessage>>,
    limit: usize,
) -> (Vec<Entry>, Vec<UserId>) {
    let mut entries = Vec::with_capacity(limit.min(ranked.len()));
    let mut missing = Vec::new();
    for id in ranked {
        let (name, avatar_url) = match profiles.get(id) {
            Some(Lookup::Missing) => {
                missing.push(*id);
                continue;
            }
            None => continue,
            Some(_) if entries.len() == limit => continue,
            Some(Lookup::Found(profile)) => {
                (Some(profile.name.clone()), profile.avatar_url.clone())
            }
            Some(Lookup::Unknown) => (None, None),
        };
        entries.push(Entry {
            friend: Friend {
                id: *id,
                name,
                avatar_url,
            },
            messages: latest.get(id).cloned().unwrap_or_default(),
        });
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
