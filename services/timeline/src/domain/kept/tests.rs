use super::*;

fn msg(id: i64, at: i64) -> EntryMessage {
    EntryMessage {
        id: MessageId::new(id),
        text: format!("m{id}"),
        created_at: Timestamp::from_micros(at),
    }
}

fn ids(kept: &Kept) -> Vec<i64> {
    kept.messages().iter().map(|m| m.id.get()).collect()
}

/// An author with messages 1..=n, message i written at time i.
fn with(n: i64) -> Kept {
    let mut kept = Kept::new();
    for i in 1..=n {
        kept.insert(msg(i, i));
    }
    kept
}

#[test]
fn a_new_author_has_no_messages_and_that_is_all_there_is() {
    let kept = Kept::new();
    assert!(kept.is_exhaustive() && kept.knows_newest() && kept.serves(10));
    assert!(kept.newest().is_none() && kept.first(3).is_empty());
    assert!(!kept.needs_repair());
}

#[test]
fn messages_are_newest_first_by_time_then_higher_id() {
    let mut kept = Kept::new();
    for m in [msg(1, 10), msg(3, 30), msg(2, 30), msg(9, 5)] {
        assert_eq!(kept.insert(m), None);
    }
    assert_eq!(ids(&kept), [3, 2, 1, 9]);
    assert_eq!(kept.newest().map(|m| m.id.get()), Some(3));
    assert_eq!(kept.first(2).len(), 2);
    assert_eq!(kept.first(99).len(), 4);
}

#[test]
fn the_same_message_again_is_kept_once() {
    let mut kept = with(3);
    assert_eq!(kept.insert(msg(2, 2)), None);
    assert_eq!(ids(&kept), [3, 2, 1]);
}

#[test]
fn past_keep_the_oldest_is_trimmed_and_the_author_no_longer_exhaustive() {
    let mut kept = with(KEEP as i64);
    assert!(kept.is_exhaustive());
    let trimmed = kept.insert(msg(100, 100));
    assert_eq!(trimmed.map(|m| m.id.get()), Some(1));
    assert_eq!(kept.messages().len(), KEEP);
    assert!(!kept.is_exhaustive());
    assert!(kept.serves(10) && kept.knows_newest());
    assert!(
        kept.messages.capacity() <= KEEP,
        "no spare room: {}",
        kept.messages.capacity()
    );
}

#[test]
fn a_message_older_than_the_floor_is_not_kept() {
    let mut kept = with(KEEP as i64 + 1); // message 1 trimmed: the floor is (1, 1)
    let old = msg(50, 0);
    assert_eq!(kept.insert(old.clone()), Some(old));
    assert_eq!(
        kept.insert(msg(1, 1)).map(|m| m.id.get()),
        Some(1),
        "the trimmed message itself"
    );
    assert_eq!(kept.messages().len(), KEEP);
    // The floor's own time: the id decides.
    let mut kept = Kept::new();
    for i in 1..=KEEP as i64 + 2 {
        kept.insert(msg(100 + i, i)); // the floor ends at (2, 102)
    }
    kept.remove(MessageId::new(103));
    assert_eq!(
        kept.insert(msg(50, 2)).map(|m| m.id.get()),
        Some(50),
        "same time as the floor, lower id"
    );
    assert_eq!(kept.insert(msg(150, 2)), None, "same time, higher id");
}

#[test]
fn a_message_older_than_a_full_list_is_trimmed_at_once() {
    let mut kept = Kept::new();
    for i in 1..=KEEP as i64 {
        kept.insert(msg(i, i + 10));
    }
    let old = msg(99, 1);
    assert_eq!(kept.insert(old.clone()), Some(old));
    assert!(!kept.is_exhaustive());
    assert_eq!(ids(&kept).last(), Some(&1));
}

#[test]
fn deleting_kept_messages_of_a_trimmed_author_calls_for_a_repair() {
    let mut kept = with(KEEP as i64 + 5);
    for id in (KEEP as i64 - 4..=KEEP as i64 + 5).rev() {
        assert!(kept.remove(MessageId::new(id)));
    }
    assert_eq!(kept.messages().len(), REPAIR_BELOW);
    assert!(!kept.needs_repair(), "exactly the largest per_friend left");
    assert!(kept.remove(MessageId::new(15)));
    assert!(kept.needs_repair());
    assert!(kept.serves(9) && !kept.serves(10));
    assert!(!kept.remove(MessageId::new(15)), "already gone");
}

#[test]
fn an_exhaustive_author_never_needs_a_repair() {
    let mut kept = with(3);
    kept.remove(MessageId::new(3));
    kept.remove(MessageId::new(2));
    kept.remove(MessageId::new(1));
    assert!(!kept.needs_repair() && kept.knows_newest() && kept.serves(10));
}

#[test]
fn a_trimmed_author_with_nothing_kept_does_not_know_its_newest() {
    let mut kept = with(KEEP as i64 + 1);
    for id in 2..=KEEP as i64 + 1 {
        kept.remove(MessageId::new(id));
    }
    assert!(!kept.knows_newest() && !kept.serves(1) && kept.needs_repair());
    assert_eq!(kept.insert(msg(500, 0)).map(|m| m.id.get()), Some(500));
    assert_eq!(kept.insert(msg(501, 1_000)), None, "newer than the floor");
    assert!(kept.knows_newest());
}

#[test]
fn a_full_answer_moves_the_floor_down_to_its_last_message() {
    // 40 messages: 1 to 20 trimmed (the floor is message 20), 30 to 40 deleted.
    let mut kept = with(40);
    for id in 30..=40 {
        kept.remove(MessageId::new(id));
    }
    assert_eq!(ids(&kept), (21..=29).rev().collect::<Vec<_>>());
    let fetched: Vec<_> = (1..=29).rev().take(KEEP + 1).map(|i| msg(i, i)).collect();
    kept.merge(fetched, Vec::new(), &HashSet::new());
    assert_eq!(ids(&kept), (10..=29).rev().collect::<Vec<_>>());
    assert!(
        !kept.is_exhaustive(),
        "message 9 was the 21st: more may follow"
    );
    assert_eq!(kept.insert(msg(9, 9)).map(|m| m.id.get()), Some(9));
}

#[test]
fn a_short_answer_makes_the_author_exhaustive() {
    let mut kept = with(KEEP as i64 + 3); // 1 to 3 trimmed
    for id in 4..=KEEP as i64 + 3 {
        kept.remove(MessageId::new(id));
    }
    assert!(!kept.knows_newest());
    let fetched = vec![msg(2, 2), msg(3, 3), msg(1, 1)];
    kept.merge(fetched, Vec::new(), &HashSet::new());
    assert_eq!(ids(&kept), [3, 2, 1]);
    assert!(kept.is_exhaustive() && kept.serves(10));
}

#[test]
fn what_arrived_or_was_deleted_while_fetching_wins_over_the_answer() {
    let mut kept = with(KEEP as i64 + 1); // floor (1, 1)
    for id in 5..=KEEP as i64 + 1 {
        kept.remove(MessageId::new(id));
    }
    // A message newer than all, applied from the feed while the answer was on its way.
    kept.insert(msg(100, 100));
    // The answer was read before message 100 and before message 3 was deleted; message 0
    // with an old time was imported meanwhile and arrived below the floor.
    let fetched = vec![msg(4, 4), msg(3, 3), msg(2, 2), msg(1, 1)];
    let arrived = vec![msg(7, 0)];
    let deleted = HashSet::from([MessageId::new(3)]);
    kept.merge(fetched, arrived, &deleted);
    assert_eq!(ids(&kept), [100, 4, 2, 1, 7]);
    assert!(kept.is_exhaustive());
}

#[test]
fn merging_never_keeps_more_than_keep() {
    let mut kept = with(KEEP as i64 + 1);
    kept.remove(MessageId::new(21));
    let fetched: Vec<_> = (100..=130).map(|i| msg(i, i)).collect();
    kept.merge(fetched, Vec::new(), &HashSet::new());
    assert_eq!(kept.messages().len(), KEEP);
    assert_eq!(ids(&kept)[0], 130);
    assert!(!kept.is_exhaustive());
    assert!(kept.messages.capacity() <= KEEP);
}
