use kit::ids::MessageId;
use kit::timestamp::Timestamp;

use serde_json::{Value, json};

use super::*;
use crate::domain::{EntryRef, KEEP, PerFriend, Timeline, TimelineLimit};

const OWNER: i64 = 1;

/// When every answer of these tests was made.
const AT: Timestamp = Timestamp::from_micros(1_767_225_600_000_000);

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

fn profile(id: i64) -> ViewChange {
    ViewChange::UserUpserted(Arc::new(Profile {
        id: uid(id),
        name: format!("user {id}"),
        avatar_url: (id % 2 == 0).then(|| format!("https://a.example/{id}.png")),
    }))
}

fn params(per_friend: &str, limit: &str) -> TimelineParams {
    TimelineParams {
        per_friend: PerFriend::parse("per_friend", Some(per_friend)).unwrap(),
        limit: TimelineLimit::parse("limit", Some(limit)).unwrap(),
    }
}

/// A small world: the owner, `friends` friends (ids 2..), each friend `i` with
/// `messages(i)` messages `(id, at)`; friends in `deleted` have no profile.
struct World {
    view: View,
    friends: Vec<UserId>,
    messages: HashMap<UserId, Vec<EntryMessage>>,
}

impl World {
    fn new() -> Self {
        let mut view = View::default();
        view.apply(profile(OWNER));
        Self {
            view,
            friends: Vec::new(),
            messages: HashMap::new(),
        }
    }

    fn friend(&mut self, id: i64, messages: &[(i64, i64)], has_profile: bool) {
        if has_profile {
            self.view.apply(profile(id));
        }
        self.view
            .apply(ViewChange::FriendshipUpserted(uid(OWNER), uid(id)));
        self.friends.push(uid(id));
        for &(mid, at) in messages {
            self.write(id, mid, at);
        }
    }

    fn write(&mut self, author: i64, id: i64, at: i64) {
        self.view.apply(ViewChange::MessageUpserted {
            author: uid(author),
            message: msg(id, at),
        });
        let all = self.messages.entry(uid(author)).or_default();
        all.push(msg(id, at));
        all.sort_by_key(|m| std::cmp::Reverse((m.created_at, m.id)));
    }

    /// The composed answer over every friend: what the engine computes from the services'
    /// answers (every friend's messages, every profile the plan reads).
    fn composed(&self, params: TimelineParams, plan: Plan) -> ViewRead {
        let per_friend = params.per_friend.get() as usize;
        let limit = params.limit.get() as usize;
        let latest: HashMap<UserId, Vec<EntryMessage>> = self
            .messages
            .iter()
            .map(|(id, all)| (*id, all.iter().take(per_friend).cloned().collect()))
            .collect();
        let ranked = rank(&self.friends, &latest);
        let lookups = self.view.lookups(&ranked, plan, limit);
        let (entries, missing_friends) = assemble(&ranked, &lookups, &latest, limit);
        let timeline = Timeline {
            user_id: uid(OWNER),
            entries: entries.iter().map(EntryRef::to_entry).collect(),
            missing_friends,
            degraded: Vec::new(),
            generated_at: AT,
        };
        ViewRead::Answer(timeline.render())
    }

    fn read(&self, params: TimelineParams, plan: Plan) -> ViewRead {
        self.view.read(uid(OWNER), params, |_| plan, AT)
    }
}

/// Pseudo-random numbers below the argument (xorshift), the same for the same `seed`.
fn random(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |below| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    }
}

/// The answer's JSON.
fn body(read: &ViewRead) -> Value {
    match read {
        ViewRead::Answer(rendered) => serde_json::from_slice(&rendered.body).unwrap(),
        other => panic!("not an answer: {other:?}"),
    }
}

/// The answer's entries.
fn entries(read: &ViewRead) -> Vec<Value> {
    body(read)["entries"].as_array().unwrap().clone()
}

fn shown(read: &ViewRead) -> Vec<i64> {
    entries(read)
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect()
}

fn missing(read: &ViewRead) -> Vec<i64> {
    body(read)["missing_friends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect()
}

/// The ids of the messages of the answer's `entry`-th entry.
fn message_ids(read: &ViewRead, entry: usize) -> Vec<i64> {
    entries(read)[entry]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn an_owner_without_a_profile_is_no_such_user() {
    let mut world = World::new();
    world.friend(2, &[(1, 1)], true);
    world.view.apply(ViewChange::UserDeleted(uid(OWNER)));
    assert_eq!(
        world.read(TimelineParams::default(), Plan::All),
        ViewRead::NoSuchUser
    );
    assert_eq!(
        View::default().read(uid(5), TimelineParams::default(), |_| Plan::All, AT),
        ViewRead::NoSuchUser
    );
}

#[test]
fn a_user_without_friends_has_an_empty_timeline() {
    let world = World::new();
    let read = world.read(TimelineParams::default(), Plan::All);
    assert_eq!(
        body(&read),
        json!({"user_id": OWNER, "entries": [], "missing_friends": [], "degraded": [],
            "generated_at": "2026-01-01T00:00:00Z"})
    );
}

#[test]
fn friends_rank_by_newest_message_then_by_id_without() {
    let mut world = World::new();
    world.friend(5, &[(10, 100)], true);
    world.friend(2, &[], true);
    world.friend(3, &[(20, 300), (5, 50)], true);
    world.friend(9, &[], true);
    world.friend(4, &[(31, 100)], true); // same instant as friend 5, higher id
    let read = world.read(params("2", "50"), Plan::All);
    assert_eq!(shown(&read), [3, 4, 5, 2, 9]);
    let entries = entries(&read);
    assert_eq!(
        entries[0]["messages"],
        serde_json::to_value([msg(20, 300), msg(5, 50)]).unwrap()
    );
    assert_eq!(entries[0]["friend"]["name"], "user 3");
    assert_eq!(entries[3]["messages"], json!([]));
    assert_eq!(read, world.composed(params("2", "50"), Plan::All));
}

#[test]
fn a_limit_that_cuts_inside_a_tie_keeps_the_higher_message_ids() {
    let mut world = World::new();
    // Six friends whose newest messages share one instant; ids decide.
    for (friend, id) in [(2, 40), (3, 44), (4, 41), (5, 43), (6, 42), (7, 45)] {
        world.friend(friend, &[(id, 1_000), (id + 100, 10)], true);
    }
    world.friend(8, &[(1, 2_000)], true);
    for limit in ["1", "2", "3", "4"] {
        let read = world.read(params("1", limit), Plan::All);
        assert_eq!(
            read,
            world.composed(params("1", limit), Plan::All),
            "{limit}"
        );
    }
    assert_eq!(
        shown(&world.read(params("1", "4"), Plan::All)),
        [8, 7, 3, 5]
    );
}

#[test]
fn every_missing_friend_is_reported_when_all_profiles_are_read() {
    let mut world = World::new();
    world.friend(2, &[(1, 10)], true);
    world.friend(3, &[(2, 20)], false);
    world.friend(4, &[], false);
    world.friend(5, &[(3, 30)], true);
    world.friend(6, &[(4, 5)], true);
    let read = world.read(params("1", "1"), Plan::All);
    assert_eq!(shown(&read), [5]);
    assert_eq!(missing(&read), [3, 4], "even those ranked past the limit");
    assert_eq!(read, world.composed(params("1", "1"), Plan::All));
}

#[test]
fn only_missing_friends_met_while_filling_the_limit_are_reported_when_shown() {
    let mut world = World::new();
    world.friend(2, &[(1, 10)], true);
    world.friend(3, &[(2, 40)], false); // ranked first: met
    world.friend(4, &[], false); // ranked last: never met
    world.friend(5, &[(3, 30)], true);
    world.friend(6, &[(4, 20)], false); // between the two shown: met
    let read = world.read(params("1", "2"), Plan::Shown);
    assert_eq!(shown(&read), [5, 2]);
    assert_eq!(missing(&read), [3, 6]);
    assert_eq!(read, world.composed(params("1", "2"), Plan::Shown));
    // With room for everyone, every missing friend is met.
    let read = world.read(params("1", "10"), Plan::Shown);
    assert_eq!(missing(&read), [3, 4, 6]);
    assert_eq!(read, world.composed(params("1", "10"), Plan::Shown));
}

#[test]
fn the_plan_is_chosen_for_the_number_of_friends() {
    let mut world = World::new();
    for friend in 2..=8 {
        world.friend(friend, &[], true);
    }
    let mut asked = None;
    world.view.read(
        uid(OWNER),
        params("1", "3"),
        |friends| {
            asked = Some(friends);
            Plan::All
        },
        AT,
    );
    assert_eq!(asked, Some(7));
}

#[test]
fn a_trimmed_author_with_too_few_kept_cannot_be_shown() {
    let mut world = World::new();
    world.friend(2, &[], true);
    world.friend(3, &[(1, 1)], true);
    for i in 0..=KEEP as i64 {
        world.write(2, 100 + i, 100 + i);
    }
    // The newest eleven deleted: nine left of a trimmed author.
    for i in (KEEP as i64 - 10..=KEEP as i64).rev() {
        world
            .view
            .apply(ViewChange::MessageDeleted(MessageId::new(100 + i)));
    }
    assert_eq!(
        world.read(params("10", "50"), Plan::All),
        ViewRead::Short(uid(2))
    );
    assert!(matches!(
        world.read(params("9", "50"), Plan::All),
        ViewRead::Answer(_)
    ));
}

#[test]
fn an_author_whose_newest_is_unknown_cannot_be_ranked_even_unshown() {
    let mut world = World::new();
    world.friend(2, &[(1, 5_000)], true);
    world.friend(3, &[], true);
    for i in 0..=KEEP as i64 {
        world.write(3, 100 + i, 100 + i);
    }
    for i in 1..=KEEP as i64 {
        world
            .view
            .apply(ViewChange::MessageDeleted(MessageId::new(100 + i)));
    }
    assert_eq!(
        world.read(params("1", "1"), Plan::All),
        ViewRead::Short(uid(3))
    );
}

#[test]
fn a_deleted_friendship_or_message_leaves_the_timeline() {
    let mut world = World::new();
    world.friend(2, &[(1, 10), (2, 20)], true);
    world.friend(3, &[(3, 30)], true);
    world
        .view
        .apply(ViewChange::MessageDeleted(MessageId::new(3)));
    world
        .view
        .apply(ViewChange::FriendshipDeleted(uid(2), uid(OWNER)));
    let read = world.read(params("2", "50"), Plan::All);
    assert_eq!(shown(&read), [3]);
    assert!(message_ids(&read, 0).is_empty());
}

#[test]
fn a_reset_part_is_empty_until_replayed() {
    let mut world = World::new();
    world.friend(2, &[(1, 10)], true);
    world.view.reset(Part::Messages);
    let read = world.read(params("1", "50"), Plan::All);
    assert_eq!(shown(&read), [2]);
    world.view.reset(Part::Friends);
    assert!(shown(&world.read(params("1", "50"), Plan::All)).is_empty());
    world.view.reset(Part::Users);
    assert_eq!(
        world.read(params("1", "50"), Plan::All),
        ViewRead::NoSuchUser
    );
    assert_eq!(world.view.size(), ViewSize::default());
}

#[test]
fn a_repair_makes_a_short_author_readable_again() {
    let mut world = World::new();
    world.friend(2, &[], true);
    for i in 1..=KEEP as i64 + 5 {
        world.write(2, i, i);
    }
    let mut repair = None;
    for id in (1..=KEEP as i64 + 5).rev() {
        repair = repair.or(world
            .view
            .apply(ViewChange::MessageDeleted(MessageId::new(id))));
        if id == 15 {
            break;
        }
    }
    assert_eq!(repair, Some(uid(2)));
    assert_eq!(world.view.size().repairs, 1);
    assert_eq!(
        world.read(params("10", "5"), Plan::All),
        ViewRead::Short(uid(2))
    );
    let generation = world.view.repair_generation();
    let fetched: Vec<_> = (1..15).rev().map(|i| msg(i, i)).collect();
    assert_eq!(world.view.finish_repair(uid(2), generation, fetched), None);
    let read = world.read(params("10", "5"), Plan::All);
    assert_eq!(message_ids(&read, 0), (5..=14).rev().collect::<Vec<_>>());
}

/// Many pseudo-random worlds, with ties, deletions and deleted friends: the view's answer
/// is the composed one for every plan, `per_friend` and `limit`.
#[test]
fn the_view_answers_as_composing_over_every_friend_would() {
    let mut next = random(0x9e37_79b9_7f4a_7c15);
    let mut message = 0;
    for _ in 0..200 {
        let mut world = World::new();
        let friends = next(40);
        for friend in 2..2 + friends as i64 {
            let written: Vec<(i64, i64)> = (0..next(6))
                .map(|_| {
                    message += 1;
                    // Few distinct instants: ties are common.
                    (message, next(8) as i64)
                })
                .collect();
            world.friend(friend, &written, next(5) != 0);
        }
        for (per_friend, limit) in [("1", "1"), ("1", "3"), ("3", "5"), ("10", "50")] {
            for plan in [Plan::All, Plan::Shown] {
                let p = params(per_friend, limit);
                assert_eq!(
                    world.read(p, plan),
                    world.composed(p, plan),
                    "{p:?} {plan:?}"
                );
            }
        }
    }
}

/// A user's version stands still only while their answers do: under random changes of
/// every kind, every user whose version did not move answers as before, for every plan,
/// `per_friend` and `limit`.
#[test]
fn an_answer_changes_only_with_its_users_version() {
    let mut next = random(0x51_7cc1_b727_220a);
    const USERS: i64 = 12;
    let mut view = View::default();
    let mut message = 0;
    let reads = |view: &View| -> Vec<(Version, Vec<ViewRead>)> {
        (1..=USERS)
            .map(|user| {
                let answers = [("1", "2"), ("2", "50")]
                    .into_iter()
                    .flat_map(|(per_friend, limit)| {
                        [Plan::All, Plan::Shown].map(|plan| {
                            view.read(uid(user), params(per_friend, limit), |_| plan, AT)
                        })
                    })
                    .collect();
                (view.version(uid(user)), answers)
            })
            .collect()
    };
    for _ in 0..2_000 {
        let before = reads(&view);
        let (a, b) = (
            uid(1 + next(USERS as u64) as i64),
            uid(1 + next(USERS as u64) as i64),
        );
        let change = match next(7) {
            0 => profile(a.get()),
            1 => ViewChange::UserDeleted(a),
            2 | 3 => ViewChange::FriendshipUpserted(a, b),
            4 => ViewChange::FriendshipDeleted(a, b),
            5 => {
                message += 1;
                ViewChange::MessageUpserted {
                    author: a,
                    message: msg(message, next(20) as i64),
                }
            }
            _ => ViewChange::MessageDeleted(MessageId::new(1 + next(message.max(1) as u64) as i64)),
        };
        view.apply(change.clone());
        for (user, (was, now)) in before.iter().zip(reads(&view)).enumerate() {
            if was.0 == now.0 {
                assert_eq!(was.1, now.1, "user {} after {change:?}", user + 1);
            }
        }
    }
    for part in Part::ALL {
        let before = view.version(uid(1));
        view.reset(part);
        assert_ne!(view.version(uid(1)), before, "a reset moves every version");
    }
}
