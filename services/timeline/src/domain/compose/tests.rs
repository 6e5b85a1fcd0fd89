use std::sync::Arc;

use kit::ids::MessageId;
use kit::timestamp::Timestamp;

use super::*;
use crate::domain::Profile;

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

fn latest(complete: bool) -> Latest {
    Latest {
        by_friend: HashMap::new(),
        complete,
    }
}

fn resolved(users_failed: bool, stale_served: bool) -> Resolved {
    Resolved {
        users_failed,
        stale_served,
        ..Resolved::default()
    }
}

#[test]
fn friends_are_distinct_and_never_the_user() {
    let ids = [3, 1, 3, 7, 1].map(uid).to_vec();
    assert_eq!(distinct_friends(ids, uid(7)), [3, 1].map(uid));
    assert!(distinct_friends(vec![uid(7), uid(7)], uid(7)).is_empty());
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
    let order = rank(&friends, &latest);
    assert_eq!(order, [2, 3, 1, 4, 5].map(uid));
}

/// What the messages service answers for friends who wrote nothing.
fn no_messages() -> HashMap<UserId, Vec<EntryMessage>> {
    HashMap::new()
}

#[test]
fn without_messages_everyone_is_ordered_by_id() {
    let friends = [uid(9), uid(2), uid(5)];
    assert_eq!(rank(&friends, &no_messages()), [2, 5, 9].map(uid));
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
    let (entries, missing) = assemble(&ranked, &profiles, &latest, 2);
    let ids: Vec<_> = entries.iter().map(|e| e.id).collect();
    assert_eq!(ids, [1, 4].map(uid), "missing skipped, limit 2");
    assert_eq!(entries[0].name, Some("one"));
    assert_eq!(entries[0].messages, [msg(1, 1)]);
    assert_eq!(
        entries[1].name, None,
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
    let latest = no_messages();
    let (entries, missing) = assemble(&ranked, &profiles, &latest, 10);
    assert_eq!(entries.len(), 2);
    assert!(missing.is_empty());
}

#[test]
fn empty_inputs_give_an_empty_timeline() {
    assert!(rank(&[], &no_messages()).is_empty());
    let (profiles, latest) = (HashMap::new(), no_messages());
    let (entries, missing) = assemble(&[], &profiles, &latest, 50);
    assert!(entries.is_empty() && missing.is_empty());
}

#[test]
fn a_complete_read_degrades_nothing() {
    assert!(degraded(&latest(true), &resolved(false, false)).is_empty());
}

#[test]
fn each_shortfall_names_its_degradation() {
    use Degradation::{Messages, StaleProfiles, Users};
    assert_eq!(
        degraded(&latest(false), &resolved(false, false)),
        [Messages]
    );
    assert_eq!(degraded(&latest(true), &resolved(true, false)), [Users]);
    assert_eq!(
        degraded(&latest(true), &resolved(true, true)),
        [Users, StaleProfiles]
    );
}

#[test]
fn degradations_come_in_their_declared_order() {
    use Degradation::{Messages, StaleProfiles, Users};
    assert_eq!(
        degraded(&latest(false), &resolved(true, true)),
        [Users, Messages, StaleProfiles]
    );
    let json = serde_json::to_string(&degraded(&latest(false), &resolved(true, true))).unwrap();
    assert_eq!(json, r#"["users","messages","stale_profiles"]"#);
}

#[test]
fn the_rank_key_orders_as_rank_does() {
    let friends = [uid(1), uid(2), uid(3), uid(4)];
    let latest = HashMap::from([(uid(3), vec![msg(7, 50)]), (uid(1), vec![msg(9, 50)])]);
    let mut keys: Vec<_> = friends
        .iter()
        .map(|id| rank_key(*id, latest.get(id).and_then(|m| m.first())))
        .collect();
    keys.sort_unstable();
    let by_key: Vec<UserId> = keys.into_iter().map(|(_, id)| id).collect();
    assert_eq!(by_key, rank(&friends, &latest));
    assert_eq!(by_key, [1, 3, 2, 4].map(uid));
}
