//! Prometheus metrics: downstream calls by service and outcome with their latency, profile
//! cache hits and misses, profile loads, and timelines served by outcome.

use std::sync::Arc;
use std::time::Duration;

use std::fmt::Write as _;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A downstream service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Profiles.
    Users,
    /// Friend lists.
    Friends,
    /// Latest messages.
    Messages,
}

/// How a downstream call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// 2xx with a readable body.
    Ok,
    /// A non-2xx status or an unreadable body.
    Error,
    /// No answer within the call's time budget.
    Timeout,
    /// Connection refused or reset.
    Unreachable,
}

/// How a timeline request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Served {
    /// 200, nothing degraded.
    Complete,
    /// 200 with `degraded` non-empty.
    Degraded,
    /// 404: no such user.
    NotFound,
    /// 503: the friends list could not be read.
    Unavailable,
}

/// Label values in Prometheus' lower-case style (`service="users"`), from `Debug`.
macro_rules! lowercase_label {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                write!(encoder, "{}", format!("{self:?}").to_ascii_lowercase())
            }
        }
    )*};
}

lowercase_label!(Service, CallOutcome, Served);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CallLabels {
    service: Service,
    outcome: CallOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ServiceLabels {
    service: Service,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ServedLabels {
    outcome: Served,
}

/// The service's metrics. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Metrics(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    registry: Registry,
    calls: Family<CallLabels, Counter>,
    latency: Family<ServiceLabels, Histogram>,
    cache_hits: Counter,
    cache_misses: Counter,
    profile_loads: Counter,
    served: Family<ServedLabels, Counter>,
}

// === impl Metrics ===

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("timeline");
        let calls = Family::<CallLabels, Counter>::default();
        registry.register(
            "downstream_requests",
            "Requests to downstream services, by service and outcome",
            calls.clone(),
        );
        let latency = Family::<ServiceLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms … ~4 s
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
        });
        registry.register(
            "downstream_request_duration_seconds",
            "Latency of downstream requests, by service",
            latency.clone(),
        );
        let cache_hits = Counter::default();
        registry.register(
            "profile_cache_hits",
            "Profiles served fresh from the cache",
            cache_hits.clone(),
        );
        let cache_misses = Counter::default();
        registry.register(
            "profile_cache_misses",
            "Profiles not fresh in the cache (loaded, or joined to a load in flight)",
            cache_misses.clone(),
        );
        let profile_loads = Counter::default();
        registry.register(
            "profile_loads",
            "Profiles requested from the users service",
            profile_loads.clone(),
        );
        let served = Family::<ServedLabels, Counter>::default();
        registry.register("served", "Timelines answered, by outcome", served.clone());
        Self(Arc::new(Inner {
            registry,
            calls,
            latency,
            cache_hits,
            cache_misses,
            profile_loads,
            served,
        }))
    }

    /// Records one downstream call.
    pub fn call(&self, service: Service, outcome: CallOutcome, took: Duration) {
        self.0
            .calls
            .get_or_create(&CallLabels { service, outcome })
            .inc();
        self.0
            .latency
            .get_or_create(&ServiceLabels { service })
            .observe(took.as_secs_f64());
    }

    /// Records profile cache lookups.
    pub fn cache(&self, hits: u64, misses: u64) {
        self.0.cache_hits.inc_by(hits);
        self.0.cache_misses.inc_by(misses);
    }

    /// Records profiles requested from the users service.
    pub fn profiles_loaded(&self, count: u64) {
        self.0.profile_loads.inc_by(count);
    }

    /// Records a timeline answer.
    pub fn served(&self, outcome: Served) {
        self.0.served.get_or_create(&ServedLabels { outcome }).inc();
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_counters_with_labels() {
        let metrics = Metrics::new();
        metrics.call(
            Service::Users,
            CallOutcome::Timeout,
            Duration::from_millis(3),
        );
        metrics.cache(2, 1);
        metrics.profiles_loaded(1);
        metrics.served(Served::Degraded);
        let text = metrics.encode();
        assert!(
            text.contains(
                r#"timeline_downstream_requests_total{service="users",outcome="timeout"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("timeline_profile_cache_hits_total 2"),
            "{text}"
        );
        assert!(text.contains("timeline_profile_loads_total 1"), "{text}");
        assert!(
            text.contains(r#"timeline_served_total{outcome="degraded"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("timeline_downstream_request_duration_seconds_bucket"),
            "{text}"
        );
    }
}
