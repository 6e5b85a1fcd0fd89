//! The gateway's Prometheus metrics: what the proxy counts per route and upstream, what
//! reloads count, and how the admin listener's `GET /metrics` encodes them.
//!
//! Label values come from the route table only: a route's pattern as written in
//! routes.yaml, upstream names, a fixed set of methods and status classes. A request no
//! route serves is counted under `route="none"`, so no client can grow the series.
//!
//! The families ([`Metrics`]) live as long as the process, so counts carry on across
//! reloads for every route and upstream a new table keeps. Each snapshot resolves its
//! label sets once, when it is built ([`TableMetrics`]): per route and side a
//! [`SideMetrics`] holds its counters, so a request records with atomic adds only, and
//! never hashes or formats a label. A request counter is looked up in its family the
//! first time its method and status class occur on a side, then held.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{HeaderMap, Method};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

pub mod histogram;

pub use histogram::Histogram;

use crate::table::{Pattern, Route, RouteTable, Sticky, Target, UpstreamId};

/// The `route` (and `upstream`) label of a request no route serves.
pub const NONE: &str = "none";

/// The `upstream` label of what the gateway answers itself (its `/openapi.json`).
pub const GATEWAY: &str = "gateway";

/// The `method` label values, in slot order; any other method is `OTHER`.
static METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

/// The `method` label of an extension method.
const OTHER: &str = "OTHER";

/// The `class` label values: the status's first digit.
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Request counters per side: one per method slot and status class.
const SLOTS: usize = (METHODS.len() + 1) * CLASSES.len();

/// A request's method as a counter slot, taken before the request is consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodSlot(usize);

/// What went wrong talking to an upstream, the `kind` label of
/// `gateway_upstream_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// The connection could not be made (refused, unreachable).
    Connect,
    /// The connection was not made within the upstream's connect timeout.
    ConnectTimeout,
    /// No response head within the request timeout.
    Timeout,
    /// The connection was reset or closed before a response head.
    Closed,
    /// The response head broke the HTTP rules the gateway enforces.
    BadResponse,
}

/// How a split chose its side, the `by` label of `gateway_split_decisions_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    /// By the hash of the request's stickiness key.
    Sticky,
    /// Weighted round-robin: no stickiness key configured, or none in the request.
    RoundRobin,
}

/// What asked for a load, as a label (`snapshot::Trigger`'s names).
pub type TriggerName = &'static str;

/// The outcome of a load, the `outcome` label of `gateway_reloads_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A new table was swapped in.
    Applied,
    /// The file was the active version already; nothing changed.
    Unchanged,
    /// The file was refused; the previous table keeps serving.
    Rejected,
}

/// The gateway's metric families, kept for the life of the process.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<RequestLabels, Counter>,
    latency: Family<SideLabels, Histogram>,
    upstream_errors: Family<ErrorLabels, Counter>,
    splits: Family<SplitLabels, Counter>,
    reloads: Family<ReloadLabels, Counter>,
    handovers: Family<HandoverLabels, Counter>,
    handover_wait: Family<HandoverLabels, Histogram>,
    handover_held: Family<HandoverLabels, Histogram>,
    /// Requests no route serves.
    unmatched: Arc<RouteMetrics>,
    /// The gateway's own `/openapi.json`.
    spec: Arc<RouteMetrics>,
}

/// The label sets of one table, resolved when its snapshot is built.
#[derive(Debug)]
pub struct TableMetrics {
    /// Indexed like `table.routes()`.
    routes: Box<[RouteMetrics]>,
    /// Indexed like `table.upstreams()`.
    upstreams: Box<[UpstreamMetrics]>,
    unmatched: Arc<RouteMetrics>,
    spec: Arc<RouteMetrics>,
}

/// One route's counters, one [`SideMetrics`] per upstream it may send to.
#[derive(Debug)]
pub struct RouteMetrics {
    sides: Box<[SideMetrics]>,
}

/// The counters of one route and one of its upstreams.
#[derive(Debug)]
pub struct SideMetrics {
    /// The upstream; `None` for `none` and `gateway`.
    id: Option<UpstreamId>,
    labels: SideLabels,
    requests: Family<RequestLabels, Counter>,
    /// Filled as method and class pairs occur, in slot order (method, then class).
    slots: Box<[OnceLock<Counter>]>,
    latency: Histogram,
    /// Sticky, then round-robin; only on the sides of a split.
    splits: Option<[Counter; 2]>,
}

/// One upstream's failure counters, by [`UpstreamFailure`].
#[derive(Debug)]
pub struct UpstreamMetrics {
    errors: [Counter; 5],
}

/// What `GET /admin/stats` reports of one side: totals since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SideTotals {
    /// Every request answered.
    pub requests: u64,
    /// Answers with a 4xx status.
    pub client_errors: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: Arc<String>,
    upstream: Arc<String>,
    method: &'static str,
    class: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SideLabels {
    route: Arc<String>,
    upstream: Arc<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    upstream: Arc<String>,
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SplitLabels {
    route: Arc<String>,
    upstream: Arc<String>,
    by: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReloadLabels {
    trigger: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HandoverLabels {
    outcome: &'static str,
}

/// Every trigger's label, as `snapshot::Trigger` serializes it.
pub const TRIGGERS: [TriggerName; 4] = ["startup", "file", "sighup", "admin"];

// === impl Metrics ===

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<SideLabels, Histogram>::default();
        let reloads = Family::<ReloadLabels, Counter>::default();
        // Every trigger and outcome from the start, so a rate over them needs no first
        // occurrence.
        for trigger in TRIGGERS {
            for outcome in ReloadOutcome::ALL {
                let _series = reloads.get_or_create(&ReloadLabels {
                    trigger,
                    outcome: outcome.label(),
                });
            }
        }
        let handovers = Family::<HandoverLabels, Counter>::default();
        let handover_wait = Family::<HandoverLabels, Histogram>::default();
        let handover_held = Family::<HandoverLabels, Histogram>::default();
        for outcome in crate::handover::Outcome::ALL {
            let labels = HandoverLabels {
                outcome: outcome.label(),
            };
            let _series = handovers.get_or_create(&labels);
            let _series = handover_wait.get_or_create(&labels);
            let _series = handover_held.get_or_create(&labels);
        }
        let fixed = |route: &str, upstream: &str| {
            Arc::new(RouteMetrics {
                sides: Box::new([SideMetrics::new(
                    None,
                    SideLabels {
                        route: Arc::new(route.to_owned()),
                        upstream: Arc::new(upstream.to_owned()),
                    },
                    &requests,
                    &latency,
                    None,
                )]),
            })
        };
        let unmatched = fixed(NONE, NONE);
        let spec = fixed(crate::openapi::PATH, GATEWAY);
        Self {
            requests,
            latency,
            upstream_errors: Family::default(),
            splits: Family::default(),
            reloads,
            handovers,
            handover_wait,
            handover_held,
            unmatched,
            spec,
        }
    }
}

impl Metrics {
    /// Resolves every label set of `table` (creating the series it has not had yet).
    pub fn for_table(&self, table: &RouteTable) -> TableMetrics {
        let upstream_names: Vec<Arc<String>> = table
            .upstreams()
            .iter()
            .map(|u| Arc::new(u.name.to_string()))
            .collect();
        let routes = table
            .routes()
            .iter()
            .map(|route| self.route(route, &upstream_names))
            .collect();
        let upstreams = upstream_names
            .iter()
            .map(|name| UpstreamMetrics {
                errors: UpstreamFailure::ALL.map(|kind| {
                    self.upstream_errors.get_or_create_owned(&ErrorLabels {
                        upstream: Arc::clone(name),
                        kind: kind.label(),
                    })
                }),
            })
            .collect();
        TableMetrics {
            routes,
            upstreams,
            unmatched: Arc::clone(&self.unmatched),
            spec: Arc::clone(&self.spec),
        }
    }

    fn route(&self, route: &Route, upstreams: &[Arc<String>]) -> RouteMetrics {
        let pattern = Arc::new(route.pattern.source().to_owned());
        let split = matches!(route.target, Target::Split(_));
        let sides = route
            .sides()
            .into_iter()
            .map(|(id, _weight)| {
                let labels = SideLabels {
                    route: Arc::clone(&pattern),
                    upstream: Arc::clone(&upstreams[id.index()]),
                };
                let splits = split.then(|| {
                    [SplitBy::Sticky, SplitBy::RoundRobin].map(|by| {
                        self.splits.get_or_create_owned(&SplitLabels {
                            route: Arc::clone(&labels.route),
                            upstream: Arc::clone(&labels.upstream),
                            by: by.label(),
                        })
                    })
                });
                SideMetrics::new(Some(id), labels, &self.requests, &self.latency, splits)
            })
            .collect();
        RouteMetrics { sides }
    }

    /// Counts one load.
    pub fn reloaded(&self, trigger: TriggerName, outcome: ReloadOutcome) {
        self.reloads
            .get_or_create(&ReloadLabels {
                trigger,
                outcome: outcome.label(),
            })
            .inc();
    }

    /// Counts one hand-over waited for at a swap, by its outcome's label, how long it
    /// waited in all, and how long it held moved routes after the swap (`None`: it had no
    /// final catch-up).
    pub fn handed_over(&self, outcome: &'static str, waited: Duration, held: Option<Duration>) {
        let labels = HandoverLabels { outcome };
        self.handovers.get_or_create(&labels).inc();
        self.handover_wait.get_or_create(&labels).observe(waited);
        if let Some(held) = held {
            self.handover_held.get_or_create(&labels).observe(held);
        }
    }

    /// Registers every family in `registry`, sharing the counts (a scrape builds a
    /// registry of these and of what it reads at the time of the scrape).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "gateway_requests",
            "Requests answered, by route pattern, upstream, method and status class \
             (route=\"none\": no route serves the path)",
            self.requests.clone(),
        );
        registry.register(
            "gateway_request_duration_seconds",
            "Time from a request's arrival to its response head, by route and upstream",
            self.latency.clone(),
        );
        registry.register(
            "gateway_upstream_errors",
            "Requests that failed at an upstream, by upstream and kind (connect, \
             connect_timeout, timeout, closed, bad_response)",
            self.upstream_errors.clone(),
        );
        registry.register(
            "gateway_split_decisions",
            "Sides chosen by weighted routes, by route, upstream and how (sticky, \
             round_robin)",
            self.splits.clone(),
        );
        registry.register(
            "gateway_reloads",
            "Loads of the routes file, by trigger and outcome (applied, unchanged, rejected)",
            self.reloads.clone(),
        );
        registry.register(
            "gateway_handovers",
            "Hand-overs waited for at swaps that moved routes between upstreams, by outcome \
             (caught_up, timed_out, not_replicated, unreachable)",
            self.handovers.clone(),
        );
        registry.register(
            "gateway_handover_wait_seconds",
            "Time a swap waited for the new side's follower to reach the old side's feed \
             head, before and after the swap, by outcome",
            self.handover_wait.clone(),
        );
        registry.register(
            "gateway_handover_held_seconds",
            "Time a swap held the requests of the routes it moved, while the previous \
             table's requests finished and the new side caught up again, by outcome",
            self.handover_held.clone(),
        );
    }
}

// === impl TableMetrics ===

impl TableMetrics {
    /// Route `index` of the table (of `table.routes()`); the unmatched counters if there
    /// is no such route.
    pub fn route(&self, index: usize) -> &RouteMetrics {
        self.routes.get(index).unwrap_or(&self.unmatched)
    }

    /// Requests no route serves.
    pub fn unmatched(&self) -> &RouteMetrics {
        &self.unmatched
    }

    /// The gateway's own `/openapi.json`.
    pub fn spec(&self) -> &RouteMetrics {
        &self.spec
    }

    /// Counts a failure at upstream `id`.
    pub fn upstream_failed(&self, id: UpstreamId, failure: UpstreamFailure) {
        if let Some(upstream) = self.upstreams.get(id.index()) {
            upstream.errors[failure as usize].inc();
        }
    }
}

// === impl RouteMetrics ===

impl RouteMetrics {
    /// The side of upstream `id`; the first side for `None` or an upstream the route does
    /// not send to.
    pub fn side(&self, id: Option<UpstreamId>) -> &SideMetrics {
        let found = id.and_then(|id| self.sides.iter().find(|s| s.id == Some(id)));
        // Every route has at least one side (validated), so the first exists.
        found.unwrap_or(&self.sides[0])
    }

    /// Every side, in the route's order.
    pub fn sides(&self) -> &[SideMetrics] {
        &self.sides
    }
}

// === impl SideMetrics ===

impl SideMetrics {
    fn new(
        id: Option<UpstreamId>,
        labels: SideLabels,
        requests: &Family<RequestLabels, Counter>,
        latency: &Family<SideLabels, Histogram>,
        splits: Option<[Counter; 2]>,
    ) -> Self {
        Self {
            id,
            latency: latency.get_or_create_owned(&labels),
            labels,
            requests: requests.clone(),
            slots: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            splits,
        }
    }

    /// The upstream's name.
    pub fn upstream(&self) -> &str {
        &self.labels.upstream
    }

    /// Counts one answered request: its method, its status and how long its response
    /// head took.
    pub fn record(&self, method: MethodSlot, status: u16, elapsed: Duration) {
        let method_slot = method.0;
        let class = class_slot(status);
        let slot = method_slot * CLASSES.len() + class;
        let counter = self.slots[slot].get_or_init(|| {
            self.requests.get_or_create_owned(&RequestLabels {
                route: Arc::clone(&self.labels.route),
                upstream: Arc::clone(&self.labels.upstream),
                method: METHODS.get(method_slot).map_or(OTHER, Method::as_str),
                class: CLASSES[class],
            })
        });
        counter.inc();
        self.latency.observe(elapsed);
    }

    /// Counts this side being chosen by its split.
    pub fn chosen(&self, by: SplitBy) {
        if let Some(splits) = &self.splits {
            splits[by as usize].inc();
        }
    }

    /// Requests answered so far on this side, by outcome.
    pub fn totals(&self) -> SideTotals {
        let mut totals = SideTotals::default();
        for (slot, counter) in self.slots.iter().enumerate() {
            let Some(counter) = counter.get() else {
                continue;
            };
            let n = counter.get();
            totals.requests += n;
            match slot % CLASSES.len() {
                3 => totals.client_errors += n,
                4 => totals.server_errors += n,
                _ => {}
            }
        }
        totals
    }
}

/// How `route`'s split picks for a request with this path and these headers (`None`: the
/// route has a single upstream). The same test the split itself makes: a configured key
/// present in the request.
pub fn split_by(route: &Route, path: &str, headers: &HeaderMap) -> Option<SplitBy> {
    let Target::Split(split) = &route.target else {
        return None;
    };
    let keyed = match split.sticky() {
        Some(Sticky::Header(name)) => headers.contains_key(name),
        Some(Sticky::Param { index, .. }) => Pattern::param_at(path, *index).is_some(),
        None => false,
    };
    Some(if keyed {
        SplitBy::Sticky
    } else {
        SplitBy::RoundRobin
    })
}

/// Index of a status's class in [`CLASSES`]; anything out of range counts as 5xx.
fn class_slot(status: u16) -> usize {
    match status / 100 {
        1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        _ => 4,
    }
}

// === impl MethodSlot ===

impl MethodSlot {
    /// The slot of `method`: its own for a standard method, one shared by every other.
    pub fn of(method: &Method) -> Self {
        Self(
            METHODS
                .iter()
                .position(|m| m == method)
                .unwrap_or(METHODS.len()),
        )
    }
}

// === impl UpstreamFailure ===

impl UpstreamFailure {
    /// Every kind, in counter order.
    pub const ALL: [Self; 5] = [
        Self::Connect,
        Self::ConnectTimeout,
        Self::Timeout,
        Self::Closed,
        Self::BadResponse,
    ];

    /// Its `kind` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Connect => "connect",
            Self::ConnectTimeout => "connect_timeout",
            Self::Timeout => "timeout",
            Self::Closed => "closed",
            Self::BadResponse => "bad_response",
        }
    }
}

// === impl SplitBy ===

impl SplitBy {
    /// Its `by` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sticky => "sticky",
            Self::RoundRobin => "round_robin",
        }
    }
}

// === impl ReloadOutcome ===

impl ReloadOutcome {
    /// Every outcome.
    pub const ALL: [Self; 3] = [Self::Applied, Self::Unchanged, Self::Rejected];

    /// Its `outcome` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Unchanged => "unchanged",
            Self::Rejected => "rejected",
        }
    }
}

#[cfg(test)]
mod tests;
