//! `GET /metrics`: the gateway's Prometheus metrics; `GET /admin/stats`: the request
//! totals of every route and side as JSON, for the migration page.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use serde::Serialize;
use utoipa::ToSchema;

use super::routes::AdminState;
use crate::metrics::SideMetrics;

/// The content type of `GET /metrics`: OpenMetrics text, which Prometheus scrapes.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// `GET /admin/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// The active table's version.
    pub version: String,
    /// Requests being served now.
    pub in_flight: usize,
    /// The active table's routes, in the order they are tried, with totals since start.
    pub routes: Vec<RouteStats>,
    /// Requests no route serves.
    pub unmatched: SideStats,
}

/// One route's totals.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteStats {
    /// The pattern, as written in routes.yaml.
    pub route: String,
    /// Methods, or `["*"]`.
    pub methods: Vec<&'static str>,
    /// One entry per upstream the route sends to.
    pub sides: Vec<SideStats>,
}

/// One side's totals since the gateway started (they carry on across reloads).
#[derive(Debug, Serialize, ToSchema)]
pub struct SideStats {
    /// The upstream (`none` for requests no route serves).
    pub upstream: String,
    /// Requests answered.
    pub requests: u64,
    /// Answers with a 4xx status.
    pub client_errors: u64,
    /// Answers with a 5xx status.
    pub server_errors: u64,
}

/// Prometheus metrics of the proxy.
///
/// Requests by route pattern, upstream, method and status class; latency by route and
/// upstream; upstream failures; split decisions; reloads; the active table's version;
/// requests in flight. OpenMetrics text; docs/gateway.md lists every family.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    operation_id = "getMetrics",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "OpenMetrics text exposition", body = String,
            content_type = "application/openmetrics-text"),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = kit::problem::Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn get_metrics(State(state): State<AdminState>) -> Response {
    let mut registry = Registry::default();
    state.reloader().metrics().register(&mut registry);
    let snapshot = state.reloader().current();
    registry.register(
        "gateway_table",
        "The active route table: its version (content hash of the file)",
        Info::new(vec![("version".to_owned(), snapshot.version.clone())]),
    );
    #[allow(clippy::cast_precision_loss)]
    let loaded_at = snapshot.loaded_at.unix_timestamp_nanos() as f64 / 1e9;
    registry.register(
        "gateway_table_loaded_timestamp_seconds",
        "When the active route table was swapped in, in seconds since the Unix epoch",
        ConstGauge::new(loaded_at),
    );
    let bound = state.bound();
    registry.register(
        "gateway_requests_in_flight",
        "Requests the proxy is serving now",
        ConstGauge::new(i64::try_from(bound.in_flight()).unwrap_or(i64::MAX)),
    );
    registry.register(
        "gateway_max_concurrent_requests",
        "The bound on requests in flight (--max-concurrent-requests)",
        ConstGauge::new(i64::try_from(bound.max()).unwrap_or(i64::MAX)),
    );
    registry.register(
        "gateway_overload_refusals",
        "Requests answered 503 at once because the bound was reached",
        ConstCounter::new(bound.refused()),
    );
    registry.register(
        "gateway_panics",
        "Requests answered 500 because their handler panicked",
        ConstCounter::new(bound.panicked()),
    );
    shadow(&state, &mut registry);
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &registry) {
        Ok(()) => ([(http::header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(err) => kit::problem::internal_error(anyhow::anyhow!("cannot encode metrics: {err}")),
    }
}

/// The families of shadow traffic, registered on every scrape after the gateway's own:
/// `gateway_shadow_results_total{route,shadow,result}` for each route of the active table
/// with a shadow, `result` being equal, different, noise, dropped or error (the counters
/// of `GET /admin/shadow`). None while the table has no shadow.
pub(crate) fn shadow(state: &AdminState, registry: &mut Registry) {
    use prometheus_client::metrics::counter::Counter;
    use prometheus_client::metrics::family::Family;

    let view = super::shadow::ShadowsView::new(&state.reloader().current());
    if view.routes.is_empty() {
        return;
    }
    let results = Family::<Vec<(&'static str, String)>, Counter>::default();
    for route in &view.routes {
        for (result, count) in [
            ("equal", route.equal),
            ("different", route.different),
            ("noise", route.noise),
            ("dropped", route.dropped),
            ("error", route.errors),
        ] {
            let labels = vec![
                ("route", route.route.clone()),
                ("shadow", route.shadow.clone()),
                ("result", result.to_owned()),
            ];
            results.get_or_create(&labels).inc_by(count);
        }
    }
    registry.register(
        "gateway_shadow_results",
        "Shadow copies by outcome: compared equal, different, different only in noise \
         fields, dropped (over max_in_flight, too large, primary unread), or failed",
        results,
    );
}

/// Request totals per route and side.
///
/// What the migration page computes its rates from: every route of the active table with,
/// per upstream it sends to, the requests answered and the 4xx and 5xx among them since
/// the gateway started.
#[utoipa::path(
    get,
    path = "/admin/stats",
    tag = "admin",
    operation_id = "getStats",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Totals of the active table's routes", body = StatsView),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = kit::problem::Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn get_stats(State(state): State<AdminState>) -> kit::extract::Json<StatsView> {
    let snapshot = state.reloader().current();
    let table = &snapshot.table;
    let routes = table
        .routes()
        .iter()
        .enumerate()
        .map(|(index, route)| RouteStats {
            route: route.pattern.source().to_owned(),
            methods: if route.methods.is_any() {
                vec!["*"]
            } else {
                route.methods.names().collect()
            },
            sides: snapshot
                .metrics
                .route(index)
                .sides()
                .iter()
                .map(SideStats::of)
                .collect(),
        })
        .collect();
    kit::extract::Json(StatsView {
        version: snapshot.version.clone(),
        in_flight: state.bound().in_flight(),
        routes,
        unmatched: SideStats::of(snapshot.metrics.unmatched().side(None)),
    })
}

// === impl SideStats ===

impl SideStats {
    fn of(side: &SideMetrics) -> Self {
        let totals = side.totals();
        Self {
            upstream: side.upstream().to_owned(),
            requests: totals.requests,
            client_errors: totals.client_errors,
            server_errors: totals.server_errors,
        }
    }
}
