//! The admin API's handlers, with the OpenAPI description of each, and the bearer-token
//! check in front of the `/admin` ones.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use kit::extract::Json;
use kit::problem::Problem;
use secrecy::{ExposeSecret, SecretString};

use super::shadow::ShadowsView;
use super::view::RoutesView;
use crate::proxy::Bound;
use crate::reload::{Reloaded, Reloader};
use crate::snapshot::Trigger;

/// What admin handlers share.
#[derive(Debug, Clone)]
pub struct AdminState {
    reloader: Arc<Reloader>,
    token: Option<Arc<SecretString>>,
    /// The proxy's bound on requests in flight, read by `/metrics`.
    bound: Arc<Bound>,
}

// === impl AdminState ===

impl AdminState {
    /// State for handlers that reload through `reloader`, report the proxy's `bound`
    /// and, when `token` is given, require it.
    pub fn new(reloader: Arc<Reloader>, token: Option<SecretString>, bound: Arc<Bound>) -> Self {
        Self {
            reloader,
            token: token.map(Arc::new),
            bound,
        }
    }

    /// The reloader, with the active snapshot and the metric families.
    pub fn reloader(&self) -> &Reloader {
        &self.reloader
    }

    /// The proxy's bound on requests in flight.
    pub fn bound(&self) -> &Bound {
        &self.bound
    }
}

/// The active route table.
///
/// Its version (a hash of the file), when and how it was loaded, the upstreams and the
/// routes in the order they are tried, and the last load that was refused.
#[utoipa::path(
    get,
    path = "/admin/routes",
    tag = "admin",
    operation_id = "getRoutes",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The active table", body = RoutesView),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn get_routes(State(state): State<AdminState>) -> Json<RoutesView> {
    let snapshot = state.reloader.current();
    Json(RoutesView::new(&snapshot, &state.reloader))
}

/// Replication between the sides, as each upstream reports it.
///
/// For every upstream of the active table, its `GET /feeds`: its change feed's head and,
/// for each feed of another side it applies (one per direction of replication, e.g.
/// `users-from-monolith` and `monolith-from-users`), the position applied and the lag in
/// events and seconds. An upstream that keeps no feed (the timeline service) or does not
/// answer within a second says so in `error`.
#[utoipa::path(
    get,
    path = "/admin/replication",
    tag = "admin",
    operation_id = "getReplication",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Every upstream's feed and followers", body = ReplicationView),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn get_replication(State(state): State<AdminState>) -> Json<ReplicationView> {
    let snapshot = state.reloader.current();
    let client = state.reloader.feed_client();
    let sides = snapshot
        .table
        .upstreams()
        .iter()
        .map(|upstream| async move {
            let status = client.status(&upstream.url, REPLICATION_READ).await;
            let (feed, error) = match status {
                Ok(feed) => (Some(feed), None),
                Err(why) => (None, Some(why)),
            };
            ReplicationSide {
                upstream: upstream.name.to_string(),
                url: upstream.url.to_string(),
                feed,
                error,
            }
        });
    Json(ReplicationView {
        sides: futures_util::future::join_all(sides).await,
    })
}

/// How long `/admin/replication` waits for one upstream's `/feeds`.
const REPLICATION_READ: std::time::Duration = std::time::Duration::from_secs(1);

/// `GET /admin/replication`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicationView {
    /// Each upstream of the active table, in its order.
    pub sides: Vec<ReplicationSide>,
}

/// One upstream's feed and followers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReplicationSide {
    /// Its name in routes.yaml.
    pub upstream: String,
    /// Its base URL.
    pub url: String,
    /// Its `/feeds`; absent when it could not be read.
    pub feed: Option<crate::handover::wait::FeedsView>,
    /// Why `feed` is absent.
    pub error: Option<String>,
}

/// Shadow traffic and its comparisons.
///
/// For each route of the active table with a `shadow:`: how many copies were compared and
/// how they came out (equal, different, noise), dropped and failed, the fields learnt as
/// noise, and the latest differences with the JSON pointers that differed. Counters of a
/// route that a reload keeps (same pattern and methods) carry on.
#[utoipa::path(
    get,
    path = "/admin/shadow",
    tag = "admin",
    operation_id = "getShadow",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Every shadowed route", body = ShadowsView),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
    )
)]
pub(crate) async fn get_shadow(State(state): State<AdminState>) -> Json<ShadowsView> {
    Json(ShadowsView::new(&state.reloader.current()))
}

/// Load the routes file now.
///
/// The same load as a saved file or SIGHUP: a valid file is swapped in atomically
/// (requests in flight finish on the table they started with); an invalid one is refused
/// with every error and the previous table keeps serving.
#[utoipa::path(
    post,
    path = "/admin/reload",
    tag = "admin",
    operation_id = "reloadRoutes",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The file is valid and active; `changed` is false when \
            it was already the active version", body = Reloaded),
        (status = 401, description = "A token is configured and the request does not carry \
            it as `Authorization: Bearer <token>`", body = Problem,
            content_type = "application/problem+json",
            headers(("WWW-Authenticate" = String, description = "`Bearer`"))),
        (status = 422, description = "The file was refused; `errors` maps the file to each \
            error as `line:column: message`, and the previous table keeps serving",
            body = Problem, content_type = "application/problem+json"),
    )
)]
pub(crate) async fn reload(State(state): State<AdminState>) -> Response {
    match state.reloader.reload(Trigger::Admin).await {
        Ok(reloaded) => Json::<Reloaded>(reloaded).into_response(),
        Err(rejection) => {
            let file = state.reloader.path().display().to_string();
            let problem = rejection.errors.iter().fold(
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "routes-rejected",
                    "Routes file rejected",
                )
                .with_detail(format!(
                    "{file} has {} error(s); the previous table keeps serving",
                    rejection.errors.len()
                )),
                |p, e| p.with_field_error(file.clone(), e.to_string()),
            );
            problem.into_response()
        }
    }
}

/// The migration page.
///
/// One self-contained HTML page (no external resource) that shows, refreshed every two
/// seconds, every route with the upstream serving it, its split and stickiness, request
/// and error rates per side, shadow comparisons, the table's version and the last
/// rejected file. It holds no data itself: it reads `/admin/routes`, `/admin/stats` and
/// `/admin/shadow`, asking for the admin token when they answer 401.
#[utoipa::path(
    get,
    path = "/admin/",
    tag = "admin",
    operation_id = "getMigrationPage",
    responses((status = 200, description = "The page", body = String, content_type = "text/html"))
)]
pub(crate) async fn page() -> Response {
    (
        [
            (http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (http::header::CACHE_CONTROL, "no-cache"),
        ],
        PAGE,
    )
        .into_response()
}

/// The migration page's source.
const PAGE: &str = include_str!("page.html");

/// Liveness: the process serves HTTP.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    operation_id = "getHealth",
    responses((status = 200, description = "The process is alive", body = kit::ops::Status))
)]
pub(crate) async fn healthz() -> Json<kit::ops::Status> {
    Json(kit::ops::Status { status: "ok" })
}

/// Refuses admin calls without the bearer token, when one is configured.
pub(crate) async fn require_token(
    State(state): State<AdminState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), token.expose_secret().as_bytes())) {
        return next.run(request).await;
    }
    let mut response = Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
        .with_detail("the admin API needs `Authorization: Bearer <token>`")
        .into_response();
    response
        .headers_mut()
        .insert(WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    response
}

/// Compares without returning early on the first differing byte.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
