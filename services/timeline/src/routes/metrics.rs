//! `/metrics`.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_metrics))
}

/// Prometheus metrics (OpenMetrics text): downstream requests by service and outcome with
/// latency histograms, profile cache hits and misses, profile loads, timelines served and
/// where their answers came from, and the live view: its state, size, events, repairs and
/// its feed followers' positions and lags.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    operation_id = "getMetrics",
    responses((status = 200, description = "OpenMetrics text exposition", body = String,
        content_type = "application/openmetrics-text"))
)]
async fn get_metrics(State(state): State<AppState>) -> impl IntoResponse {
    if let Some(view) = &state.timelines.view {
        view.publish(&state.metrics);
    }
    ([(CONTENT_TYPE, OPENMETRICS)], state.metrics.encode())
}
