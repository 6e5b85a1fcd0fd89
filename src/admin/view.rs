//! What `GET /admin/routes` answers: the active snapshot described for people and tools,
//! durations in humantime, upstreams by name.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::handover::Handover;
use crate::reload::{Rejection, Reloader};
use crate::snapshot::{Snapshot, Trigger};
use crate::table::{Route, RouteTable, Sticky, Target};

/// `GET /admin/routes`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutesView {
    /// Content hash of the active file.
    pub version: String,
    /// When it was swapped in.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub loaded_at: time::OffsetDateTime,
    /// What loaded it.
    pub trigger: Trigger,
    /// The routes file.
    pub file: String,
    /// Upstream URLs replaced at start (`--upstream NAME=URL`).
    pub overrides: BTreeMap<String, String>,
    /// Gateway-wide settings.
    pub settings: SettingsView,
    /// Upstreams by name.
    pub upstreams: Vec<UpstreamView>,
    /// Routes, most specific first (the order they are tried in).
    pub routes: Vec<RouteView>,
    /// The last load that was refused, if any (it may be older than `loaded_at`).
    pub last_rejected: Option<Rejection>,
    /// The hand-overs waited for before the active table was swapped in: each pair of
    /// upstreams it moved routes between, the feed, its head, the position the new side
    /// reached and the time waited (empty at startup and when no route moved).
    pub handovers: Vec<Handover>,
}

/// Settings as served.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsView {
    /// `x-upstream` on responses.
    pub upstream_header: bool,
    /// Trusted proxies.
    pub trusted_proxies: Vec<String>,
    /// Request head limit.
    pub max_header_bytes: usize,
    /// Longest wait for a hand-over at a swap, humantime (`0s`: never waits).
    pub handover_timeout: String,
}

/// An upstream as served.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpstreamView {
    /// Its name.
    pub name: String,
    /// Its base URL.
    pub url: String,
    /// Connect timeout, humantime.
    pub connect_timeout: String,
    /// Request timeout, humantime.
    pub request_timeout: String,
}

/// A route as served.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    /// `path` or `prefix`.
    pub kind: &'static str,
    /// The template or prefix.
    pub pattern: String,
    /// Methods, or `["*"]`.
    pub methods: Vec<&'static str>,
    /// Upstream → weight (1 for a single target).
    pub to: BTreeMap<String, u64>,
    /// `param:NAME` or `header:NAME`.
    pub sticky: Option<String>,
    /// Request timeout override, humantime.
    pub request_timeout: Option<String>,
    /// Body limit.
    pub max_body_bytes: u64,
    /// Hand-over timeout override, humantime.
    pub handover_timeout: Option<String>,
    /// Line in the file.
    pub line: u64,
}

// === impl RoutesView ===

impl RoutesView {
    /// Describes `snapshot`.
    pub fn new(snapshot: &Snapshot, reloader: &Reloader) -> Self {
        let table = &snapshot.table;
        let settings = table.settings();
        Self {
            version: snapshot.version.clone(),
            loaded_at: snapshot.loaded_at,
            trigger: snapshot.trigger,
            file: reloader.path().display().to_string(),
            overrides: reloader
                .overrides()
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            settings: SettingsView {
                upstream_header: settings.upstream_header,
                trusted_proxies: settings
                    .trusted_proxies
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                max_header_bytes: settings.max_header_bytes,
                handover_timeout: humantime::format_duration(settings.handover_timeout).to_string(),
            },
            upstreams: table
                .upstreams()
                .iter()
                .map(|u| UpstreamView {
                    name: u.name.to_string(),
                    url: u.url.to_string(),
                    connect_timeout: humantime::format_duration(u.connect_timeout).to_string(),
                    request_timeout: humantime::format_duration(u.request_timeout).to_string(),
                })
                .collect(),
            routes: table
                .routes()
                .iter()
                .map(|r| RouteView::new(r, table))
                .collect(),
            last_rejected: reloader.last_rejected(),
            handovers: snapshot.handovers(),
        }
    }
}

// === impl RouteView ===

impl RouteView {
    /// Describes `route` of `table`.
    pub fn new(route: &Route, table: &RouteTable) -> Self {
        Self {
            kind: if route.pattern.is_prefix() {
                "prefix"
            } else {
                "path"
            },
            pattern: route.pattern.source().to_owned(),
            methods: if route.methods.is_any() {
                vec!["*"]
            } else {
                route.methods.names().collect()
            },
            to: route
                .sides()
                .into_iter()
                .map(|(id, weight)| (table.upstream(id).name.to_string(), weight))
                .collect(),
            sticky: match &route.target {
                Target::Split(split) => split.sticky().map(|s| match s {
                    Sticky::Header(name) => format!("header:{name}"),
                    Sticky::Param { name, .. } => format!("param:{name}"),
                }),
                Target::One(_) => None,
            },
            request_timeout: route
                .request_timeout
                .map(|t| humantime::format_duration(t).to_string()),
            max_body_bytes: route.max_body_bytes,
            handover_timeout: route
                .handover_timeout
                .map(|t| humantime::format_duration(t).to_string()),
            line: route.line,
        }
    }
}
