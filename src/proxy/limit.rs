//! Rate limits on the proxy path: a request of a limited route counts against its client
//! (by address, or by verified subject) before it reaches the upstream. Over the limit it
//! is answered 429 with `Retry-After`; every answer of a limited route carries the
//! `RateLimit-Policy` and `RateLimit` headers of draft-ietf-httpapi-ratelimit-headers-09.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::error::ProxyError;
use crate::snapshot::Limiter;
use crate::snapshot::limits::{ClientKey, Decision};

/// `RateLimit-Policy`: the quota and its window.
pub const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`: what is left of the quota and when it is whole again.
pub const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");

/// Counts one request of `key`: the `RateLimit` value to answer with, or the 429.
pub fn admit(limiter: &Limiter, key: &ClientKey) -> Result<HeaderValue, ProxyError> {
    let decision = limiter.check(key);
    let state = limiter.state_header(decision);
    match decision {
        Decision::Allowed { .. } => Ok(state),
        Decision::Refused { retry_after_secs } => Err(ProxyError::RateLimited {
            retry_after: retry_after_secs,
            policy: limiter.policy_header().clone(),
            state,
        }),
    }
}

/// Adds the rate-limit headers to an answer.
pub fn describe(headers: &mut HeaderMap, policy: &HeaderValue, state: HeaderValue) {
    headers.insert(RATELIMIT_POLICY, policy.clone());
    headers.insert(RATELIMIT, state);
}
