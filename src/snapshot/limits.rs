//! The state of each rate-limited route: a GCRA limiter (governor) keyed by client, over a
//! state store of the gateway's own whose size is bounded whatever the number of clients.
//!
//! The store is sharded; each shard holds at most its share of [`MAX_CLIENTS`]. A new
//! client arriving at a full shard evicts the entry whose theoretical arrival time is the
//! earliest: the client that has used the least of its allowance lately, whose state is
//! closest to (often the same as) that of a client never seen. Heavy callers, whose state
//! matters, stay. Every [`PRUNE_EVERY`] checks the limiter also drops every entry that is
//! indistinguishable from a fresh one (`retain_recent`), so memory shrinks back after a
//! burst of clients.
//!
//! A reload keeps a route's limiter, and so its clients' state, while the route's pattern,
//! methods and `rate_limit` stay the same.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::RateLimiter;
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;

use http::HeaderValue;

use crate::table::{LimitBy, RateLimit, Route};

/// Most clients whose state one route's limiter holds.
pub const MAX_CLIENTS: usize = 65_536;

/// Checks between two sweeps of state indistinguishable from fresh.
pub const PRUNE_EVERY: u64 = 4096;

const SHARDS: usize = 64;

/// Who a client is, for a limiter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// A peer address (IPv6 reduced to its /64, what one host usually holds).
    Address(IpAddr),
    /// A verified token subject.
    Subject(Box<str>),
}

/// The answer of a limiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Let through.
    Allowed {
        /// Requests the client may still make at once.
        remaining: u32,
        /// Seconds until its allowance is whole again.
        reset_secs: u64,
    },
    /// Over the limit.
    Refused {
        /// Seconds until one more request is allowed (at least 1).
        retry_after_secs: u64,
    },
}

/// One route's limiter.
pub struct Limiter<C: Clock + Clone = DefaultClock> {
    limiter: RateLimiter<ClientKey, BoundedStore, C, StateInformationMiddleware>,
    clock: C,
    limit: RateLimit,
    checks: AtomicU64,
    policy: HeaderValue,
}

/// A keyed state store of bounded size: shards of a map from client to its theoretical
/// arrival time.
pub struct BoundedStore {
    shards: Box<[Mutex<HashMap<ClientKey, u64>>]>,
    per_shard: usize,
    hasher: std::hash::RandomState,
}

/// Limiters by route, kept across reloads.
#[derive(Default)]
pub struct LimiterCache {
    limiters: HashMap<(String, String, RateLimit), Arc<Limiter>>,
}

// === impl ClientKey ===

impl ClientKey {
    /// The key of a peer address.
    pub fn address(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::Address(ip),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::Address(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                    Self::Address(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
        }
    }
}

// === impl Limiter ===

impl Limiter {
    /// A limiter for `limit` on the default clock, holding at most `max_clients` clients.
    pub fn new(limit: &RateLimit, max_clients: usize) -> Self {
        Self::with_clock(limit, max_clients, DefaultClock::default())
    }
}

impl<C: Clock + Clone> Limiter<C> {
    /// A limiter on `clock` (tests use a fake one).
    pub fn with_clock(limit: &RateLimit, max_clients: usize, clock: C) -> Self {
        let store = BoundedStore::new(max_clients);
        let limiter: RateLimiter<ClientKey, BoundedStore, C, StateInformationMiddleware> =
            RateLimiter::<ClientKey, BoundedStore, C, StateInformationMiddleware>::new(
                limit.quota(),
                store,
                clock.clone(),
            );
        Self {
            limiter,
            clock,
            limit: limit.clone(),
            checks: AtomicU64::new(0),
            policy: policy_header(limit),
        }
    }

    /// Counts one request of `key`.
    pub fn check(&self, key: &ClientKey) -> Decision {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        match self.limiter.check_key(key) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                let used = self.limit.burst.saturating_sub(remaining);
                let every = self.limit.per.as_secs_f64() / f64::from(self.limit.count.max(1));
                Decision::Allowed {
                    remaining,
                    reset_secs: (every * f64::from(used)).ceil() as u64,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Decision::Refused {
                    retry_after_secs: ceil_secs(wait).max(1),
                }
            }
        }
    }

    /// Drops every client whose state is that of a client never seen.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Clients held now.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    /// Whether no client is held.
    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }

    /// What it limits to.
    pub fn limit(&self) -> &RateLimit {
        &self.limit
    }

    /// Its `RateLimit-Policy` header value (draft-ietf-httpapi-ratelimit-headers-09):
    /// `"NAME";q=BURST;w=SECONDS`, the name saying what a client is (`address` or
    /// `subject`), the window the time an exhausted allowance takes to refill.
    pub fn policy_header(&self) -> &HeaderValue {
        &self.policy
    }

    /// The `RateLimit` header value for `decision`: `"NAME";r=REMAINING;t=SECONDS`.
    pub fn state_header(&self, decision: Decision) -> HeaderValue {
        let (remaining, reset) = match decision {
            Decision::Allowed {
                remaining,
                reset_secs,
            } => (remaining, reset_secs),
            Decision::Refused { retry_after_secs } => (0, retry_after_secs),
        };
        let value = format!("\"{}\";r={remaining};t={reset}", policy_name(&self.limit));
        // Digits, letters, quotes and `;=`: always a valid header value.
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("\"default\";r=0;t=1"))
    }
}

impl<C: Clock + Clone> std::fmt::Debug for Limiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit)
            .field("clients", &self.len())
            .finish_non_exhaustive()
    }
}

fn policy_name(limit: &RateLimit) -> &'static str {
    match limit.by {
        LimitBy::Address => "address",
        LimitBy::Subject => "subject",
    }
}

fn policy_header(limit: &RateLimit) -> HeaderValue {
    let value = format!(
        "\"{}\";q={};w={}",
        policy_name(limit),
        limit.burst,
        limit.window_secs()
    );
    // Digits, letters, quotes and `;=`: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("\"default\";q=1;w=1"))
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

// === impl BoundedStore ===

impl BoundedStore {
    /// A store of at most `max` clients (rounded up to a multiple of the shard count).
    pub fn new(max: usize) -> Self {
        let per_shard = max.div_ceil(SHARDS).max(1);
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard,
            hasher: std::hash::RandomState::new(),
        }
    }

    fn shard(&self, key: &ClientKey) -> &Mutex<HashMap<ClientKey, u64>> {
        let index = usize::try_from(self.hasher.hash_one(key) % SHARDS as u64).unwrap_or(0);
        &self.shards[index]
    }
}

impl StateStore for BoundedStore {
    type Key = ClientKey;

    fn measure_and_replace<T, F, E>(&self, key: &Self::Key, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        // One short critical section, no await: the lock is only ever held for a lookup,
        // the GCRA arithmetic and an insert (with at most one scan of the shard).
        let mut shard = self
            .shard(key)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let previous = shard.get(key).copied();
        let (outcome, next) = f(previous.map(Nanos::from))?;
        match shard.get_mut(key) {
            Some(slot) => *slot = next.into(),
            None => {
                if shard.len() >= self.per_shard
                    && let Some(oldest) = shard
                        .iter()
                        .min_by_key(|(_, tat)| **tat)
                        .map(|(k, _)| k.clone())
                {
                    shard.remove(&oldest);
                }
                shard.insert(key.clone(), next.into());
            }
        }
        Ok(outcome)
    }
}

impl ShrinkableKeyedStateStore<ClientKey> for BoundedStore {
    fn retain_recent(&self, drop_below: Nanos) {
        let below = u64::from(drop_below);
        for shard in &*self.shards {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|_, tat| *tat > below);
        }
    }

    fn shrink_to_fit(&self) {
        for shard in &*self.shards {
            shard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .shrink_to_fit();
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

// === impl LimiterCache ===

impl LimiterCache {
    /// The limiter of `route`, reusing the held one while the route and its limit are the
    /// same; `None` for a route without a limit.
    pub fn limiter_for(&mut self, route: &Route) -> Option<Arc<Limiter>> {
        let limit = route.rate_limit.as_ref()?;
        let key = (
            route.pattern.source().to_owned(),
            route.methods.to_string(),
            limit.clone(),
        );
        Some(Arc::clone(self.limiters.entry(key).or_insert_with(|| {
            Arc::new(Limiter::new(limit, MAX_CLIENTS))
        })))
    }

    /// Drops the limiters no route of `keep` uses.
    pub fn retain(&mut self, keep: &[Route]) {
        self.limiters.retain(|(pattern, methods, limit), _| {
            keep.iter().any(|r| {
                r.pattern.source() == pattern
                    && r.methods.to_string() == *methods
                    && r.rate_limit.as_ref() == Some(limit)
            })
        });
    }
}

impl std::fmt::Debug for LimiterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.limiters.values()).finish()
    }
}

#[cfg(test)]
mod tests;
