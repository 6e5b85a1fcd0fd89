//! What `GET /admin/shadow` answers: for each route with a `shadow:` in the active table,
//! its counters, the fields learnt as noise and the latest differences.

use serde::Serialize;
use utoipa::ToSchema;

use crate::snapshot::Snapshot;
use crate::snapshot::shadow::{Difference, ShadowCounts};

/// `GET /admin/shadow`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShadowsView {
    /// Routes with a shadow, most specific first (the order they are tried in).
    pub routes: Vec<ShadowRouteView>,
}

/// One route's shadow.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShadowRouteView {
    /// The route's pattern as in routes.yaml.
    #[schema(example = "/users/{id}")]
    pub route: String,
    /// The methods shadowed: the route's GET and HEAD.
    #[schema(example = json!(["GET", "HEAD"]))]
    pub methods: Vec<&'static str>,
    /// The upstream that serves the route (sides of a split joined by `,`).
    #[schema(example = "monolith")]
    pub upstream: String,
    /// The upstream that gets the copies.
    #[schema(example = "users")]
    pub shadow: String,
    /// Percent of the route's GET and HEAD requests copied.
    pub percent: u8,
    /// Shadow answers compared with the primary's (`equal + different + noise`).
    pub compared: u64,
    /// Compared and alike (ignored pointers aside).
    pub equal: u64,
    /// Compared and different.
    pub different: u64,
    /// Different only in noise fields.
    pub noise: u64,
    /// Copies not sent or not compared: over `max_in_flight`, a body over 1 MiB, or a
    /// primary answer that failed or was not read to its end.
    pub dropped: u64,
    /// Shadow requests that failed: no connection, a timeout, a broken answer.
    pub errors: u64,
    /// JSON pointers seen to differ between two answers of the primary to one request.
    #[schema(example = json!(["/generated_at"]))]
    pub noise_fields: Vec<String>,
    /// The latest differences (at most 20), oldest first.
    pub differences: Vec<DifferenceView>,
}

/// One request whose shadow answered differently.
#[derive(Debug, Serialize, ToSchema)]
pub struct DifferenceView {
    /// When it was compared.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: time::OffsetDateTime,
    /// The request's method.
    #[schema(example = "GET")]
    pub method: String,
    /// Its path and query.
    #[schema(example = "/users/1")]
    pub path: String,
    /// The primary's status.
    pub primary_status: u16,
    /// The shadow's status.
    pub shadow_status: u16,
    /// JSON pointers whose values differ (`""`: a whole non-JSON body); empty when only
    /// the status or the content type differ.
    #[schema(example = json!(["/name"]))]
    pub pointers: Vec<String>,
}

// === impl ShadowsView ===

impl ShadowsView {
    /// Describes the shadows of `snapshot`.
    pub fn new(snapshot: &Snapshot) -> Self {
        let table = &snapshot.table;
        let routes = table
            .routes()
            .iter()
            .enumerate()
            .filter_map(|(index, route)| {
                let state = snapshot.shadow(index)?;
                let counts: ShadowCounts = state.stats.snapshot();
                Some(ShadowRouteView {
                    route: route.pattern.source().to_owned(),
                    methods: route.methods.safe_names().collect(),
                    upstream: route
                        .sides()
                        .iter()
                        .map(|(id, _)| table.upstream(*id).name.as_ref())
                        .collect::<Vec<_>>()
                        .join(","),
                    shadow: state.shadow.name.to_string(),
                    percent: state.config.percent,
                    compared: counts.compared,
                    equal: counts.equal,
                    different: counts.different,
                    noise: counts.noise,
                    dropped: counts.dropped,
                    errors: counts.errors,
                    noise_fields: counts.noise_fields,
                    differences: counts
                        .differences
                        .into_iter()
                        .map(DifferenceView::from)
                        .collect(),
                })
            })
            .collect();
        Self { routes }
    }
}

// === impl DifferenceView ===

impl From<Difference> for DifferenceView {
    fn from(d: Difference) -> Self {
        Self {
            at: d.at,
            method: d.method,
            path: d.path,
            primary_status: d.primary_status,
            shadow_status: d.shadow_status,
            pointers: d.pointers,
        }
    }
}
