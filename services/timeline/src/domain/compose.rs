use std::collections::HashMap;

use kit::ids::UserId;

use super::{Entry, EntryMessage, Friend, Lookup};

/// Friends in timeline order: those with messages by their newest message (newest first,
/// ties by higher message id), then those without by ascending id.
///
/// `latest` maps a friend to their messages, newest first; `None` when messages could not be
/// read at all, which puts every friend in the second group.
pub fn rank(
    friends: &[UserId],
    latest: Option<&HashMap<UserId, Vec<EntryMessage>>>,
) -> Vec<UserId> {
    let newest = |id: &UserId| {
        latest
            .and_then(|l| l.get(id))
            .and_then(|m| m.first())
            .map(|m| (m.created_at, m.id))
    };
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
    latest: Option<&HashMap<UserId, Vec<EntryMessage>>>,
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
        let messages = latest.and_then(|l| l.get(id)).cloned().unwrap_or_default();
        entries.push(Entry {
            friend: Friend {
                id: *id,
                name,
                avatar_url,
            },
            messages,
        });
    }
    missing.sort_unstable();
    (entries, missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Profile;
    use kit::ids::MessageId;
    use kit::timestamp::Timestamp;
    use std::sync::Arc;

    fn uid(n: i64) -> UserId {
        UserId::new(n)
    }

    fn msg(id: i64, at: i64) -> EntryMessage {
        EntryMessage {
            id: MessageId::new(id),
            text: format!("m{id}"),
            created_at: Timestamp::from_micros(at),
        }
    }

    fn found(id: i64, name: &str) -> Lookup {
        Lookup::Found(Arc::new(Profile {
            id: uid(id),
            name: name.into(),
            avatar_url: None,
        }))
    }

    #[test]
    fn ranks_by_newest_message_then_id_ties_by_message_id() {
        let friends = [uid(1), uid(2), uid(3), uid(4), uid(5)];
        let latest = HashMap::from([
            (uid(1), vec![msg(10, 100)]),
            (uid(2), vec![msg(20, 300), msg(5, 50)]),
            (uid(3), vec![msg(31, 100)]), // same instant as friend 1, higher id
            (uid(5), vec![]),
        ]);
        let order = rank(&friends, Some(&latest));
        assert_eq!(order, [2, 3, 1, 4, 5].map(uid));
    }

    #[test]
    fn without_messages_everyone_is_ordered_by_id() {
        let friends = [uid(9), uid(2), uid(5)];
        assert_eq!(rank(&friends, None), [2, 5, 9].map(uid));
    }

    #[test]
    fn assemble_drops_missing_keeps_unknown_and_limits() {
        let ranked = [3, 1, 4, 2, 5].map(uid);
        let profiles = HashMap::from([
            (uid(1), found(1, "one")),
            (uid(2), Lookup::Missing),
            (uid(3), Lookup::Missing),
            (uid(4), Lookup::Unknown),
            (uid(5), found(5, "five")),
        ]);
        let latest = HashMap::from([(uid(1), vec![msg(1, 1)]), (uid(3), vec![msg(3, 3)])]);
        let (entries, missing) = assemble(&ranked, &profiles, Some(&latest), 2);
        let ids: Vec<_> = entries.iter().map(|e| e.friend.id).collect();
        assert_eq!(ids, [1, 4].map(uid), "missing skipped, limit 2");
        assert_eq!(entries[0].friend.name.as_deref(), Some("one"));
        assert_eq!(entries[0].messages, vec![msg(1, 1)]);
        assert_eq!(
            entries[1].friend.name, None,
            "unknown profile shown without a name"
        );
        assert!(entries[1].messages.is_empty());
        assert_eq!(
            missing,
            [2, 3].map(uid),
            "every missing friend, even past the limit, ascending"
        );
    }

    #[test]
    fn assemble_skips_friends_not_examined() {
        let ranked = [1, 2, 3].map(uid);
        let profiles = HashMap::from([(uid(1), found(1, "a")), (uid(3), found(3, "c"))]);
        let (entries, missing) = assemble(&ranked, &profiles, None, 10);
        assert_eq!(entries.len(), 2);
        assert!(missing.is_empty());
    }

    #[test]
    fn empty_inputs_give_an_empty_timeline() {
        assert!(rank(&[], None).is_empty());
        let (entries, missing) = assemble(&[], &HashMap::new(), None, 50);
        assert!(entries.is_empty() && missing.is_empty());
    }
}
