//! The live side of shadow traffic for each route that has a `shadow:`: where copies go
//! (an [`Endpoint`] with its own client, whose requests have no body), the bound on copies
//! in flight, which requests are picked, and the counters, noise fields and recent
//! differences ([`ShadowStats`]).
//!
//! A reload builds new states, so a removed shadow gets no request arriving after the
//! swap; a route's [`ShadowStats`] are kept while its pattern and methods stay the same.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::HeaderValue;
use http::uri::{Authority, Scheme};
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::table::{Route, RouteTable, Shadow, Upstream, UpstreamId};

/// The client of shadow requests and noise probes: GET and HEAD only, so no body.
pub type ShadowClient = Client<super::client::Connector, Empty<Bytes>>;

/// Differences kept per route, newest last.
pub const RECENT_DIFFERENCES: usize = 20;
/// Noise fields kept per route; past this, no more are learnt.
pub const MAX_NOISE_FIELDS: usize = 256;

/// One route's shadow.
#[derive(Debug)]
pub struct ShadowState {
    /// The route's `shadow:`.
    pub config: Shadow,
    /// Its counters, kept across reloads.
    pub stats: Arc<ShadowStats>,
    /// Where the copies go.
    pub shadow: Endpoint,
    /// The route's own upstreams, for noise probes.
    primaries: Box<[(UpstreamId, Endpoint)]>,
    in_flight: Arc<Semaphore>,
    picked: AtomicU64,
    sampled: AtomicU64,
}

/// An upstream as shadow requests reach it.
#[derive(Debug)]
pub struct Endpoint {
    /// Its name in routes.yaml.
    pub name: Box<str>,
    /// Its scheme.
    pub scheme: Scheme,
    /// Its address.
    pub authority: Authority,
    /// `Host` sent to it.
    pub host: HeaderValue,
    /// Its client, used on the shadow thread only (`proxy::shadow::lane`), where its
    /// connections live.
    client: ShadowClient,
}

/// What one route's shadow has done since its pattern and methods were first loaded.
#[derive(Debug, Default)]
pub struct ShadowStats {
    compared: AtomicU64,
    equal: AtomicU64,
    different: AtomicU64,
    noise: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    recorded: Mutex<Recorded>,
}

#[derive(Debug, Default)]
struct Recorded {
    noise_fields: BTreeSet<String>,
    differences: VecDeque<Difference>,
}

/// A plain copy of a route's [`ShadowStats`] at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShadowCounts {
    /// Shadow answers compared with the primary's (`equal + different + noise`).
    pub compared: u64,
    /// Compared and alike.
    pub equal: u64,
    /// Compared and different.
    pub different: u64,
    /// Different only in noise fields.
    pub noise: u64,
    /// Copies not sent or not compared: over `max_in_flight`, a body over the comparison
    /// limit, or a primary answer that failed or was not read to its end.
    pub dropped: u64,
    /// Shadow requests that failed: no connection, a timeout, a broken answer.
    pub errors: u64,
    /// JSON pointers seen to differ between two answers of the primary, sorted.
    pub noise_fields: Vec<String>,
    /// The latest differences, oldest first.
    pub differences: Vec<Difference>,
}

/// One request whose shadow answered differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// When it was compared.
    pub at: OffsetDateTime,
    /// The request's method.
    pub method: String,
    /// Its path and query.
    pub path: String,
    /// The primary's status.
    pub primary_status: u16,
    /// The shadow's status.
    pub shadow_status: u16,
    /// The JSON pointers that differ (`""` for a whole non-JSON body); empty when only the
    /// status or the content type differ.
    pub pointers: Vec<String>,
}

/// How one shadowed request ended.
#[derive(Debug)]
pub enum Outcome {
    /// Compared, alike.
    Equal,
    /// Compared, different only in noise fields.
    Noise,
    /// Compared, different.
    Different(Difference),
    /// Not compared.
    Dropped,
    /// The shadow failed.
    Error,
}

/// Shadow counters by route, kept across reloads.
#[derive(Debug, Default)]
pub struct ShadowCache {
    stats: HashMap<(String, String), Arc<ShadowStats>>,
}

// === impl ShadowState ===

impl ShadowState {
    /// The state of `route`'s shadow, `None` when it has none, with `stats` (kept from an
    /// earlier snapshot, or new).
    pub fn build(route: &Route, table: &RouteTable, stats: Arc<ShadowStats>) -> Option<Self> {
        let config = route.shadow.clone()?;
        let shadow = Endpoint::new(table.upstream(config.upstream));
        let primaries = route
            .sides()
            .into_iter()
            .map(|(id, _)| (id, Endpoint::new(table.upstream(id))))
            .collect();
        Some(Self {
            in_flight: Arc::new(Semaphore::new(config.max_in_flight)),
            config,
            stats,
            shadow,
            primaries,
            picked: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
        })
    }

    /// Whether this request is one of the `percent` in 100 copied: spread evenly, every
    /// request counted.
    pub fn pick(&self) -> bool {
        let percent = u64::from(self.config.percent);
        percent >= 100
            || (percent > 0 && self.picked.fetch_add(1, Ordering::Relaxed) % 100 < percent)
    }

    /// Whether this compared request also probes the primary for noise (the first of every
    /// hundred first, so noise is learnt early).
    pub fn sample_noise(&self) -> bool {
        let percent = u64::from(self.config.noise_sample);
        percent > 0 && self.sampled.fetch_add(1, Ordering::Relaxed) % 100 < percent
    }

    /// A place for one more shadow request, or `None` at `max_in_flight` (never waits).
    pub fn try_permit(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.in_flight).try_acquire_owned().ok()
    }

    /// The route's upstream `id` as a noise probe reaches it.
    pub fn primary(&self, id: UpstreamId) -> Option<&Endpoint> {
        self.primaries
            .iter()
            .find(|(side, _)| *side == id)
            .map(|(_, endpoint)| endpoint)
    }
}

// === impl Endpoint ===

impl Endpoint {
    fn new(upstream: &Upstream) -> Self {
        Self {
            name: upstream.name.clone(),
            scheme: upstream.scheme.clone(),
            authority: upstream.authority.clone(),
            host: upstream.host.clone(),
            client: super::client::pooled(upstream.connect_timeout),
        }
    }

    /// Its client (a cheap handle on its pool).
    pub fn client(&self) -> ShadowClient {
        self.client.clone()
    }
}

// === impl ShadowStats ===

impl ShadowStats {
    /// Counts `outcome`.
    pub fn record(&self, outcome: Outcome) {
        let counter = match &outcome {
            Outcome::Equal => &self.equal,
            Outcome::Noise => &self.noise,
            Outcome::Different(_) => &self.different,
            Outcome::Dropped => &self.dropped,
            Outcome::Error => &self.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if matches!(
            outcome,
            Outcome::Equal | Outcome::Noise | Outcome::Different(_)
        ) {
            self.compared.fetch_add(1, Ordering::Relaxed);
        }
        if let Outcome::Different(difference) = outcome {
            let mut recorded = self.lock();
            if recorded.differences.len() == RECENT_DIFFERENCES {
                recorded.differences.pop_front();
            }
            recorded.differences.push_back(difference);
        }
    }

    /// Records `pointers` as noise fields.
    pub fn learn_noise(&self, pointers: Vec<String>) {
        if pointers.is_empty() {
            return;
        }
        let mut recorded = self.lock();
        for pointer in pointers {
            if recorded.noise_fields.len() >= MAX_NOISE_FIELDS {
                break;
            }
            recorded.noise_fields.insert(pointer);
        }
    }

    /// Whether every pointer of `pointers` is a noise field or below one.
    pub fn all_noise(&self, pointers: &[String]) -> bool {
        let recorded = self.lock();
        pointers.iter().all(|p| {
            recorded.noise_fields.iter().any(|field| {
                p == field
                    || (p.starts_with(field.as_str())
                        && p.as_bytes().get(field.len()) == Some(&b'/'))
            })
        })
    }

    /// The counters, noise fields and recent differences now.
    pub fn snapshot(&self) -> ShadowCounts {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let recorded = self.lock();
        ShadowCounts {
            compared: load(&self.compared),
            equal: load(&self.equal),
            different: load(&self.different),
            noise: load(&self.noise),
            dropped: load(&self.dropped),
            errors: load(&self.errors),
            noise_fields: recorded.noise_fields.iter().cloned().collect(),
            differences: recorded.differences.iter().cloned().collect(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recorded> {
        // Every critical section leaves the sets whole; a panic cannot break them.
        self.recorded.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

// === impl ShadowCache ===

impl ShadowCache {
    /// The stats of `route`: those of an earlier route with the same pattern and methods,
    /// or new ones.
    pub fn stats_for(&mut self, route: &Route) -> Arc<ShadowStats> {
        Arc::clone(self.stats.entry(key(route)).or_default())
    }

    /// Forgets the stats of routes not in `keep` or without a shadow there.
    pub fn retain(&mut self, keep: &[Route]) {
        self.stats.retain(|k, _| {
            keep.iter()
                .any(|route| route.shadow.is_some() && key(route) == *k)
        });
    }
}

fn key(route: &Route) -> (String, String) {
    (route.pattern.source().to_owned(), route.methods.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_fields_cover_themselves_and_below() {
        let stats = ShadowStats::default();
        stats.learn_noise(vec!["/generated_at".to_owned(), "/meta".to_owned()]);
        assert!(stats.all_noise(&["/generated_at".to_owned()]));
        assert!(stats.all_noise(&["/meta/etag".to_owned(), "/meta".to_owned()]));
        assert!(!stats.all_noise(&["/metadata".to_owned()]));
        assert!(!stats.all_noise(&["/generated_at".to_owned(), "/name".to_owned()]));
    }

    #[test]
    fn only_the_latest_differences_are_kept() {
        let stats = ShadowStats::default();
        for n in 0..RECENT_DIFFERENCES + 5 {
            stats.record(Outcome::Different(Difference {
                at: OffsetDateTime::UNIX_EPOCH,
                method: "GET".to_owned(),
                path: format!("/users/{n}"),
                primary_status: 200,
                shadow_status: 200,
                pointers: vec!["/name".to_owned()],
            }));
        }
        stats.record(Outcome::Equal);
        stats.record(Outcome::Dropped);
        let counts = stats.snapshot();
        assert_eq!(counts.compared, RECENT_DIFFERENCES as u64 + 6);
        assert_eq!(counts.different, RECENT_DIFFERENCES as u64 + 5);
        assert_eq!(counts.dropped, 1);
        assert_eq!(counts.differences.len(), RECENT_DIFFERENCES);
        assert_eq!(counts.differences[0].path, "/users/5");
    }
}
