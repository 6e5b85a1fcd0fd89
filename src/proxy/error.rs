//! The gateway's own failures on the proxy path and the one mapping of each to a status and
//! a problem+json body. Upstream answers never pass through here.

use std::time::Duration;

use http::StatusCode;
use kit::problem::Problem;

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
}

// === impl ProxyError ===

impl ProxyError {
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
            Self::Unreachable { upstream, cause } => Problem::new(
                StatusCode::BAD_GATEWAY,
                "upstream-unavailable",
                "Upstream unavailable",
            )
            .with_detail(format!(
                "upstream `{upstream}` {}",
                if cause.is_connect() {
                    "refused the connection"
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
        }
    }
}
