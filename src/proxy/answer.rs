//! The body type of every response on the proxy listener, and the gateway's own answers
//! in it: problem+json for its failures, plain bytes for what it serves itself.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{Either, Full};
use kit::problem::{CONTENT_TYPE_PROBLEM, Problem};

use super::compress::UpstreamBody;

/// A response body: the upstream's, streamed (and perhaps compressed on the way), or one of
/// the gateway's own.
pub type ProxyBody = Either<UpstreamBody, Full<Bytes>>;

/// A response of the gateway's own with `body` as it is.
pub fn bytes(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// `problem` as an `application/problem+json` response, with `Retry-After` when it says
/// when to retry.
pub fn problem(problem: &Problem) -> Response<ProxyBody> {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    // A problem is plain data with string keys; serializing it cannot fail.
    let body = serde_json::to_vec(problem).unwrap_or_default();
    let mut response = bytes(status, CONTENT_TYPE_PROBLEM, Bytes::from(body));
    if let Some(seconds) = problem.retry_after {
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
