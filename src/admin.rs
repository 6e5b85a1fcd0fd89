//! The admin API, on its own listener (loopback by default), optionally behind a bearer
//! token:
//!
//! - `GET /admin/routes`: the active table, its version and load time, and the last
//!   rejected load with its errors.
//! - `POST /admin/reload`: load the routes file now; 200 with the version, or 422 with
//!   every error and the old table still serving.
//! - `GET /healthz`: the process is up.
//! - `GET /openapi.json` and `GET /docs`: this API's spec and Swagger UI for it (no token
//!   needed: the spec holds no secrets).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::StatusCode;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use kit::extract::Json;
use kit::problem::Problem;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use utoipa::ToSchema;

use crate::reload::{Rejection, Reloaded, Reloader, Snapshot, Trigger};
use crate::table::{Route, RouteTable, Sticky, Target};

/// What admin handlers share.
#[derive(Debug, Clone)]
pub struct AdminState {
    reloader: Arc<Reloader>,
    token: Option<Arc<SecretString>>,
}

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
    /// Line in the file.
    pub line: u64,
}

/// Builds the admin router (with kit's standard stack: request ids, tracing, problems).
pub fn router(reloader: Arc<Reloader>, token: Option<SecretString>) -> Router {
    let state = AdminState {
        reloader,
        token: token.map(Arc::new),
    };
    let routes = Router::new()
        .route("/admin/routes", get(get_routes))
        .route("/admin/reload", post(reload))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .route("/healthz", get(healthz))
        .with_state(state)
        .merge(kit::ops::docs(crate::openapi::admin::openapi()));
    kit::layers::apply(routes, &kit::layers::Limits::default())
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
async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
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
            line: route.line,
        }
    }
}
