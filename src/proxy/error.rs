//! The gateway's own failures on the proxy path and the one mapping of each to a status and
//! a problem+json body. Upstream answers never pass through here.

use std::time::Duration;

use http::{HeaderValue, StatusCode};
use kit::problem::Problem;

use super::hygiene::{Refusal, UpstreamFault};
use crate::metrics::UpstreamFailure;
use crate::table::{Methods, PathError};

/// Why the gateway answered a request itself.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The path failed the hygiene check (400).
    #[error("bad path: {0}")]
    BadPath(#[from] PathError),
    /// No route matches the path (404).
    #[error("no route")]
    NoRoute,
    /// Routes match the path, none the method (405).
    #[error("method not allowed")]
    MethodNotAllowed(Methods),
    /// The request head is over the limit (431).
    #[error("request head over {limit} bytes")]
    HeadersTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body is over the route's limit (413).
    #[error("request body over {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The route needs a valid bearer token and the request has none (401).
    #[error("unauthorized: {}", reason.unwrap_or("no bearer token"))]
    Unauthorized {
        /// Why the token sent was refused; `None` when none was sent.
        reason: Option<&'static str>,
    },
    /// The token is valid but names someone else than the resource's owner (403).
    #[error("forbidden: not the owner")]
    Forbidden {
        /// The path parameter that names the owner.
        param: Box<str>,
    },
    /// The client is over the route's rate limit (429).
    #[error("rate limited")]
    RateLimited {
        /// Seconds until it may call again.
        retry_after: u64,
        /// `RateLimit-Policy`.
        policy: HeaderValue,
        /// `RateLimit`.
        state: HeaderValue,
    },
    /// The issuer's keys could never be read, so no token of it can be checked (503).
    #[error("the keys of issuer {issuer} are unavailable")]
    KeysUnavailable {
        /// The issuer's name.
        issuer: Box<str>,
    },
    /// The upstream refused, reset or closed the connection (502).
    #[error("upstream {upstream} unreachable")]
    Unreachable {
        /// The upstream's name.
        upstream: Box<str>,
        /// What happened, for the log (never sent).
        #[source]
        cause: hyper_util::client::legacy::Error,
    },
    /// The upstream did not connect or answer in time (504).
    #[error("upstream {upstream} timed out after {after:?}")]
    Timeout {
        /// The upstream's name.
        upstream: Box<str>,
        /// The limit that ran out.
        after: Duration,
        /// Whether it was the connect timeout rather than the request timeout.
        connecting: bool,
    },
    /// The request breaks a message rule of RFC 9110/9112 (400, 417 or 501).
    #[error("request refused: {0}")]
    Refused(Refusal),
    /// The request body broke off or its chunked framing is malformed (400): the client's
    /// fault, found while the body streamed to the upstream.
    #[error("malformed request body")]
    BadBody,
    /// The upstream's response breaks a message rule the gateway enforces (502).
    #[error("upstream {upstream} {fault}")]
    BadResponse {
        /// The upstream's name.
        upstream: Box<str>,
        /// What was wrong.
        fault: UpstreamFault,
    },
}

// === impl ProxyError ===

impl ProxyError {
    /// The upstream failure this is, for `gateway_upstream_errors_total`; `None` for the
    /// gateway's own refusals.
    pub fn upstream_failure(&self) -> Option<UpstreamFailure> {
        match self {
            Self::Unreachable { cause, .. } if cause.is_connect() => Some(UpstreamFailure::Connect),
            Self::Unreachable { .. } => Some(UpstreamFailure::Closed),
            Self::Timeout {
                connecting: true, ..
            } => Some(UpstreamFailure::ConnectTimeout),
            Self::Timeout { .. } => Some(UpstreamFailure::Timeout),
            Self::BadResponse { .. } => Some(UpstreamFailure::BadResponse),
            _ => None,
        }
    }

    /// The problem body of this failure on `path` (without `instance` and `request_id`).
    pub fn problem(&self, path: &str) -> Problem {
        match self {
            Self::BadPath(why) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-path", "Path not accepted")
                    .with_detail(format!("{why}; see the gateway's path rules"))
            }
            Self::NoRoute => Problem::no_route(path),
            Self::MethodNotAllowed(allowed) => Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            )
            .with_detail(format!(
                "this path accepts {allowed}; the Allow header lists them"
            )),
            Self::HeadersTooLarge { limit } => Problem::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers-too-large",
                "Request headers too large",
            )
            .with_detail(format!(
                "the request line and headers exceed {limit} bytes; send fewer or shorter headers"
            )),
            Self::BodyTooLarge { limit } => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
            )
            .with_detail(format!(
                "the request body exceeds {limit} bytes, the limit of this route"
            )),
            Self::Unauthorized { reason: None } => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Authentication required",
            )
            .with_detail(
                "this path needs a bearer token: send `Authorization: Bearer TOKEN` with a \
                 token of a trusted issuer",
            ),
            Self::Unauthorized { reason: Some(why) } => {
                Problem::new(StatusCode::UNAUTHORIZED, "invalid-token", "Invalid token")
                    .with_detail(format!("{why}; send a valid token of a trusted issuer"))
            }
            Self::Forbidden { param } => Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not the owner",
            )
            .with_detail(format!(
                "only the user whose id is the `{param}` of this path may do this; the token \
                 names another user"
            )),
            Self::RateLimited { retry_after, .. } => {
                let mut problem = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many requests",
                )
                .with_detail(format!(
                    "over this path's rate limit; retry in {retry_after} s (`Retry-After`; \
                     `RateLimit-Policy` and `RateLimit` describe the limit)"
                ));
                problem.retry_after = Some(*retry_after);
                problem
            }
            Self::KeysUnavailable { issuer } => {
                let mut problem = Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "keys-unavailable",
                    "Tokens cannot be checked",
                )
                .with_detail(format!(
                    "the signing keys of issuer `{issuer}` could not be read, so no token can \
                     be verified now; retry later"
                ));
                problem.retry_after = Some(5);
                problem
            }
            Self::Unreachable { upstream, cause } => Problem::new(
                StatusCode::BAD_GATEWAY,
                "upstream-unavailable",
                "Upstream unavailable",
            )
            .with_detail(format!(
                "upstream `{upstream}` {}",
                if cause.is_connect() {
                    "refused the connection"
                } else if is_parse_error(cause) {
                    "answered with a response that is not valid HTTP/1.1"
                } else {
                    "closed or reset the connection before answering"
                }
            )),
            Self::Timeout {
                upstream,
                after,
                connecting,
            } => Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream-timeout",
                "Upstream timed out",
            )
            .with_detail(format!(
                "upstream `{upstream}` did not {} within {}",
                if *connecting {
                    "accept a connection"
                } else {
                    "answer"
                },
                humantime::format_duration(*after)
            )),
            Self::Refused(why) => Problem::new(why.status(), why.code(), "Request refused")
                .with_detail(format!("{why}; see the gateway's message rules")),
            Self::BadBody => Problem::new(
                StatusCode::BAD_REQUEST,
                "bad-body",
                "Malformed request body",
            )
            .with_detail(
                "the request body ended early or its chunked framing is malformed (RFC 9112 section 7.1)",
            ),
            Self::BadResponse { upstream, fault } => Problem::new(
                StatusCode::BAD_GATEWAY,
                "upstream-bad-response",
                "Upstream response refused",
            )
            .with_detail(format!("upstream `{upstream}` {fault}")),
        }
    }
}

/// Whether hyper gave up on the upstream's response because it did not parse.
fn is_parse_error(cause: &hyper_util::client::legacy::Error) -> bool {
    let mut source = std::error::Error::source(cause);
    while let Some(err) = source {
        if err
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_parse)
        {
            return true;
        }
        source = err.source();
    }
    false
}
