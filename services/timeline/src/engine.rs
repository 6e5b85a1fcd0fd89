//! Composing a timeline: the friends list first, then latest messages and profiles, joined
//! in memory within the request's deadline.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use kit::ids::UserId;
use kit::timestamp::Timestamp;
use tokio::time::Instant;

use crate::clients::{CallError, Downstream, Propagate, friend_ids, in_chunks, latest_messages};
use crate::domain::{Degradation, EntryMessage, Lookup, Timeline, TimelineParams, assemble, rank};
use crate::metrics::{Metrics, Served};
use crate::profiles::{Profiles, Resolved};
use crate::timing::ServerTiming;

/// Time kept back from the deadline to join, serialize and send the answer.
const ANSWER_MARGIN: Duration = Duration::from_millis(15);

/// Which profiles a timeline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileStrategy {
    /// Every friend's profile, at the same time as their messages: one round trip after the
    /// friends list, and `missing_friends` lists every deleted friend.
    All,
    /// Messages first, then only the profiles of the friends shown (up to `limit`): fewer
    /// profiles read, one more round trip; `missing_friends` lists the deleted friends met
    /// on the way.
    Shown,
    /// `all` when every friend can be shown (no more friends than `limit`), `shown` when
    /// most cannot: one round trip less for small friend lists, far fewer profiles read for
    /// large ones.
    Auto,
}

// === impl ProfileStrategy ===

impl ProfileStrategy {
    /// The strategy for a timeline of `friends` friends showing at most `limit` entries:
    /// `Auto` resolved, the others as they are.
    pub fn for_friends(self, friends: usize, limit: u32) -> Self {
        match self {
            Self::Auto if friends <= limit as usize => Self::All,
            Self::Auto => Self::Shown,
            chosen => chosen,
        }
    }
}

/// Why there is no timeline.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The users service says this user does not exist.
    #[error("no user with id {0}")]
    UserNotFound(UserId),
    /// Without the friends list there is no timeline.
    #[error("the friends service is unavailable: {0}")]
    FriendsUnavailable(CallError),
}

/// A timeline with where its time went.
#[derive(Debug)]
pub struct Composed {
    /// The answer.
    pub timeline: Timeline,
    /// Stage durations and cache figures for `Server-Timing`.
    pub timing: ServerTiming,
}

/// The composer: downstream clients, the profile cache and the limits.
#[derive(Debug)]
pub struct Engine {
    /// The friends service.
    pub friends: Downstream,
    /// The messages service.
    pub messages: Downstream,
    /// Profiles, cached.
    pub profiles: Profiles,
    /// Bulk requests in flight at once per stage.
    pub concurrency: usize,
    /// The whole request's deadline.
    pub deadline: Duration,
    /// Which profiles to read.
    pub strategy: ProfileStrategy,
    /// Metrics.
    pub metrics: Metrics,
}

/// Latest messages by friend, and whether any chunk failed.
struct Latest {
    by_friend: HashMap<UserId, Vec<EntryMessage>>,
    failed: bool,
}

// === impl Engine ===

impl Engine {
    /// The timeline of `user`.
    #[tracing::instrument(skip_all, fields(user_id = %user))]
    pub async fn timeline(
        &self,
        user: UserId,
        params: TimelineParams,
        propagate: &Propagate,
    ) -> Result<Composed, EngineError> {
        let deadline = Instant::now() + self.deadline.saturating_sub(ANSWER_MARGIN);
        let mut timing = ServerTiming::default();

        let (friends, took) = timed(friend_ids(&self.friends, user, propagate, deadline)).await;
        timing.stage("friends", took);
        let friends = match friends {
            Ok(friends) => distinct_others(friends, user),
            Err(err) => {
                self.metrics.served(Served::Unavailable);
                return Err(EngineError::FriendsUnavailable(err));
            }
        };

        let (latest, resolved) = match self.strategy.for_friends(friends.len(), params.limit.get())
        {
            ProfileStrategy::All => {
                let mut ids = friends.clone();
                ids.push(user);
                let ((latest, latest_took), (resolved, users_took)) = tokio::join!(
                    timed(self.latest(&friends, params.per_friend.get(), propagate, deadline)),
                    timed(self.profiles.resolve(&ids, propagate, deadline)),
                );
                timing.stage("messages", latest_took);
                timing.stage("users", users_took);
                (latest, resolved)
            }
            ProfileStrategy::Shown | ProfileStrategy::Auto => {
                let (latest, latest_took) =
                    timed(self.latest(&friends, params.per_friend.get(), propagate, deadline))
                        .await;
                timing.stage("messages", latest_took);
                let ranked = rank(&friends, latest.as_ref().map(|l| &l.by_friend));
                let (resolved, users_took) = timed(self.resolve_shown(
                    user,
                    &ranked,
                    params.limit.get(),
                    propagate,
                    deadline,
                ))
                .await;
                timing.stage("users", users_took);
                (latest, resolved)
            }
        };

        if resolved.lookups.get(&user) == Some(&Lookup::Missing) {
            self.metrics.served(Served::NotFound);
            return Err(EngineError::UserNotFound(user));
        }

        let started = Instant::now();
        let by_friend = latest.as_ref().map(|l| &l.by_friend);
        let ranked = rank(&friends, by_friend);
        let (entries, missing_friends) = assemble(
            &ranked,
            &resolved.lookups,
            by_friend,
            params.limit.get() as usize,
        );
        let mut degraded = Vec::new();
        if latest.as_ref().is_none_or(|l| l.failed) {
            degraded.push(Degradation::Messages);
        }
        if resolved.users_failed {
            degraded.push(Degradation::Users);
        }
        if resolved.stale_served {
            degraded.push(Degradation::StaleProfiles);
        }
        degraded.sort_unstable();
        timing.stage("compose", started.elapsed());
        timing.note(
            "cache",
            format!("hit={} miss={}", resolved.hits, resolved.misses),
        );
        self.metrics.served(if degraded.is_empty() {
            Served::Complete
        } else {
            Served::Degraded
        });
        Ok(Composed {
            timeline: Timeline {
                user_id: user,
                entries,
                missing_friends,
                degraded,
                generated_at: Timestamp::now(),
            },
            timing,
        })
    }

    /// The latest messages of every friend, in chunks of 500; `None` when no chunk answered.
    async fn latest(
        &self,
        friends: &[UserId],
        per_friend: u32,
        propagate: &Propagate,
        deadline: Instant,
    ) -> Option<Latest> {
        let mut latest = Latest {
            by_friend: HashMap::with_capacity(friends.len()),
            failed: false,
        };
        if friends.is_empty() {
            return Some(latest);
        }
        let answers = in_chunks(friends, self.concurrency, |chunk| {
            let messages = self.messages.clone();
            async move { latest_messages(&messages, &chunk, per_friend, propagate, deadline).await }
        })
        .await;
        let mut answered = false;
        for (_, answer) in answers {
            match answer {
                Ok(found) => {
                    answered = true;
                    latest.by_friend.extend(found);
                }
                Err(_) => latest.failed = true,
            }
        }
        answered.then_some(latest)
    }

    /// The owner's profile and those of the first `limit` friends of `ranked` that exist,
    /// in rounds: the owner rides in the first, and each further round asks for as many
    /// friends as deleted ones left places.
    async fn resolve_shown(
        &self,
        owner: UserId,
        ranked: &[UserId],
        limit: u32,
        propagate: &Propagate,
        deadline: Instant,
    ) -> Resolved {
        let limit = limit as usize;
        let mut all = Resolved::default();
        let mut owner = Some(owner);
        let (mut shown, mut examined) = (0, 0);
        loop {
            let wanted = if shown < limit {
                (limit - shown).min(ranked.len() - examined)
            } else {
                0
            };
            if wanted == 0 && owner.is_none() {
                return all;
            }
            let friends = &ranked[examined..examined + wanted];
            examined += wanted;
            let mut batch = friends.to_vec();
            batch.extend(owner.take());
            let round = self.profiles.resolve(&batch, propagate, deadline).await;
            shown += friends
                .iter()
                .filter(|id| round.lookups.get(id) != Some(&Lookup::Missing))
                .count();
            merge(&mut all, round);
        }
    }
}

fn merge(into: &mut Resolved, from: Resolved) {
    into.lookups.extend(from.lookups);
    into.hits += from.hits;
    into.misses += from.misses;
    into.users_failed |= from.users_failed;
    into.stale_served |= from.stale_served;
}

/// Each friend once, never the user themself, in the order given.
fn distinct_others(friends: Vec<UserId>, user: UserId) -> Vec<UserId> {
    let mut seen = HashSet::with_capacity(friends.len());
    friends
        .into_iter()
        .filter(|id| *id != user && seen.insert(*id))
        .collect()
}

async fn timed<T>(future: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let value = future.await;
    (value, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn friends_are_distinct_and_never_the_user() {
        let ids = [3, 1, 3, 7, 1].map(UserId::new).to_vec();
        assert_eq!(
            distinct_others(ids, UserId::new(7)),
            [3, 1].map(UserId::new)
        );
    }

    #[test]
    fn auto_reads_every_profile_only_when_every_friend_can_be_shown() {
        use ProfileStrategy::{All, Auto, Shown};
        assert_eq!(Auto.for_friends(0, 50), All);
        assert_eq!(Auto.for_friends(50, 50), All);
        assert_eq!(Auto.for_friends(51, 50), Shown);
        assert_eq!(Auto.for_friends(1000, 500), Shown);
        assert_eq!(All.for_friends(1000, 1), All);
        assert_eq!(Shown.for_friends(1, 50), Shown);
    }
}
