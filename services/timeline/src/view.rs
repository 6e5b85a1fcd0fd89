//! The live view: the [`View`] built in memory from the users, friends and messages feeds
//! and kept current by one follower per feed, which answers timelines without a downstream
//! call.
//!
//! - On start each follower replays its feed from 0 (the view is disposable: the log
//!   remembers), then follows it. A part is *caught up* once its follower was at its
//!   feed's head; until every part is, timelines are composed over HTTP as without a view.
//! - A follower that lags more than `--max-view-lag` behind its feed's head, or cannot
//!   reach it, makes answers composed with `degraded: view` until it catches up again. A
//!   feed that no longer holds the follower's position (410) rebuilds that part from 0.
//! - A request carrying `X-Change-Position` waits, at most `--max-wait-for-writes`, until
//!   each position is applied (see [`LiveView::reach`]).
//! - Each batch is applied under the write lock, held for that batch only and never
//!   across an await; reads share the read lock.
//! - An answer is kept (`--view-kept-answers-mib`) with the [`Version`] of the user's
//!   timeline it was made at, and served again, restamped, while that version stands: a
//!   change to the user's friends, or to a friend's profile or messages, moves it.

mod consumer;
mod events;
mod health;
mod repair;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use kit::feed::nats::Bus;
use kit::feed::{FollowOptions, Follower, Position, Source};
use kit::ids::UserId;
use kit::timestamp::Timestamp;
use moka::sync::Cache;
use tokio_util::sync::CancellationToken;

use crate::clients::Downstream;
use crate::domain::{Part, Plan, Rendered, TimelineParams, Version, View, ViewRead, ViewSize};
use crate::metrics::{Answered, Metrics};
use crate::profiles::Profiles;

use consumer::{PartConsumer, Progress};
use repair::Repairer;

pub use events::{Skip, change};
pub use health::{Health, PartStatus, judge};

/// How often the view's state and size are published on `/metrics` without traffic.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Where the followers read the feeds.
#[derive(Debug, Clone)]
pub enum Feeds {
    /// Each service's `GET /changes`.
    Http {
        /// The client (with the connect timeout).
        client: reqwest::Client,
        /// Base URL of the users service.
        users: String,
        /// Base URL of the friends service.
        friends: String,
        /// Base URL of the messages service.
        messages: String,
    },
    /// The feeds' JetStream streams, one durable consumer per part.
    Nats(Bus),
}

/// How the view is built and when it answers.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// Where the feeds are read.
    pub feeds: Feeds,
    /// This replica's follower name (its JetStream durable consumers are named after it).
    pub consumer: String,
    /// The most a follower may lag behind its feed's head while the view answers.
    pub max_lag: Duration,
    /// The longest a request waits for a position it carries.
    pub max_wait: Duration,
    /// Time limit of a repair's request to the messages service.
    pub call_timeout: Duration,
    /// Memory for kept answers, in bytes of their bodies (0: none kept).
    pub kept_answers_bytes: u64,
}

/// The running view. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct LiveView {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    view: Arc<RwLock<View>>,
    parts: Vec<Followed>,
    max_lag: Duration,
    max_wait: Duration,
    kept: Option<KeptAnswers>,
    metrics: Metrics,
}

/// Answers the view gave, by user and parameters, each with the [`Version`] of the user's
/// timeline it was made at: served again while the version stands.
type KeptAnswers = Cache<(UserId, u32, u32), Arc<(Version, Rendered)>>;

/// A part, its follower, and where it stands.
#[derive(Debug)]
struct Followed {
    part: Part,
    follower: Follower,
    progress: Arc<Progress>,
}

// === impl LiveView ===

impl LiveView {
    /// Starts a follower per feed (repairs read `messages`; `profiles` learns of every
    /// profile change), running until `stop`.
    pub fn start(
        options: &ViewOptions,
        messages: Downstream,
        profiles: &Profiles,
        metrics: &Metrics,
        stop: &CancellationToken,
    ) -> Self {
        let view = Arc::new(RwLock::new(View::default()));
        let repairer = Repairer::new(
            view.clone(),
            messages,
            options.call_timeout,
            stop.clone(),
            metrics.clone(),
        );
        let parts = Part::ALL
            .into_iter()
            .map(|part| {
                let progress = Arc::new(Progress::default());
                let consumer = PartConsumer {
                    part,
                    view: view.clone(),
                    progress: progress.clone(),
                    repairer: repairer.clone(),
                    profiles: (part == Part::Users).then(|| profiles.clone()),
                    metrics: metrics.clone(),
                };
                let follow = FollowOptions::new(options.consumer.clone(), part.source())
                    .entities(&[part.entity()]);
                let source = source(&options.feeds, part);
                let follower = Follower::spawn(source, consumer, follow, stop.child_token());
                metrics.followers().add(follower.clone());
                Followed {
                    part,
                    follower,
                    progress,
                }
            })
            .collect();
        let live = Self {
            inner: Arc::new(Inner {
                view,
                parts,
                max_lag: options.max_lag,
                max_wait: options.max_wait,
                kept: (options.kept_answers_bytes > 0).then(|| {
                    Cache::builder()
                        .max_capacity(options.kept_answers_bytes)
                        .weigher(|_, kept: &Arc<(Version, Rendered)>| {
                            u32::try_from(kept.1.body.len()).unwrap_or(u32::MAX)
                        })
                        .build()
                }),
                metrics: metrics.clone(),
            }),
        };
        tokio::spawn(live.clone().watch(metrics.clone(), stop.clone()));
        live
    }

    /// Whether the view may answer now.
    pub fn health(&self) -> Health {
        let statuses: Vec<PartStatus> = self
            .inner
            .parts
            .iter()
            .map(|followed| {
                let follower = &followed.follower;
                let current = follower.is_current();
                followed.progress.observe(current, follower.applied());
                let (connected, lag) = if current {
                    (true, Duration::ZERO)
                } else {
                    let status = follower.status();
                    let lag =
                        Duration::try_from_secs_f64(status.lag_seconds).unwrap_or(Duration::MAX);
                    (status.connected, lag)
                };
                PartStatus {
                    part: followed.part,
                    caught_up: followed.progress.caught_up(),
                    connected,
                    lag,
                }
            })
            .collect();
        judge(&statuses, self.inner.max_lag)
    }

    /// Waits until the view has applied every one of `positions`, at most the allowed
    /// wait. [`Answered::Unfollowed`] names a position of a feed the view does not follow,
    /// [`Answered::NotReached`] one it did not reach in time.
    pub async fn reach(&self, positions: &[Position]) -> Result<(), Answered> {
        let mut waits = Vec::new();
        for position in positions {
            let followed = Part::of_source(&position.source)
                .and_then(|part| self.inner.parts.iter().find(|f| f.part == part))
                .ok_or(Answered::Unfollowed)?;
            let follower = &followed.follower;
            if follower.applied() < position.seq {
                waits.push(follower.wait_for(position.seq, self.inner.max_wait));
            }
        }
        let reached = futures_util::future::join_all(waits).await;
        if reached.into_iter().all(|r| r) {
            Ok(())
        } else {
            Err(Answered::NotReached)
        }
    }

    /// The view's answer for `user` (see [`View::read`]); `None` when some part is not
    /// caught up, judged under the read lock so that a part being rebuilt is never read.
    pub fn read(
        &self,
        user: UserId,
        params: TimelineParams,
        plan: impl FnOnce(usize) -> Plan,
        generated_at: Timestamp,
    ) -> Option<ViewRead> {
        let view = self
            .inner
            .view
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        if !self.inner.parts.iter().all(|f| f.progress.caught_up()) {
            return None;
        }
        let Some(kept) = &self.inner.kept else {
            return Some(view.read(user, params, plan, generated_at));
        };
        // Under the read lock the version cannot move: what is kept is what it says.
        let version = view.version(user);
        let key = (user, params.per_friend.get(), params.limit.get());
        if let Some(hit) = kept.get(&key).filter(|k| k.0 == version) {
            self.inner.metrics.kept_answer(true);
            return Some(ViewRead::Answer(hit.1.restamped(generated_at)));
        }
        self.inner.metrics.kept_answer(false);
        let read = view.read(user, params, plan, generated_at);
        if let ViewRead::Answer(rendered) = &read {
            kept.insert(key, Arc::new((version, rendered.clone())));
        }
        Some(read)
    }

    /// Sets the view's state and size on `metrics` (before each scrape, and every second);
    /// returns them.
    pub fn publish(&self, metrics: &Metrics) -> (Health, ViewSize) {
        let health = self.health();
        metrics.view_state(health.state());
        let size = self
            .inner
            .view
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .size();
        metrics.view_size(size);
        (health, size)
    }

    /// Publishes the state and size on `/metrics` and logs each change of state.
    async fn watch(self, metrics: Metrics, stop: CancellationToken) {
        let mut every = tokio::time::interval(WATCH_EVERY);
        let mut last = None;
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            let (health, size) = self.publish(&metrics);
            if last.as_ref() != Some(&health) {
                log_state(&health, size);
                last = Some(health);
            }
        }
    }
}

fn log_state(health: &Health, size: ViewSize) {
    match health {
        Health::Building => tracing::info!("the timeline view is building: composing meanwhile"),
        Health::Current => tracing::info!(
            users = size.users,
            friendships = size.friendships,
            messages = size.messages,
            "the timeline view is current: answering from memory"
        ),
        Health::Lagging(parts) => {
            let parts: Vec<&str> = parts.iter().map(|p| p.source()).collect();
            tracing::warn!(feeds = ?parts, "the timeline view lags behind: composing meanwhile");
        }
    }
}

fn source(feeds: &Feeds, part: Part) -> Source {
    match feeds {
        Feeds::Http {
            client,
            users,
            friends,
            messages,
        } => {
            let url = match part {
                Part::Users => users,
                Part::Friends => friends,
                Part::Messages => messages,
            };
            Source::http(url.as_str(), client.clone())
        }
        Feeds::Nats(bus) => Source::Nats(Box::new(bus.source(part.source()))),
    }
}
