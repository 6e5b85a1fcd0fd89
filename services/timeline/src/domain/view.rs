use std::collections::HashMap;
use std::sync::Arc;

use kit::ids::UserId;
use kit::timestamp::Timestamp;

use super::{
    Authors, EntryMessage, Frame, Friendships, Kept, Lookup, Part, Plan, Profile, TimelineParams,
    ViewChange, ViewRead, ViewSize, assemble, next_round, rank, rank_key, render,
};

#[cfg(test)]
mod tests;

/// The timeline as a materialized view of the users, friends and messages feeds: every
/// user's friends, every profile, and each author's newest messages, in memory.
///
/// A change touches what it names and nothing else: a message its author, a friendship its
/// two users, a profile its user. A read selects the first `limit` friends by their newest
/// message and joins them with the same functions that join a composed timeline
/// ([`rank`], [`next_round`], [`assemble`]), so both give the same answer.
///
/// It also counts, per user, the changes to what that user's timeline is made of (their
/// profile, their friends, and their friends' profiles and messages): while a user's
/// [`Version`] stands still, so does every answer the view gives for them, which is what
/// lets an answer be kept and served again.
#[derive(Debug, Clone, Default)]
pub struct View {
    friendships: Friendships,
    profiles: HashMap<UserId, Arc<Profile>>,
    authors: Authors,
    changes: HashMap<UserId, u64>,
    resets: u64,
}

/// Where a user's timeline stands in the view: equal versions, equal answers (for the same
/// parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    resets: u64,
    changes: u64,
}

// === impl View ===

impl View {
    /// Applies `change`. Returns an author whose messages must be fetched again (see
    /// [`Authors`]).
    pub fn apply(&mut self, change: ViewChange) -> Option<UserId> {
        match change {
            ViewChange::UserUpserted(profile) => {
                self.touch_with_friends(profile.id);
                self.profiles.insert(profile.id, profile);
            }
            ViewChange::UserDeleted(id) => {
                self.touch_with_friends(id);
                self.profiles.remove(&id);
            }
            ViewChange::FriendshipUpserted(a, b) => {
                self.touch(a);
                self.touch(b);
                self.friendships.befriend(a, b);
            }
            ViewChange::FriendshipDeleted(a, b) => {
                self.touch(a);
                self.touch(b);
                self.friendships.unfriend(a, b);
            }
            ViewChange::MessageUpserted { author, message } => {
                self.touch_friends(author);
                self.authors.upsert(author, message);
            }
            ViewChange::MessageDeleted(id) => {
                if let Some(author) = self.authors.author_of(id) {
                    self.touch_friends(author);
                }
                return self.authors.delete(id);
            }
        }
        None
    }

    /// Forgets `part`, to be rebuilt by a replay of its feed.
    pub fn reset(&mut self, part: Part) {
        match part {
            Part::Users => self.profiles = HashMap::new(),
            Part::Friends => self.friendships.reset(),
            Part::Messages => self.authors.reset(),
        }
        self.resets += 1;
        self.changes = HashMap::new();
    }

    /// Where `user`'s timeline stands.
    pub fn version(&self, user: UserId) -> Version {
        Version {
            resets: self.resets,
            changes: self.changes.get(&user).copied().unwrap_or(0),
        }
    }

    /// What `user`'s timeline is made of changes.
    fn touch(&mut self, user: UserId) {
        moved(&mut self.changes, user);
    }

    /// What the timelines of `user`'s friends are made of changes: `user`'s profile or
    /// messages.
    fn touch_friends(&mut self, user: UserId) {
        for friend in self.friendships.of(user) {
            moved(&mut self.changes, *friend);
        }
    }

    /// `user`'s profile changes: their own timeline (which exists only with it) and their
    /// friends'.
    fn touch_with_friends(&mut self, user: UserId) {
        self.touch(user);
        self.touch_friends(user);
    }

    /// The repair generation, to hand back to [`finish_repair`](Self::finish_repair).
    pub fn repair_generation(&self) -> u64 {
        self.authors.generation()
    }

    /// Merges the answer to a repair of `author` (see [`Authors::finish_repair`]); returns
    /// the author again when another repair must begin.
    pub fn finish_repair(
        &mut self,
        author: UserId,
        generation: u64,
        fetched: Vec<EntryMessage>,
    ) -> Option<UserId> {
        self.touch_friends(author);
        self.authors.finish_repair(author, generation, fetched)
    }

    /// How much the view holds.
    pub fn size(&self) -> ViewSize {
        ViewSize {
            users: self.profiles.len(),
            friendships: self.friendships.pairs(),
            authors: self.authors.authors(),
            messages: self.authors.messages(),
            repairs: self.authors.repairs(),
        }
    }

    /// The timeline of `user` with `params`, made at `generated_at`, reading profiles as
    /// `plan` says for a user with that many friends; [`ViewRead::Short`] when some friend's
    /// messages are not known well enough to answer exactly.
    pub fn read(
        &self,
        user: UserId,
        params: TimelineParams,
        plan: impl FnOnce(usize) -> Plan,
        generated_at: Timestamp,
    ) -> ViewRead {
        if !self.profiles.contains_key(&user) {
            return ViewRead::NoSuchUser;
        }
        let friends = self.friendships.of(user);
        let limit = params.limit.get() as usize;
        let per_friend = params.per_friend.get() as usize;
        let (shown, missing) = match self.first_shown(friends, limit, per_friend) {
            Ok(split) => split,
            Err(short) => return ViewRead::Short(short),
        };
        // Only these can appear in the answer: the first `limit` friends with a profile
        // and every friend without one. Ranked among themselves they keep the order they
        // have among all friends, so the join below sees what it would see over all.
        let candidates: Vec<UserId> = shown.into_iter().chain(missing).collect();
        let latest: HashMap<UserId, &[EntryMessage]> = candidates
            .iter()
            .filter_map(|id| {
                let first = self.authors.of(*id)?.first(per_friend);
                (!first.is_empty()).then_some((*id, first))
            })
            .collect();
        let ranked = rank(&candidates, &latest);
        let lookups = self.lookups(&ranked, plan(friends.len()), limit);
        let (entries, missing_friends) = assemble(&ranked, &lookups, &latest, limit);
        // Written while the view is borrowed: no message or profile is copied on the way.
        let frame = Frame {
            user_id: user,
            missing_friends: &missing_friends,
            degraded: &[],
            generated_at,
        };
        ViewRead::Answer(render(frame, entries.into_iter()))
    }

    /// The first `limit` friends with a profile, in no particular order, and the friends
    /// without one; or the first friend whose messages cannot be vouched for.
    fn first_shown(
        &self,
        friends: &[UserId],
        limit: usize,
        per_friend: usize,
    ) -> Result<(Vec<UserId>, Vec<UserId>), UserId> {
        let mut present = Vec::with_capacity(friends.len());
        let mut missing = Vec::new();
        for &friend in friends {
            let kept = self.authors.of(friend);
            // Ranking needs every friend's newest message, shown or not.
            if kept.is_some_and(|k| !k.knows_newest()) {
                return Err(friend);
            }
            if self.profiles.contains_key(&friend) {
                present.push(rank_key(friend, kept.and_then(Kept::newest)));
            } else {
                missing.push(friend);
            }
        }
        if present.len() > limit {
            present.select_nth_unstable(limit - 1);
            present.truncate(limit);
        }
        let shown: Vec<UserId> = present.into_iter().map(|(_, id)| id).collect();
        match shown
            .iter()
            .find(|id| self.authors.of(**id).is_some_and(|k| !k.serves(per_friend)))
        {
            Some(short) => Err(*short),
            None => Ok((shown, missing)),
        }
    }

    /// The profiles the composed timeline would have looked up under `plan`: every
    /// friend's, or (shown) round by round until `limit` friends with a profile are found.
    fn lookups(&self, ranked: &[UserId], plan: Plan, limit: usize) -> HashMap<UserId, Lookup> {
        let lookup = |id: &UserId| {
            let profile = self.profiles.get(id).cloned();
            (*id, Lookup::answered(profile))
        };
        match plan {
            Plan::All => ranked.iter().map(lookup).collect(),
            Plan::Shown => {
                let mut lookups = HashMap::new();
                let mut examined = 0;
                loop {
                    let round = next_round(ranked, examined, &lookups, limit);
                    if round.is_empty() {
                        return lookups;
                    }
                    examined += round.len();
                    lookups.extend(round.iter().map(lookup));
                }
            }
        }
    }
}

/// Moves `user`'s version in `changes`.
fn moved(changes: &mut HashMap<UserId, u64>, user: UserId) {
    *changes.entry(user).or_default() += 1;
}
