//! The one tower stack every service runs, outermost first:
//!
//! `CatchPanic` → `SetSensitiveRequestHeaders` → `SetRequestId` → `Trace` →
//! `PropagateRequestId` → problem normalizer → `HandleError` + `Timeout` → `LoadShed` →
//! `GlobalConcurrencyLimit` → `RequestBodyLimit` → routes.

use std::any::Any;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION, SET_COOKIE};
use http::{HeaderName, Request};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::problem::Problem;

/// The request-id header, generated when absent and echoed on every response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Limits applied to every request.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Longest time a request may take before it is answered with 504.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub request_timeout: Duration,
    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, default_value_t = 64 * 1024)]
    pub body_limit: usize,
    /// Requests handled at once; more are shed with 503 and `Retry-After`.
    #[arg(long, default_value_t = 1024)]
    pub max_concurrency: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(10),
            body_limit: 64 * 1024,
            max_concurrency: 1024,
        }
    }
}

/// Wraps `router` in the standard stack.
pub fn apply(router: Router, limits: &Limits) -> Router {
    router
        // Body size is enforced by `RequestBodyLimitLayer` below, which answers 413 from the
        // Content-Length alone; axum's own 2 MB default would only shadow it.
        .layer(DefaultBodyLimit::disable())
        .layer(
            ServiceBuilder::new()
                // Outermost, so a panic anywhere below still produces a problem response.
                .layer(CatchPanicLayer::custom(panic_response))
                // Before tracing, so credentials never reach a log line.
                .layer(SetSensitiveRequestHeadersLayer::new([
                    AUTHORIZATION,
                    PROXY_AUTHORIZATION,
                    COOKIE,
                    SET_COOKIE,
                ]))
                // Before tracing, so the span can record the id.
                .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
                // Outside the timeout and load shedding, so 503 and 504 answers are logged in
                // the request's span with their latency.
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(log_response)
                        .on_failure(()),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID))
                // Inside the span and the request id, so problems carry the id and the hidden
                // cause of a 5xx is logged once, in context.
                .layer(axum::middleware::from_fn(crate::problem::normalize))
                // Turns the errors of the three layers below into problems (504, 503).
                .layer(HandleErrorLayer::new(middleware_error))
                .timeout(limits.request_timeout)
                // Shed at once instead of queueing when the limit below is reached.
                .load_shed()
                // Global: one semaphore shared by every route this stack is cloned into.
                .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrency))
                .layer(RequestBodyLimitLayer::new(limits.body_limit)),
        )
}

fn request_span(request: &Request<Body>) -> Span {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let matched_path = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        matched_path,
        request_id,
    )
}

fn log_response(response: &Response, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if response.status().is_server_error() {
        tracing::warn!(status, latency_ms, "response");
    } else {
        tracing::debug!(status, latency_ms, "response");
    }
}

async fn middleware_error(error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        Problem::timeout().into_response()
    } else if error.is::<tower::load_shed::error::Overloaded>() {
        Problem::overloaded().into_response()
    } else {
        crate::problem::internal_error(anyhow::anyhow!(error))
    }
}

// The signature CatchPanicLayer::custom requires.
#[allow(clippy::needless_pass_by_value)]
fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("non-string panic payload");
    tracing::error!(panic = message, "handler panicked");
    Problem::internal().into_response()
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        let router = Router::new().route(
            "/missing",
            get(|| async { Problem::not_found("no user with id 7") }),
        );
        apply(router, &Limits::default())
    }

    async fn send(request: Request<Body>) -> (Response, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or_default();
        (Response::from_parts(parts, Body::empty()), json)
    }

    #[tokio::test]
    async fn a_request_id_is_generated_when_absent() {
        let request = Request::get("/missing").body(Body::empty()).unwrap();
        let (response, problem) = send(request).await;
        let id = response.headers()[REQUEST_ID].to_str().unwrap().to_owned();
        assert_eq!(id.len(), 36, "a UUID: {id}");
        assert_eq!(problem["request_id"], id.as_str(), "{problem}");
    }

    #[tokio::test]
    async fn a_given_request_id_is_echoed_and_lands_in_problems() {
        let request = Request::get("/missing")
            .header(REQUEST_ID, "trace-me-123")
            .body(Body::empty())
            .unwrap();
        let (response, problem) = send(request).await;
        assert_eq!(response.status(), 404);
        assert_eq!(response.headers()[REQUEST_ID], "trace-me-123");
        assert_eq!(problem["request_id"], "trace-me-123");
        assert_eq!(problem["instance"], "/missing");
        assert_eq!(problem["detail"], "no user with id 7");
    }
}
