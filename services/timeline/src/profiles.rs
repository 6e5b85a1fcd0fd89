//! Profiles with a cache in front of the users service.
//!
//! - moka holds profiles and known-missing ids, bounded in number. An entry is *fresh* for
//!   the TTL and is only served as fresh then; after it, it is kept for the stale window to
//!   be served as *stale* when the users service fails (stale beats absent), and is
//!   *expired* after that.
//! - Every entry carries the tokio [`Instant`] it was fetched at, and freshness is decided
//!   against `tokio::time::Instant::now()`, so tests drive it with paused time. moka's own
//!   TTL (the TTL plus the stale window, on moka's clock) only reclaims memory.
//! - Concurrent misses coalesce: an id being loaded is in the in-flight map, and every
//!   request that misses it waits for that load instead of starting its own. Each load is
//!   one bulk request per 500 ids, spawned as its own task so it finishes (and fills the
//!   cache) even when the request that started it gives up.
//! - A TTL of zero turns the cache off; loads still coalesce.
//! - The users feed, when the live view follows it, tells the cache of every change at
//!   once ([`Profiles::learn`]): a cached profile is replaced (or marked missing) and counts
//!   as fresh from then. A load that was in flight meanwhile does not overwrite what the
//!   feed said, since the feed is newer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use kit::ids::UserId;
use moka::ops::compute::Op;
use moka::sync::Cache;
use tokio::time::Instant;

use crate::clients::{ProfileSource, Propagate, in_chunks};
use crate::domain::{Lookup, Profile, Resolved};
use crate::metrics::Metrics;

/// Cache settings.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    /// Most profiles held.
    pub capacity: u64,
    /// How long a profile is served as fresh; zero turns the cache off.
    pub ttl: Duration,
    /// How long past its TTL a profile is kept for when the users service fails.
    pub stale_for: Duration,
}

/// The profile resolver. Cloning is shallow.
#[derive(Clone)]
pub struct Profiles {
    cache: Option<Cache<UserId, Cached>>,
    ttl: Duration,
    stale_for: Duration,
    inflight: Arc<Mutex<HashMap<UserId, Load>>>,
    source: Arc<dyn ProfileSource>,
    concurrency: usize,
    metrics: Metrics,
}

/// A cached answer of the users service about one id: the profile, or `None` for no such
/// user.
#[derive(Debug, Clone)]
struct Cached {
    profile: Option<Arc<Profile>>,
    fetched_at: Instant,
}

/// How a cached entry stands against the TTL and the stale window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Age {
    Fresh,
    Stale,
    Expired,
}

/// A bulk load in flight: what it learned, by id; ids absent from the map failed.
type Load = Shared<BoxFuture<'static, Arc<Learned>>>;

/// What a load learned: each answered id's profile, or `None` for no such user.
type Learned = HashMap<UserId, Option<Arc<Profile>>>;

/// The first look into the cache: what it answered, stale stand-ins, and what to load.
struct FirstLook {
    resolved: Resolved,
    stale: Learned,
    misses: Vec<UserId>,
}

// === impl Profiles ===

impl Profiles {
    /// A resolver loading from `source`, `concurrency` bulk requests at a time.
    pub fn new(
        config: CacheConfig,
        source: Arc<dyn ProfileSource>,
        concurrency: usize,
        metrics: Metrics,
    ) -> Self {
        let cache = (!config.ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(config.capacity)
                .time_to_live(config.ttl + config.stale_for)
                .build()
        });
        Self {
            cache,
            ttl: config.ttl,
            stale_for: config.stale_for,
            inflight: Arc::default(),
            source,
            concurrency,
            metrics,
        }
    }

    /// Looks up every id: fresh cache entries first, then one coalesced bulk load for the
    /// rest, waited for until `deadline`. Ids that cannot be loaded fall back to a stale
    /// cache entry, else [`Lookup::Unknown`].
    pub async fn resolve(
        &self,
        ids: &[UserId],
        propagate: &Propagate,
        deadline: Instant,
    ) -> Resolved {
        let FirstLook {
            mut resolved,
            mut stale,
            misses,
        } = self.first_look(ids);
        self.metrics.cache(resolved.hits, resolved.misses);
        if misses.is_empty() {
            return resolved;
        }
        for (load, ids) in self.join_or_start(&misses, propagate, &mut resolved) {
            let learned = tokio::time::timeout_at(deadline, load).await.ok();
            for id in ids {
                let lookup = match learned.as_ref().and_then(|l| l.get(&id)) {
                    Some(answer) => Lookup::answered(answer.clone()),
                    None => {
                        resolved.users_failed = true;
                        match stale.remove(&id) {
                            Some(answer) => {
                                resolved.stale_served = true;
                                Lookup::answered(answer)
                            }
                            None => Lookup::Unknown,
                        }
                    }
                };
                resolved.lookups.insert(id, lookup);
            }
        }
        resolved
    }

    /// Fresh entries answer; stale ones are kept to stand in if their load fails.
    fn first_look(&self, ids: &[UserId]) -> FirstLook {
        let now = Instant::now();
        let mut look = FirstLook {
            resolved: Resolved::default(),
            stale: HashMap::new(),
            misses: Vec::new(),
        };
        for id in ids {
            match self.cached(*id, now) {
                Some((Age::Fresh, entry)) => {
                    let lookup = Lookup::answered(entry.profile);
                    look.resolved.lookups.insert(*id, lookup);
                }
                Some((Age::Stale, entry)) => {
                    look.stale.insert(*id, entry.profile);
                    look.misses.push(*id);
                }
                Some((Age::Expired, _)) | None => look.misses.push(*id),
            }
        }
        look.resolved.hits = (ids.len() - look.misses.len()) as u64;
        look.resolved.misses = look.misses.len() as u64;
        look
    }

    fn cached(&self, id: UserId, now: Instant) -> Option<(Age, Cached)> {
        let entry = self.cache.as_ref()?.get(&id)?;
        Some((self.age(entry.fetched_at, now), entry))
    }

    fn age(&self, fetched_at: Instant, now: Instant) -> Age {
        let age = now.saturating_duration_since(fetched_at);
        if age < self.ttl {
            Age::Fresh
        } else if age < self.ttl + self.stale_for {
            Age::Stale
        } else {
            Age::Expired
        }
    }

    /// Groups `misses` by the load that will answer them: loads already in flight, and one
    /// new load for the rest. Ids that became fresh since the first look are answered from
    /// the cache.
    fn join_or_start(
        &self,
        misses: &[UserId],
        propagate: &Propagate,
        resolved: &mut Resolved,
    ) -> Vec<(Load, Vec<UserId>)> {
        let mut waits: Vec<(Load, Vec<UserId>)> = Vec::new();
        let mut mine = Vec::new();
        let now = Instant::now();
        // No await while the lock is held. A load fills the cache *before* it leaves this
        // map, so an id found in neither place under the lock has no load in flight.
        let mut inflight = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        for id in misses {
            if let Some(load) = inflight.get(id) {
                match waits.iter_mut().find(|(l, _)| l.ptr_eq(load)) {
                    Some((_, ids)) => ids.push(*id),
                    None => waits.push((load.clone(), vec![*id])),
                }
            } else if let Some((Age::Fresh, entry)) = self.cached(*id, now) {
                resolved
                    .lookups
                    .insert(*id, Lookup::answered(entry.profile));
                resolved.misses -= 1;
                resolved.hits += 1;
            } else {
                mine.push(*id);
            }
        }
        if !mine.is_empty() {
            let load = self.start_load(mine.clone(), propagate.clone());
            for id in &mine {
                inflight.insert(*id, load.clone());
            }
            waits.push((load, mine));
        }
        waits
    }

    /// Learns from the users feed that `id`'s profile is now `profile` (`None`: deleted).
    /// A cached entry is replaced, fresh from now; an id not cached is cached only when a
    /// load of it is in flight, so that load, read before the change, cannot overwrite it.
    pub fn learn(&self, id: UserId, profile: Option<Arc<Profile>>) {
        let Some(cache) = &self.cache else { return };
        let loading = self
            .inflight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&id);
        let fetched_at = Instant::now();
        cache.entry(id).and_compute_with(|entry| {
            if entry.is_some() || loading {
                Op::Put(Cached {
                    profile,
                    fetched_at,
                })
            } else {
                Op::Nop
            }
        });
    }

    fn start_load(&self, ids: Vec<UserId>, propagate: Propagate) -> Load {
        let this = self.clone();
        let task = tokio::spawn(async move {
            let started = Instant::now();
            this.metrics.profiles_loaded(ids.len() as u64);
            // A shared load is not bound to one request's deadline, only to the call timeout.
            let deadline = Instant::now() + Duration::from_secs(3600);
            let answers = in_chunks(&ids, this.concurrency, |chunk| {
                let (source, propagate) = (&this.source, &propagate);
                async move { source.profiles(&chunk, propagate, deadline).await }
            })
            .await;
            let fetched_at = Instant::now();
            let learned: Learned = answers
                .into_iter()
                .filter_map(|(_, answer)| answer.ok())
                .flatten()
                .map(|(id, profile)| (id, profile.map(Arc::new)))
                .collect();
            this.remember(&learned, started, fetched_at);
            let mut inflight = this.inflight.lock().unwrap_or_else(PoisonError::into_inner);
            for id in &ids {
                inflight.remove(id);
            }
            Arc::new(learned)
        });
        async move { task.await.unwrap_or_default() }
            .boxed()
            .shared()
    }

    /// Caches what a load begun at `started` learned, except where the feed told of a
    /// change since.
    fn remember(&self, learned: &Learned, started: Instant, fetched_at: Instant) {
        let Some(cache) = &self.cache else { return };
        for (id, profile) in learned {
            cache.entry(*id).and_compute_with(|entry| match entry {
                Some(entry) if entry.value().fetched_at > started => Op::Nop,
                _ => Op::Put(Cached {
                    profile: profile.clone(),
                    fetched_at,
                }),
            });
        }
    }
}

impl std::fmt::Debug for Profiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profiles")
            .field("ttl", &self.ttl)
            .field("stale_for", &self.stale_for)
            .field("cached", &self.cache.as_ref().map(Cache::entry_count))
            .finish_non_exhaustive()
    }
}
