use kit::timestamp::Timestamp;

use super::*;
use crate::domain::{KEEP, REPAIR_BELOW};

const AUTHOR: i64 = 7;

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

fn kept_ids(authors: &Authors, author: i64) -> Vec<i64> {
    authors
        .of(uid(author))
        .map(|k| k.messages().iter().map(|m| m.id.get()).collect())
        .unwrap_or_default()
}

/// AUTHOR wrote messages 1..=n (at times 1..=n).
fn written(n: i64) -> Authors {
    let mut authors = Authors::default();
    for i in 1..=n {
        authors.upsert(uid(AUTHOR), msg(i, i));
    }
    authors
}

/// AUTHOR wrote KEEP + 5 messages, and the newest were deleted until a repair began.
fn in_repair() -> Authors {
    let mut authors = written(KEEP as i64 + 5);
    let mut began = None;
    for id in (1..=KEEP as i64 + 5).rev() {
        began = authors.delete(MessageId::new(id));
        if began.is_some() {
            break;
        }
    }
    assert_eq!(began, Some(uid(AUTHOR)));
    assert_eq!(kept_ids(&authors, AUTHOR).len(), REPAIR_BELOW - 1);
    authors
}

#[test]
fn only_kept_messages_are_indexed() {
    let authors = written(KEEP as i64 + 3);
    assert_eq!(authors.messages(), KEEP, "the trimmed three are forgotten");
    assert_eq!(authors.authors(), 1);
    let mut authors = authors;
    assert_eq!(
        authors.delete(MessageId::new(2)),
        None,
        "trimmed: nothing to do"
    );
    assert_eq!(authors.messages(), KEEP);
}

#[test]
fn deleting_every_message_of_an_exhaustive_author_forgets_them() {
    let mut authors = written(3);
    for id in 1..=3 {
        assert_eq!(authors.delete(MessageId::new(id)), None);
    }
    assert!(authors.of(uid(AUTHOR)).is_none());
    assert_eq!((authors.authors(), authors.messages()), (0, 0));
    assert_eq!(authors.delete(MessageId::new(99)), None, "never seen");
}

#[test]
fn a_repair_begins_once_while_in_flight() {
    let mut authors = in_repair();
    assert_eq!(authors.repairs(), 1);
    let left = kept_ids(&authors, AUTHOR);
    assert_eq!(
        authors.delete(MessageId::new(left[0])),
        None,
        "already in flight"
    );
    assert_eq!(authors.repairs(), 1);
}

#[test]
fn a_repair_merges_and_forgets_what_was_deleted_meanwhile() {
    let mut authors = in_repair();
    let generation = authors.generation();
    // Deleted while the answer was on its way: a kept one and one only the answer holds.
    let left = kept_ids(&authors, AUTHOR);
    authors.delete(MessageId::new(left[0]));
    authors.delete(MessageId::new(3));
    // The answer, read before those deletions: the author's newest KEEP + 1 then.
    let newest = left[0];
    let fetched: Vec<_> = (1..=newest)
        .rev()
        .take(KEEP + 1)
        .map(|i| msg(i, i))
        .collect();
    assert_eq!(
        authors.finish_repair(uid(AUTHOR), generation, fetched),
        None
    );
    let ids = kept_ids(&authors, AUTHOR);
    assert!(!ids.contains(&left[0]) && !ids.contains(&3), "{ids:?}");
    assert_eq!(
        ids,
        (1..newest).rev().filter(|i| *i != 3).collect::<Vec<_>>()
    );
    assert!(authors.of(uid(AUTHOR)).unwrap().is_exhaustive());
    assert_eq!(authors.messages(), ids.len(), "the index follows the merge");
    assert_eq!(authors.repairs(), 0);
    assert!(
        authors.deleted.is_empty(),
        "nothing in flight: nothing remembered"
    );
}

#[test]
fn messages_arriving_below_the_floor_during_a_repair_are_merged() {
    let mut authors = in_repair();
    let generation = authors.generation();
    // Imported with an old time while the repair is in flight: below the floor.
    authors.upsert(uid(AUTHOR), msg(500, 0));
    assert!(!kept_ids(&authors, AUTHOR).contains(&500));
    let fetched = vec![msg(2, 2), msg(1, 1)];
    authors.finish_repair(uid(AUTHOR), generation, fetched);
    let ids = kept_ids(&authors, AUTHOR);
    assert_eq!(ids.last(), Some(&500), "{ids:?}");
}

#[test]
fn a_repair_from_before_a_reset_is_ignored() {
    let mut authors = in_repair();
    let stale = authors.generation();
    authors.reset();
    assert_eq!((authors.authors(), authors.repairs()), (0, 0));
    assert_eq!(
        authors.finish_repair(uid(AUTHOR), stale, vec![msg(1, 1)]),
        None
    );
    assert!(authors.of(uid(AUTHOR)).is_none());
}

#[test]
fn a_repair_not_asked_for_is_ignored() {
    let mut authors = written(3);
    let generation = authors.generation();
    assert_eq!(
        authors.finish_repair(uid(99), generation, vec![msg(50, 50)]),
        None
    );
    assert!(authors.of(uid(99)).is_none());
}

#[test]
fn a_repair_that_still_leaves_too_few_begins_another() {
    let mut authors = in_repair();
    let generation = authors.generation();
    // Everything the answer holds was deleted meanwhile.
    let fetched: Vec<_> = (100..=100 + KEEP as i64).map(|i| msg(i, i)).collect();
    for m in &fetched {
        authors.delete(m.id);
    }
    for id in kept_ids(&authors, AUTHOR) {
        authors.delete(MessageId::new(id));
    }
    assert_eq!(
        authors.finish_repair(uid(AUTHOR), generation, fetched),
        Some(uid(AUTHOR))
    );
    assert_eq!(authors.repairs(), 1);
}

#[test]
fn a_message_said_to_move_to_another_author_moves() {
    let mut authors = written(2);
    authors.upsert(uid(8), msg(2, 2));
    assert_eq!(kept_ids(&authors, AUTHOR), [1]);
    assert_eq!(kept_ids(&authors, 8), [2]);
    assert_eq!(authors.messages(), 2);
}
