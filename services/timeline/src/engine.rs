//! Composing a timeline: the friends list first, then latest messages and profiles as the
//! [`Plan`] says, joined in memory within the request's deadline.

use std::time::Duration;

use kit::ids::UserId;
use kit::timestamp::Timestamp;
use tokio::time::Instant;

use crate::clients::{CallError, Downstream, Propagate, friend_ids, in_chunks, latest_messages};
use crate::domain::{
    EntryRef, Latest, Plan, Resolved, Timeline, TimelineParams, assemble, degraded,
    distinct_friends, next_round, rank,
};
use crate::profiles::Profiles;
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
}

/// One timeline request, as every step reads it.
struct Request<'a> {
    user: UserId,
    params: TimelineParams,
    propagate: &'a Propagate,
    deadline: Instant,
}

/// What the reads after the friends list gave.
struct Reads {
    latest: Latest,
    /// The friends in timeline order.
    ranked: Vec<UserId>,
    profiles: Resolved,
}

// === impl ProfileStrategy ===

impl ProfileStrategy {
    /// The plan for a timeline of `friends` friends showing at most `limit` entries.
    pub fn plan(self, friends: usize, limit: u32) -> Plan {
        match self {
            Self::All => Plan::All,
            Self::Shown => Plan::Shown,
            Self::Auto => Plan::fitting(friends, limit),
        }
    }
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
        let request = Request {
            user,
            params,
            propagate,
            deadline: Instant::now() + self.deadline.saturating_sub(ANSWER_MARGIN),
        };
        let mut timing = ServerTiming::default();
        let friends = self.friends_of(&request, &mut timing).await?;
        let reads = match self.strategy.plan(friends.len(), params.limit.get()) {
            Plan::All => self.read_all(&request, &friends, &mut timing).await,
            Plan::Shown => self.read_shown(&request, &friends, &mut timing).await,
        };
        if reads.profiles.is_missing(user) {
            return Err(EngineError::UserNotFound(user));
        }
        let timeline = self.answer(&request, &reads, &mut timing);
        Ok(Composed { timeline, timing })
    }

    /// The user's friends, each once; without them there is no timeline.
    async fn friends_of(
        &self,
        request: &Request<'_>,
        timing: &mut ServerTiming,
    ) -> Result<Vec<UserId>, EngineError> {
        let (user, propagate, deadline) = (request.user, request.propagate, request.deadline);
        let (friends, took) = timed(friend_ids(&self.friends, user, propagate, deadline)).await;
        timing.stage("friends", took);
        match friends {
            Ok(friends) => Ok(distinct_friends(friends, user)),
            Err(err) => Err(EngineError::FriendsUnavailable(err)),
        }
    }

    /// [`Plan::All`]: messages and every profile (the owner's too) at the same time.
    async fn read_all(
        &self,
        request: &Request<'_>,
        friends: &[UserId],
        timing: &mut ServerTiming,
    ) -> Reads {
        let mut ids = friends.to_vec();
        ids.push(request.user);
        let ((latest, latest_took), (profiles, users_took)) = tokio::join!(
            timed(self.latest(request, friends)),
            timed(
                self.profiles
                    .resolve(&ids, request.propagate, request.deadline)
            ),
        );
        timing.stage("messages", latest_took);
        timing.stage("users", users_took);
        let ranked = rank(friends, &latest.by_friend);
        Reads {
            latest,
            ranked,
            profiles,
        }
    }

    /// [`Plan::Shown`]: messages, then the profiles of the friends they put first.
    async fn read_shown(
        &self,
        request: &Request<'_>,
        friends: &[UserId],
        timing: &mut ServerTiming,
    ) -> Reads {
        let (latest, took) = timed(self.latest(request, friends)).await;
        timing.stage("messages", took);
        let ranked = rank(friends, &latest.by_friend);
        let (profiles, took) = timed(self.profiles_shown(request, &ranked)).await;
        timing.stage("users", took);
        Reads {
            latest,
            ranked,
            profiles,
        }
    }

    /// The latest messages of every friend, in chunks of 500.
    async fn latest(&self, request: &Request<'_>, friends: &[UserId]) -> Latest {
        let per_friend = request.params.per_friend.get();
        let answers = in_chunks(friends, self.concurrency, |chunk| async move {
            let (propagate, deadline) = (request.propagate, request.deadline);
            latest_messages(&self.messages, &chunk, per_friend, propagate, deadline).await
        })
        .await;
        Latest::from_parts(answers.into_iter().map(|(_, answer)| answer))
    }

    /// The owner's profile and those of the first `limit` friends of `ranked` that exist,
    /// in rounds: the owner rides in the first, and each further round asks for as many
    /// friends as deleted ones left places.
    async fn profiles_shown(&self, request: &Request<'_>, ranked: &[UserId]) -> Resolved {
        let limit = request.params.limit.get() as usize;
        let mut resolved = Resolved::default();
        let mut owner = Some(request.user);
        let mut examined = 0;
        loop {
            let round = next_round(ranked, examined, &resolved.lookups, limit);
            if round.is_empty() && owner.is_none() {
                return resolved;
            }
            examined += round.len();
            let mut batch = round.to_vec();
            batch.extend(owner.take());
            let (propagate, deadline) = (request.propagate, request.deadline);
            resolved.absorb(self.profiles.resolve(&batch, propagate, deadline).await);
        }
    }

    /// The join, its degradations, and the answer's last timing figures.
    fn answer(&self, request: &Request<'_>, reads: &Reads, timing: &mut ServerTiming) -> Timeline {
        let started = Instant::now();
        let limit = request.params.limit.get() as usize;
        let (entries, missing_friends) = assemble(
            &reads.ranked,
            &reads.profiles.lookups,
            &reads.latest.by_friend,
            limit,
        );
        let degraded = degraded(&reads.latest, &reads.profiles);
        timing.stage("compose", started.elapsed());
        let (hits, misses) = (reads.profiles.hits, reads.profiles.misses);
        timing.note("cache", format!("hit={hits} miss={misses}"));
        Timeline {
            user_id: request.user,
            entries: entries.iter().map(EntryRef::to_entry).collect(),
            missing_friends,
            degraded,
            generated_at: Timestamp::now(),
        }
    }
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
    fn auto_reads_every_profile_only_when_every_friend_can_be_shown() {
        use ProfileStrategy::{All, Auto, Shown};
        assert_eq!(Auto.plan(0, 50), Plan::All);
        assert_eq!(Auto.plan(50, 50), Plan::All);
        assert_eq!(Auto.plan(51, 50), Plan::Shown);
        assert_eq!(Auto.plan(1000, 500), Plan::Shown);
        assert_eq!(All.plan(1000, 1), Plan::All);
        assert_eq!(Shown.plan(1, 50), Plan::Shown);
    }
}
