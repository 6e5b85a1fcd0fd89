//! The message rules of RFC 9110 and RFC 9112 that a proxy must enforce and hyper does not
//! enforce itself: what is refused in a request before any upstream sees it, and what is
//! refused or repaired in an upstream's response before the client sees it.
//!
//! hyper already refuses, with a bare 400 before the gateway sees the request: a malformed
//! request line or header line (obs-fold, whitespace before the colon, bare CR, invalid
//! bytes), an invalid or conflicting `Content-Length`, a `Transfer-Encoding` whose last
//! coding is not `chunked`, and `Transfer-Encoding` in HTTP/1.0. Two framing facts hyper
//! reads and then hides (both `Content-Length` and `Transfer-Encoding`, and a repeated
//! `Content-Length`) are found by the listener on the raw bytes.
//!
//! The listener runs [`check_request`] on each request as hyper hands it over, before the
//! stack removes hop-by-hop headers (`Transfer-Encoding` among them), and hands a refusal
//! on as a [`Refused`] request extension; the proxy answers it ([`refused`]).

use http::header::{
    self, CONTENT_LENGTH, CONTENT_TYPE, EXPECT, HOST, HeaderMap, HeaderValue, TRANSFER_ENCODING,
};
use http::{Method, Request, Response, StatusCode, Version};

use super::answer::{self, ProxyBody};
use crate::table::Methods;

/// `max-forwards`.
pub const MAX_FORWARDS: header::HeaderName = header::MAX_FORWARDS;

/// Why a request is refused before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// An HTTP/1.1 request without `Host` (RFC 9112 section 3.2): 400.
    #[error("an HTTP/1.1 request needs a Host header")]
    MissingHost,
    /// More than one `Host` line (RFC 9112 section 3.2): 400.
    #[error("a request has one Host header, not several")]
    ManyHosts,
    /// A `Host` that is not `host[:port]` (RFC 9112 section 3.2, RFC 3986 section 3.2): 400.
    #[error("the Host header is not host[:port]")]
    BadHost,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 section 6.1): 400, as nginx
    /// and haproxy answer, since the two framings disagree about where the body ends.
    #[error("the request has both Content-Length and Transfer-Encoding")]
    LengthAndChunked,
    /// `Content-Length` on more than one line (RFC 9112 section 6.3 allows refusing it).
    #[error("the request has more than one Content-Length header")]
    ManyLengths,
    /// A transfer coding other than a single `chunked` (RFC 9112 section 6.1): 501. hyper
    /// undoes only the chunking, so `gzip, chunked` would reach the upstream still gzipped
    /// but with nothing saying so.
    #[error("the only transfer coding accepted is a single `chunked`")]
    UnsupportedCoding,
    /// An `Expect` other than `100-continue` (RFC 9110 section 10.1.1): 417.
    #[error("the only expectation the gateway meets is `100-continue`")]
    Expectation,
    /// A `Max-Forwards` on OPTIONS or TRACE that is not one decimal number (RFC 9110
    /// section 7.6.2): 400.
    #[error("Max-Forwards must be one decimal number")]
    BadMaxForwards,
}

/// A refusal the listener found, in the request's raw head or in its headers before the
/// hop-by-hop ones were removed; carried as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub Refusal);

/// Why an upstream's response is not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamFault {
    /// `101 Switching Protocols` to a request that asked for no upgrade (the gateway
    /// removes `Upgrade`): forwarding it would make the client switch protocols on a
    /// connection the gateway still reads as HTTP/1.1.
    #[error("answered 101 Switching Protocols, but no upgrade was asked for")]
    UnaskedUpgrade,
    /// A transfer coding other than `chunked`: hyper reads such a body to the connection's
    /// end and the gateway cannot undo the coding, so the client would get coded bytes
    /// described as plain ones.
    #[error("answered with a transfer coding other than chunked")]
    UnsupportedCoding,
}

// === impl Refusal ===

impl Refusal {
    /// The status this refusal is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::UnsupportedCoding => StatusCode::NOT_IMPLEMENTED,
            Self::Expectation => StatusCode::EXPECTATION_FAILED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The problem's `code`.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingHost | Self::ManyHosts | Self::BadHost => "bad-host",
            Self::LengthAndChunked | Self::ManyLengths => "bad-framing",
            Self::UnsupportedCoding => "unsupported-transfer-coding",
            Self::Expectation => "expectation-failed",
            Self::BadMaxForwards => "bad-max-forwards",
        }
    }
}

/// The refusal the listener attached to `request`, if any.
pub fn refused<B>(request: &Request<B>) -> Option<Refusal> {
    request.extensions().get::<Refused>().map(|r| r.0)
}

/// The checks every request passes before the gateway does anything else with it, on the
/// headers as the client sent them. Costs a few header lookups; nothing is allocated.
pub fn check_request<B>(request: &Request<B>) -> Result<(), Refusal> {
    let headers = request.headers();
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) if request.version() != Version::HTTP_10 => return Err(Refusal::MissingHost),
        (Some(_), Some(_)) => return Err(Refusal::ManyHosts),
        (Some(host), None) if !is_host(host.as_bytes()) => return Err(Refusal::BadHost),
        _ => {}
    }
    if headers.contains_key(TRANSFER_ENCODING) && !is_single_chunked(headers) {
        return Err(Refusal::UnsupportedCoding);
    }
    let mut expect = headers.get_all(EXPECT).iter();
    if let Some(first) = expect.next()
        && (expect.next().is_some()
            || !first
                .as_bytes()
                .trim_ascii()
                .eq_ignore_ascii_case(b"100-continue"))
    {
        return Err(Refusal::Expectation);
    }
    Ok(())
}

/// `Max-Forwards` on OPTIONS and TRACE (RFC 9110 section 7.6.2): at 0 the gateway is the
/// final recipient and answers itself (OPTIONS with the route's `Allow`, TRACE with the
/// request echoed); above 0 it is decremented before forwarding. Other methods, and
/// requests without it, pass untouched.
pub fn max_forwards<B>(
    request: &mut Request<B>,
    allowed: Methods,
) -> Result<Option<Response<ProxyBody>>, Refusal> {
    if !matches!(*request.method(), Method::OPTIONS | Method::TRACE) {
        return Ok(None);
    }
    let mut values = request.headers().get_all(MAX_FORWARDS).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::BadMaxForwards);
    }
    let digits = value.as_bytes().trim_ascii();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(Refusal::BadMaxForwards);
    }
    // All digits: only an overflow fails, and that many hops is as good as unlimited.
    let hops = std::str::from_utf8(digits)
        .ok()
        .and_then(|d| d.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    if hops > 0 {
        request
            .headers_mut()
            .insert(MAX_FORWARDS, HeaderValue::from(hops - 1));
        return Ok(None);
    }
    let response = if *request.method() == Method::OPTIONS {
        options_answer(allowed)
    } else {
        trace_answer(request)
    };
    Ok(Some(response))
}

/// 200 to `OPTIONS` with `Max-Forwards: 0`: what the route allows, no body.
fn options_answer(allowed: Methods) -> Response<ProxyBody> {
    let allowed = if allowed.is_any() {
        // Every method the table knows (`GET` brings `HEAD`).
        ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
            .iter()
            .filter_map(|name| Methods::parse_one(name))
            .fold(Methods::ANY, Methods::union)
    } else {
        allowed
    };
    let names: Vec<&str> = allowed.names().collect();
    let mut response = answer::bytes(StatusCode::OK, "text/plain", bytes::Bytes::new());
    response.headers_mut().remove(CONTENT_TYPE);
    if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    response
}

/// 200 to `TRACE` with `Max-Forwards: 0`: the request as received, as `message/http`,
/// without the fields that carry credentials (RFC 9110 section 9.3.8).
fn trace_answer<B>(request: &Request<B>) -> Response<ProxyBody> {
    const SENSITIVE: [header::HeaderName; 3] = [
        header::AUTHORIZATION,
        header::COOKIE,
        header::PROXY_AUTHORIZATION,
    ];
    let mut echo = Vec::with_capacity(256);
    echo.extend_from_slice(request.method().as_str().as_bytes());
    echo.push(b' ');
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    echo.extend_from_slice(target.as_bytes());
    echo.extend_from_slice(if request.version() == Version::HTTP_10 {
        b" HTTP/1.0\r\n"
    } else {
        b" HTTP/1.1\r\n"
    });
    for (name, value) in request.headers() {
        if SENSITIVE.contains(name) {
            continue;
        }
        echo.extend_from_slice(name.as_str().as_bytes());
        echo.extend_from_slice(b": ");
        echo.extend_from_slice(value.as_bytes());
        echo.extend_from_slice(b"\r\n");
    }
    echo.extend_from_slice(b"\r\n");
    answer::bytes(StatusCode::OK, "message/http", echo.into())
}

/// The checks and repairs of an upstream's response head, before hop-by-hop headers are
/// removed: no unasked `101`, no coding but `chunked`, and no `Content-Length` beside
/// `Transfer-Encoding` (RFC 9112 section 6.3: a proxy must remove it, or the client would
/// frame the body by a length the upstream did not frame it by).
pub fn check_response<B>(response: &mut Response<B>) -> Result<(), UpstreamFault> {
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        return Err(UpstreamFault::UnaskedUpgrade);
    }
    let headers = response.headers_mut();
    if headers.contains_key(TRANSFER_ENCODING) {
        if !is_single_chunked(headers) {
            return Err(UpstreamFault::UnsupportedCoding);
        }
        headers.remove(CONTENT_LENGTH);
    }
    Ok(())
}

/// Whether `Transfer-Encoding` is exactly one `chunked` on one line.
fn is_single_chunked(headers: &HeaderMap) -> bool {
    let mut codings = headers.get_all(TRANSFER_ENCODING).iter();
    match (codings.next(), codings.next()) {
        (Some(only), None) => only
            .as_bytes()
            .trim_ascii()
            .eq_ignore_ascii_case(b"chunked"),
        _ => false,
    }
}

/// Whether `value` is `uri-host [ ":" port ]` (RFC 3986 section 3.2.2) with a non-empty
/// host: a bracketed IP literal, or a reg-name / IPv4 address of unreserved characters,
/// sub-delims and percent-encodings. No userinfo, path or whitespace.
fn is_host(value: &[u8]) -> bool {
    let (host, port) = if let Some(rest) = value.strip_prefix(b"[") {
        let Some(end) = rest.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &rest[..end];
        let ok = !literal.is_empty()
            && literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'));
        if !ok {
            return false;
        }
        match &rest[end + 1..] {
            [] => return true,
            [b':', port @ ..] => (literal, port),
            _ => return false,
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon + 1..]),
            None => (value, &[][..]),
        }
    };
    let host_ok = !host.is_empty()
        && (value.first() == Some(&b'[')
            || host.iter().all(|&b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'-' | b'.'
                            | b'_'
                            | b'~'
                            | b'%'
                            | b'!'
                            | b'$'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b';'
                            | b'='
                    )
            }));
    host_ok && port.len() <= 5 && port.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(version: Version, headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().uri("/users/1").version(version);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn host_is_required_once_and_well_formed_in_http_11() {
        let ok = |h: &[(&str, &str)]| check_request(&request(Version::HTTP_11, h));
        assert_eq!(ok(&[("host", "api.example")]), Ok(()));
        assert_eq!(ok(&[("host", "api.example:8080")]), Ok(()));
        assert_eq!(ok(&[("host", "127.0.0.1:80")]), Ok(()));
        assert_eq!(ok(&[("host", "[::1]:8080")]), Ok(()));
        assert_eq!(ok(&[("host", "[::1]")]), Ok(()));
        assert_eq!(ok(&[]), Err(Refusal::MissingHost));
        assert_eq!(
            ok(&[("host", "a.example"), ("host", "b.example")]),
            Err(Refusal::ManyHosts)
        );
        for bad in [
            "",
            "user@api.example",
            "api.example/x",
            "api example",
            "api.example:http",
            "[::1",
            "[zz]",
            "[::1]x",
            ":80",
            "api.example:123456",
        ] {
            assert_eq!(ok(&[("host", bad)]), Err(Refusal::BadHost), "{bad:?}");
        }
        // HTTP/1.0 predates Host.
        assert_eq!(check_request(&request(Version::HTTP_10, &[])), Ok(()));
    }

    #[test]
    fn only_a_single_chunked_coding_and_the_100_continue_expectation_pass() {
        let with = |h: &[(&str, &str)]| {
            let mut all = vec![("host", "api.example")];
            all.extend_from_slice(h);
            check_request(&request(Version::HTTP_11, &all))
        };
        assert_eq!(with(&[("transfer-encoding", "chunked")]), Ok(()));
        assert_eq!(with(&[("transfer-encoding", " Chunked ")]), Ok(()));
        for bad in ["gzip, chunked", "chunked, chunked", "identity"] {
            assert_eq!(
                with(&[("transfer-encoding", bad)]),
                Err(Refusal::UnsupportedCoding),
                "{bad}"
            );
        }
        assert_eq!(
            with(&[
                ("transfer-encoding", "gzip"),
                ("transfer-encoding", "chunked")
            ]),
            Err(Refusal::UnsupportedCoding)
        );
        assert_eq!(with(&[("expect", "100-Continue")]), Ok(()));
        assert_eq!(with(&[("expect", "200-ok")]), Err(Refusal::Expectation));
        assert_eq!(
            with(&[("expect", "100-continue"), ("expect", "100-continue")]),
            Err(Refusal::Expectation)
        );
    }

    #[test]
    fn the_listeners_refusal_is_read_back() {
        let mut r = request(Version::HTTP_11, &[("host", "api.example")]);
        assert_eq!(refused(&r), None);
        r.extensions_mut()
            .insert(Refused(Refusal::LengthAndChunked));
        assert_eq!(refused(&r), Some(Refusal::LengthAndChunked));
    }

    #[test]
    fn max_forwards_is_decremented_answered_at_zero_and_checked() {
        let mut r = Request::builder()
            .method(Method::TRACE)
            .uri("/users/1")
            .header("max-forwards", "3")
            .body(())
            .unwrap();
        assert!(max_forwards(&mut r, Methods::ANY).unwrap().is_none());
        assert_eq!(r.headers()[MAX_FORWARDS], "2");

        let mut r = Request::builder()
            .method(Method::OPTIONS)
            .uri("/users/1")
            .header("max-forwards", "0")
            .body(())
            .unwrap();
        let answered = max_forwards(&mut r, Methods::parse_one("GET").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(answered.status(), 200);
        assert_eq!(answered.headers()[header::ALLOW], "GET, HEAD");

        let mut r = Request::builder()
            .method(Method::TRACE)
            .uri("/users/1?x=1")
            .header("max-forwards", "0")
            .header("authorization", "Bearer secret")
            .header("x-kept", "1")
            .body(())
            .unwrap();
        let answered = max_forwards(&mut r, Methods::ANY).unwrap().unwrap();
        assert_eq!(answered.headers()[CONTENT_TYPE], "message/http");

        for bad in ["", "-1", "1.0", "x"] {
            let mut r = Request::builder()
                .method(Method::OPTIONS)
                .uri("/")
                .header("max-forwards", bad)
                .body(())
                .unwrap();
            assert_eq!(
                max_forwards(&mut r, Methods::ANY).err(),
                Some(Refusal::BadMaxForwards),
                "{bad:?}"
            );
        }
        // Other methods are not its business.
        let mut r = Request::builder()
            .uri("/")
            .header("max-forwards", "0")
            .body(())
            .unwrap();
        assert!(max_forwards(&mut r, Methods::ANY).unwrap().is_none());
    }

    #[test]
    fn an_upstream_response_with_chunked_loses_its_content_length() {
        let mut r = Response::builder()
            .header("transfer-encoding", "chunked")
            .header("content-length", "5")
            .body(())
            .unwrap();
        assert_eq!(check_response(&mut r), Ok(()));
        assert!(r.headers().get(CONTENT_LENGTH).is_none());
        let mut r = Response::builder()
            .header("transfer-encoding", "gzip")
            .body(())
            .unwrap();
        assert_eq!(
            check_response(&mut r),
            Err(UpstreamFault::UnsupportedCoding)
        );
        let mut r = Response::builder().status(101).body(()).unwrap();
        assert_eq!(check_response(&mut r), Err(UpstreamFault::UnaskedUpgrade));
    }
}
