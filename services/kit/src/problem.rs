//! RFC 9457 `application/problem+json` error bodies.
//!
//! Every 4xx and 5xx answer of every service is a [`Problem`]. Handlers build one through an
//! `ApiError` of their crate; everything else (axum's own rejections, the router's 404 and
//! 405, timeouts, overload, panics) is turned into one by [`normalize`], which also stamps
//! the request id and logs the hidden cause of 5xx answers exactly once.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The media type of every error body.
pub const CONTENT_TYPE_PROBLEM: &str = "application/problem+json";

/// The request id the documentation's example problems carry.
pub const EXAMPLE_REQUEST_ID: &str = "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f";

/// Longest plain-text body of a 4xx rejection that is kept as the problem's `detail`.
const MAX_KEPT_DETAIL: usize = 1024;

/// An RFC 9457 problem details object.
///
/// `type` is a URI reference (`/problems/{code}`) that identifies the kind of problem and
/// stays stable; `code` repeats its last segment for clients that switch on a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/invalid-id-list",
    "title": "Invalid id list",
    "status": 400,
    "detail": "`ids`: item 2, `abc`, is not a positive 64-bit integer",
    "instance": "/users",
    "code": "invalid-id-list",
    "request_id": "0b6c3e0e-5f7d-4f0a-9d0e-6a7d1c2b3a4f"
}))]
pub struct Problem {
    /// URI reference identifying the problem type: `/problems/{code}`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short, human-readable summary of the problem type; the same for every occurrence.
    pub title: String,
    /// The HTTP status code of this response.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// Human-readable explanation of this occurrence: what was wrong and what is allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path this problem occurred on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Stable machine-readable code, the last segment of `type`.
    pub code: String,
    /// The `x-request-id` of the request, for correlating with server logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// For validation problems (422): each offending field mapped to its messages.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, Vec<String>>,
    /// Seconds after which a retry may succeed; sent as `Retry-After`, not in the body.
    #[serde(skip)]
    #[schema(ignore)]
    pub retry_after: Option<u64>,
}

/// The cause of a 5xx answer, kept out of the body and logged once by [`normalize`].
#[derive(Debug, Clone)]
pub struct HiddenCause(pub Arc<anyhow::Error>);

// === impl Problem ===

impl Problem {
    /// A problem of the given status, with `code` naming its type and `title` summarising it.
    pub fn new(status: StatusCode, code: &str, title: &str) -> Self {
        Self {
            type_uri: format!("/problems/{code}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            code: code.to_owned(),
            request_id: None,
            errors: BTreeMap::new(),
            retry_after: None,
        }
    }

    /// Sets the human-readable detail of this occurrence.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds a message for one field of a validation problem.
    #[must_use]
    pub fn with_field_error(
        mut self,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        self.errors
            .entry(field.into())
            .or_default()
            .push(message.into());
        self
    }

    /// This problem as the stack answers it on a request to `instance` whose
    /// `x-request-id` is the documentation's example id: for OpenAPI examples built from
    /// the errors that produce them.
    #[must_use]
    pub fn example_at(mut self, instance: &str) -> Self {
        self.instance = Some(instance.to_owned());
        self.request_id = Some(EXAMPLE_REQUEST_ID.to_owned());
        self
    }

    /// Asks the client to wait this many seconds before retrying (`Retry-After`).
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// 400: a query, path or header that cannot be parsed.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").with_detail(detail)
    }

    /// 400: an id list that is empty, malformed or too long.
    pub fn invalid_id_list(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-id-list",
            "Invalid id list",
        )
        .with_detail(detail)
    }

    /// 400: a body that is not syntactically valid JSON.
    pub fn invalid_json(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid-json",
            "Malformed JSON body",
        )
        .with_detail(detail)
    }

    /// 422: a well-formed body whose fields break a rule; add fields with
    /// [`with_field_error`](Self::with_field_error).
    pub fn validation() -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation-failed",
            "Validation failed",
        )
        .with_detail("one or more fields are invalid; see `errors`")
    }

    /// 404: the addressed resource does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Resource not found").with_detail(detail)
    }

    /// 404: no route serves this path.
    pub fn no_route(path: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "no-route", "No such endpoint")
            .with_detail(format!("no endpoint serves the path `{path}`"))
    }

    /// 405: the path exists but not with this method (the `Allow` header lists the methods).
    pub fn method_not_allowed(method: &http::Method, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
        )
        .with_detail(format!(
            "`{path}` does not accept {method}; the Allow header lists what it accepts"
        ))
    }

    /// 403: the caller is known and may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden").with_detail(detail)
    }

    /// 409: the request conflicts with the current state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", "Conflict").with_detail(detail)
    }

    /// 503: a dependency this answer cannot do without is unavailable.
    pub fn unavailable(detail: impl Into<String>, retry_after: u64) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .with_detail(detail)
        .with_retry_after(retry_after)
    }

    /// 503: too many requests in flight; shed before doing any work.
    pub fn overloaded() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Overloaded")
            .with_detail("the server is at its concurrency limit; retry shortly")
            .with_retry_after(1)
    }

    /// 504: the request ran past the server's time limit.
    pub fn timeout() -> Self {
        Self::new(StatusCode::GATEWAY_TIMEOUT, "timeout", "Request timed out")
            .with_detail("the request did not complete within the server's time limit")
    }

    /// 500: something failed inside the server. The cause is logged, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal server error",
        )
        .with_detail("the server failed to complete the request; it has been logged")
    }

    /// A problem for a bare status produced outside our handlers, keeping a short
    /// plain-text `detail` for 4xx answers (5xx text may hold internals and is dropped).
    pub fn for_status(status: StatusCode, text: Option<&str>) -> Self {
        let mut problem = match status {
            StatusCode::NOT_FOUND => Self::new(status, "no-route", "No such endpoint"),
            StatusCode::METHOD_NOT_ALLOWED => {
                Self::new(status, "method-not-allowed", "Method not allowed")
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                Self::new(status, "payload-too-large", "Request body too large")
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Self::new(status, "unsupported-media-type", "Unsupported media type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => Self::validation(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Self::new(
                status,
                "request-header-fields-too-large",
                "Request headers too large",
            ),
            StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => Self::timeout(),
            StatusCode::SERVICE_UNAVAILABLE => Self::unavailable("the service is unavailable", 1),
            s if s.is_server_error() => Self::internal(),
            s => Self::new(
                s,
                "bad-request",
                s.canonical_reason().unwrap_or("Bad request"),
            ),
        };
        problem.status = status.as_u16();
        let kept = text
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= MAX_KEPT_DETAIL);
        if let (true, Some(text)) = (status.is_client_error(), kept) {
            problem.detail = Some(text.to_owned());
        }
        problem
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn render(&self, mut response: Response) -> Response {
        let body = serde_json::to_vec(self).unwrap_or_default();
        *response.status_mut() = self.status_code();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_PROBLEM));
        headers.remove(CONTENT_LENGTH);
        if let Some(seconds) = self.retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        *response.body_mut() = Body::from(body);
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = self.render(Response::new(Body::empty()));
        // Kept so `normalize` can stamp the request id and instance without re-parsing.
        response.extensions_mut().insert(self);
        response
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

/// A 500 problem response whose cause travels hidden in the response's extensions, to be
/// logged once by [`normalize`].
pub fn internal_error(cause: impl Into<anyhow::Error>) -> Response {
    let mut response = Problem::internal().into_response();
    response
        .extensions_mut()
        .insert(HiddenCause(Arc::new(cause.into())));
    response
}

/// Middleware: makes every 4xx/5xx answer a problem+json body carrying the request id and
/// path, and logs the hidden cause of a 5xx answer once, inside the request's span.
///
/// Answers that already are problems are stamped; other error answers (axum's plain-text
/// rejections, the router's empty 405, tower-http's 413) are rewritten with their status
/// kept and their headers (such as `Allow`) left in place.
pub async fn normalize(request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(crate::layers::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    if let Some(cause) = response.extensions().get::<HiddenCause>() {
        tracing::error!(status = status.as_u16(), error = ?cause.0, "request failed");
    }

    let (mut parts, body) = response.into_parts();
    let mut problem = match parts.extensions.remove::<Problem>() {
        Some(problem) => problem,
        None if is_problem(&parts.headers) => {
            // A problem built elsewhere (for example by a proxied service): leave it be.
            return Response::from_parts(parts, body);
        }
        None => {
            let text = if is_plain_text(&parts.headers) {
                axum::body::to_bytes(body, MAX_KEPT_DETAIL + 1).await.ok()
            } else {
                None
            };
            let text = text.as_deref().and_then(|b| std::str::from_utf8(b).ok());
            match status {
                StatusCode::NOT_FOUND if text.is_none_or(str::is_empty) => Problem::no_route(&path),
                StatusCode::METHOD_NOT_ALLOWED => Problem::method_not_allowed(&method, &path),
                _ => Problem::for_status(status, text),
            }
        }
    };
    problem.status = status.as_u16();
    problem.request_id = request_id;
    problem.instance = Some(path);
    problem.render(Response::from_parts(parts, Body::empty()))
}

fn is_problem(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(CONTENT_TYPE_PROBLEM.as_bytes()))
}

fn is_plain_text(headers: &http::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_rfc9457_members_and_extensions() {
        let problem = Problem::validation().with_field_error("name", "must not be empty");
        let json = serde_json::to_value(&problem).unwrap();
        assert_eq!(json["type"], "/problems/validation-failed");
        assert_eq!(json["status"], 422);
        assert_eq!(json["code"], "validation-failed");
        assert_eq!(json["errors"]["name"][0], "must not be empty");
        assert!(json.get("retry_after").is_none());
        assert!(json.get("request_id").is_none());
    }

    #[test]
    fn hides_server_error_text_but_keeps_client_error_text() {
        let p = Problem::for_status(StatusCode::INTERNAL_SERVER_ERROR, Some("db password=x"));
        assert!(!p.detail.unwrap_or_default().contains("password"));
        let p = Problem::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("need json"));
        assert_eq!(p.detail.as_deref(), Some("need json"));
        assert_eq!(p.code, "unsupported-media-type");
    }

    #[test]
    fn unknown_client_status_keeps_its_status() {
        let p = Problem::for_status(StatusCode::IM_A_TEAPOT, None);
        assert_eq!(p.status, 418);
        assert_eq!(p.code, "bad-request");
    }

    #[tokio::test]
    async fn into_response_sets_media_type_and_retry_after() {
        let response = Problem::unavailable("friends is down", 2).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[CONTENT_TYPE], CONTENT_TYPE_PROBLEM);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
    }
}
