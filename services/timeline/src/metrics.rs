//! Prometheus metrics: downstream calls by service and outcome with their latency, profile
//! cache hits and misses, profile loads, timelines served by outcome and by where the
//! answer came from, and the live view: its state, size, events, repairs, and its
//! followers' positions and lags.

use std::sync::Arc;
use std::time::Duration;

use std::fmt::Write as _;

use kit::feed::metrics::{FeedCollector, Followers};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{Part, ViewSize};

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

/// Where a timeline answer came from, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Answered {
    /// Read from the live view.
    View,
    /// Composed: the view is off.
    Off,
    /// Composed: the view is still being built from the feeds.
    Building,
    /// Composed: a follower lags or cannot reach its feed (`degraded: view`).
    Lagging,
    /// Composed: the request asked for a position of a feed the view does not follow.
    Unfollowed,
    /// Composed: the view did not reach a position the request asked for in time.
    NotReached,
    /// Composed: the view holds too few of some friend's messages.
    Short,
}

/// The live view's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewState {
    /// Some follower has not yet been at its feed's head since start (or since a replay).
    Building,
    /// Every follower is at its feed's head, or within the allowed lag.
    Current,
    /// Some follower lags more than allowed or cannot reach its feed.
    Lagging,
}

/// What became of a feed event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventOutcome {
    /// Applied to the view.
    Applied,
    /// Unreadable (logged and skipped).
    Skipped,
}

/// How a repair (an author's newest messages fetched again) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepairOutcome {
    /// Merged into the view.
    Merged,
    /// The messages service failed; retried later.
    Failed,
}

/// Label values in Prometheus' snake case style (`service="users"`, `outcome="not_found"`),
/// from `Debug`.
macro_rules! lowercase_label {
    ($($t:ty),*) => {$(
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                write!(encoder, "{}", snake_case(&format!("{self:?}")))
            }
        }
    )*};
}

/// `NotFound` as `not_found`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

lowercase_label!(
    Service,
    CallOutcome,
    Served,
    Answered,
    ViewState,
    EventOutcome,
    RepairOutcome,
    Part
);

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AnsweredLabels {
    source: &'static str,
    reason: Answered,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    state: ViewState,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EventLabels {
    source: Part,
    outcome: EventOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RepairLabels {
    outcome: RepairOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SizeLabels {
    of: &'static str,
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
    view: ViewMetrics,
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
        let view = ViewMetrics::register(&mut registry);
        Self(Arc::new(Inner {
            registry,
            calls,
            latency,
            cache_hits,
            cache_misses,
            profile_loads,
            served,
            view,
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

    /// Records where a timeline answer came from: the view, or composed for `reason`.
    pub fn answered(&self, reason: Answered) {
        let source = if reason == Answered::View {
            "view"
        } else {
            "composed"
        };
        self.0
            .view
            .answered
            .get_or_create(&AnsweredLabels { source, reason })
            .inc();
    }

    /// Sets the view's state: 1 for `state`, 0 for the others.
    pub fn view_state(&self, state: ViewState) {
        for each in [ViewState::Building, ViewState::Current, ViewState::Lagging] {
            let value = i64::from(each == state);
            self.0
                .view
                .state
                .get_or_create(&StateLabels { state: each })
                .set(value);
        }
    }

    /// Records a lookup of a kept view answer: `hit` or `miss`.
    pub fn kept_answer(&self, hit: bool) {
        let outcome = if hit { "hit" } else { "miss" };
        self.0
            .view
            .kept_answers
            .get_or_create(&KeptLabels { outcome })
            .inc();
    }

    /// Sets what the view holds.
    pub fn view_size(&self, size: ViewSize) {
        for (of, count) in [
            ("users", size.users),
            ("friendships", size.friendships),
            ("authors", size.authors),
            ("messages", size.messages),
            ("repairs", size.repairs),
        ] {
            let count = i64::try_from(count).unwrap_or(i64::MAX);
            self.0
                .view
                .size
                .get_or_create(&SizeLabels { of })
                .set(count);
        }
    }

    /// Records `count` events of `source`'s feed that came to `outcome`.
    pub fn view_events(&self, source: Part, outcome: EventOutcome, count: u64) {
        self.0
            .view
            .events
            .get_or_create(&EventLabels { source, outcome })
            .inc_by(count);
    }

    /// Records a repair's outcome.
    pub fn view_repair(&self, outcome: RepairOutcome) {
        self.0
            .view
            .repairs
            .get_or_create(&RepairLabels { outcome })
            .inc();
    }

    /// The view's followers, shown on `/metrics` with their positions and lags.
    pub fn followers(&self) -> &Followers {
        &self.0.view.followers
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }
}

/// The live view's metrics, registered together.
#[derive(Debug)]
struct ViewMetrics {
    answered: Family<AnsweredLabels, Counter>,
    state: Family<StateLabels, Gauge>,
    size: Family<SizeLabels, Gauge>,
    events: Family<EventLabels, Counter>,
    repairs: Family<RepairLabels, Counter>,
    kept_answers: Family<KeptLabels, Counter>,
    followers: Followers,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KeptLabels {
    outcome: &'static str,
}

// === impl ViewMetrics ===

impl ViewMetrics {
    fn register(registry: &mut Registry) -> Self {
        let this = Self {
            answered: Family::default(),
            state: Family::default(),
            size: Family::default(),
            events: Family::default(),
            repairs: Family::default(),
            kept_answers: Family::default(),
            followers: Followers::default(),
        };
        registry.register(
            "view_kept_answers",
            "View answers looked up among those kept: hit (served again, restamped), miss \
             (selected and rendered from the view, then kept)",
            this.kept_answers.clone(),
        );
        registry.register(
            "answers",
            "Timelines answered (200 or 404), by source (view, composed) and reason",
            this.answered.clone(),
        );
        registry.register(
            "view_state",
            "1 for the live view's state (building, current, lagging), 0 for the others",
            this.state.clone(),
        );
        registry.register(
            "view_size",
            "What the live view holds: users, friendships, authors, messages, repairs in flight",
            this.size.clone(),
        );
        registry.register(
            "view_events",
            "Feed events read by the live view, by source and outcome (applied, skipped)",
            this.events.clone(),
        );
        registry.register(
            "view_repairs",
            "Authors' newest messages fetched again after deletions, by outcome",
            this.repairs.clone(),
        );
        // Each follower's position, its feed's head and its lag: `timeline_feed_consumer_*`.
        registry.register_collector(Box::new(FeedCollector::new(None, this.followers.clone())));
        this
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
        metrics.answered(Answered::View);
        metrics.answered(Answered::Lagging);
        metrics.answered(Answered::NotReached);
        metrics.view_state(ViewState::Current);
        metrics.view_size(ViewSize {
            messages: 7,
            ..ViewSize::default()
        });
        metrics.view_events(Part::Messages, EventOutcome::Skipped, 2);
        metrics.view_repair(RepairOutcome::Merged);
        metrics.kept_answer(true);
        metrics.kept_answer(true);
        metrics.kept_answer(false);
        let text = metrics.encode();
        for line in [
            r#"timeline_answers_total{source="view",reason="view"} 1"#,
            r#"timeline_answers_total{source="composed",reason="lagging"} 1"#,
            r#"timeline_answers_total{source="composed",reason="not_reached"} 1"#,
            r#"timeline_view_state{state="current"} 1"#,
            r#"timeline_view_state{state="building"} 0"#,
            r#"timeline_view_size{of="messages"} 7"#,
            r#"timeline_view_events_total{source="messages",outcome="skipped"} 2"#,
            r#"timeline_view_repairs_total{outcome="merged"} 1"#,
            r#"timeline_view_kept_answers_total{outcome="hit"} 2"#,
            r#"timeline_view_kept_answers_total{outcome="miss"} 1"#,
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
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
