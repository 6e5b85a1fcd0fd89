//! `/openapi.json` on the proxy listener: the merged spec of the snapshot a request
//! arrived on, so clients read the contract of exactly the table that serves them.

use bytes::Bytes;
use http::header::ALLOW;
use http::{HeaderValue, Method, Response, StatusCode};
use kit::problem::Problem;

use super::answer::{self, ProxyBody};
use crate::openapi::PATH;

/// The answer to a request for [`PATH`]: the spec on `GET` and `HEAD` (hyper drops the
/// body of a `HEAD` answer), 405 otherwise.
pub fn respond(spec: &Bytes, method: &Method) -> Response<ProxyBody> {
    if method == Method::GET || method == Method::HEAD {
        return answer::bytes(StatusCode::OK, "application/json", spec.clone());
    }
    let mut response = answer::problem(&Problem::method_not_allowed(method, PATH));
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
