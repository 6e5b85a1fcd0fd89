//! Header policy on the proxy path: hop-by-hop headers removed both ways, forwarding
//! headers set from what the gateway saw (a client's own are kept only from trusted
//! proxies), `Via` on every forwarded message, and the request id created or propagated.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Uri};

/// `x-forwarded-for`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
/// `x-forwarded-proto`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// `x-forwarded-host`.
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
/// `x-real-ip`: the client's address, as nginx's `proxy_set_header X-Real-IP` sends it.
pub const X_REAL_IP: HeaderName = HeaderName::from_static("x-real-ip");
/// `x-upstream`: the upstream that served a response.
pub const X_UPSTREAM: HeaderName = HeaderName::from_static("x-upstream");

/// The `Via` entry the gateway adds for a hop received over HTTP/1.1 (RFC 9110 section 7.6.3).
pub const VIA_11: HeaderValue = HeaderValue::from_static("1.1 gateway");
/// The same for a hop received over HTTP/1.0.
pub const VIA_10: HeaderValue = HeaderValue::from_static("1.0 gateway");

/// Headers that describe one connection, not the message (RFC 9110 section 7.6.1, plus the
/// legacy `keep-alive` and `proxy-connection`, and the proxy authentication fields, which
/// are addressed to a proxy the gateway is not).
const HOP_BY_HOP: [HeaderName; 10] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    HeaderName::from_static("proxy-authentication-info"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Headers by which some frameworks take the client's address, scheme, host or even the
/// path from the request. From a peer that is not a trusted proxy they are forged, so they
/// are removed (`X-Real-IP` is then set to the peer itself).
const SPOOFABLE: [HeaderName; 9] = [
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-port"),
    HeaderName::from_static("x-forwarded-prefix"),
    HeaderName::from_static("x-forwarded-server"),
    HeaderName::from_static("x-original-url"),
    HeaderName::from_static("x-rewrite-url"),
    HeaderName::from_static("true-client-ip"),
    HeaderName::from_static("x-client-ip"),
    HeaderName::from_static("x-cluster-client-ip"),
];

/// Longest `x-request-id` a client may send; longer or non-printable ones are replaced.
const MAX_REQUEST_ID: usize = 128;

/// What the gateway knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The client's address.
    pub ip: IpAddr,
    /// The same, ready to send as a header value.
    pub ip_header: HeaderValue,
}

// === impl Peer ===

impl Peer {
    /// Describes a connection from `ip`.
    pub fn new(ip: IpAddr) -> Self {
        let ip_header = HeaderValue::from_str(&ip.to_string())
            // An IP address prints as ASCII digits, dots, colons and hex letters.
            .unwrap_or(HeaderValue::from_static("unknown"));
        Self { ip, ip_header }
    }
}

/// Removes hop-by-hop headers and every header the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    if headers.contains_key(header::CONNECTION) {
        let named: Vec<HeaderName> = headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
            .collect();
        for name in named {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
}

/// Sets `X-Forwarded-For`, `-Proto` and `-Host` and `X-Real-IP` from what the gateway
/// saw. A `trusted` peer's own values are kept (`Forwarded` too) and the peer is appended
/// to the `X-Forwarded-For` chain; anyone else's are replaced, and the other headers that
/// claim a client address, scheme, host or path (`Forwarded`, `True-Client-IP`, …) are
/// removed.
///
/// The host is the request target's authority when the target is in absolute form (RFC
/// 9112 section 3.2.2: the `Host` header is then ignored), else the `Host` header.
pub fn set_forwarding<B>(request: &mut Request<B>, peer: &Peer, trusted: bool) {
    let host = authority_of(request.uri()).or_else(|| request.headers().get(header::HOST).cloned());
    let headers = request.headers_mut();
    if trusted {
        let chain = join_values(headers, &X_FORWARDED_FOR);
        let value = match chain {
            Some(chain) => {
                let mut joined = chain.into_bytes();
                joined.extend_from_slice(b", ");
                joined.extend_from_slice(peer.ip_header.as_bytes());
                HeaderValue::from_bytes(&joined).unwrap_or_else(|_| peer.ip_header.clone())
            }
            None => peer.ip_header.clone(),
        };
        headers.insert(X_FORWARDED_FOR, value);
        if !headers.contains_key(X_FORWARDED_PROTO) {
            headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        }
        if let (false, Some(host)) = (headers.contains_key(X_FORWARDED_HOST), host) {
            headers.insert(X_FORWARDED_HOST, host);
        }
        if !headers.contains_key(X_REAL_IP) {
            headers.insert(X_REAL_IP, peer.ip_header.clone());
        }
    } else {
        headers.insert(X_FORWARDED_FOR, peer.ip_header.clone());
        headers.insert(X_FORWARDED_PROTO, HeaderValue::from_static("http"));
        match host {
            Some(host) => headers.insert(X_FORWARDED_HOST, host),
            None => headers.remove(X_FORWARDED_HOST),
        };
        headers.insert(X_REAL_IP, peer.ip_header.clone());
        for name in &SPOOFABLE {
            headers.remove(name);
        }
    }
}

/// Adds the gateway's `Via` entry for a message received over `version` to `headers`,
/// after any the message already carried (RFC 9110 section 7.6.3).
pub fn add_via(headers: &mut HeaderMap, version: http::Version) {
    let entry = if version == http::Version::HTTP_10 {
        VIA_10
    } else {
        VIA_11
    };
    headers.append(header::VIA, entry);
}

fn authority_of(uri: &Uri) -> Option<HeaderValue> {
    uri.authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
}

/// All values of a header joined with `, `, as one string (`None` when absent or not text).
fn join_values(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut joined: Option<String> = None;
    for value in headers.get_all(name) {
        let text = value.to_str().ok()?.trim();
        match &mut joined {
            Some(j) => {
                j.push_str(", ");
                j.push_str(text);
            }
            None => joined = Some(text.to_owned()),
        }
    }
    joined
}

/// The request's `x-request-id` when it is a sane one, else a new random id (set on the
/// request either way, so the upstream sees the same id the client gets back).
pub fn ensure_request_id(headers: &mut HeaderMap) -> HeaderValue {
    if let Some(id) = headers.get(kit::layers::REQUEST_ID) {
        let bytes = id.as_bytes();
        if !bytes.is_empty()
            && bytes.len() <= MAX_REQUEST_ID
            && bytes.iter().all(|b| b.is_ascii_graphic())
        {
            return id.clone();
        }
    }
    let id = new_request_id();
    headers.insert(kit::layers::REQUEST_ID, id.clone());
    id
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()) | 1);
}

/// A random UUID-v4-shaped id from a per-thread xorshift generator: unique for logs, not
/// a secret, and without a system call per request.
fn new_request_id() -> HeaderValue {
    let next = || {
        RNG.with(|state| {
            let mut x = state.get();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            state.set(x);
            x
        })
    };
    let bits = (u128::from(next()) << 64) | u128::from(next());
    // Version 4, variant 10xx.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut id = [b'-'; 36];
    let mut nibble = 32;
    for (i, slot) in id.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        nibble -= 1;
        *slot = HEX[((bits >> (nibble * 4)) & 0xf) as usize];
    }
    // Owned by the value: one allocation, and the clone sent upstream shares it.
    HeaderValue::from_maybe_shared(Bytes::from_owner(id))
        // Hex digits and dashes only.
        .unwrap_or(HeaderValue::from_static(
            "00000000-0000-4000-8000-000000000000",
        ))
}

/// The size of a request head as the limit counts it: request line and header lines.
pub fn head_size<B>(request: &Request<B>) -> usize {
    let line = request.method().as_str().len()
        + request
            .uri()
            .path_and_query()
            .map_or(1, |pq| pq.as_str().len())
        + " HTTP/1.1\r\n".len()
        + 1;
    request.headers().iter().fold(line, |n, (name, value)| {
        n + name.as_str().len() + value.len() + 4
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(&str, &str)]) -> Request<()> {
        let mut builder = Request::builder().uri("/users/1");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap()
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut r = request(&[
            ("connection", "keep-alive, x-secret, X-Other"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "Basic x"),
            ("proxy-authentication-info", "nextnonce=x"),
            ("proxy-connection", "keep-alive"),
            ("trailer", "x-checksum"),
            ("transfer-encoding", "chunked"),
            ("x-secret", "1"),
            ("x-other", "2"),
            ("x-kept", "3"),
            ("traceparent", "00-abc-def-01"),
        ]);
        strip_hop_by_hop(r.headers_mut());
        let left: Vec<&str> = r.headers().keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept", "traceparent"]);
    }

    #[test]
    fn untrusted_forwarding_headers_are_replaced() {
        let mut r = request(&[
            ("host", "api.example"),
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
            ("forwarded", "for=6.6.6.6"),
            ("x-real-ip", "6.6.6.6"),
            ("x-forwarded-port", "443"),
            ("x-original-url", "/admin"),
            ("true-client-ip", "6.6.6.6"),
            ("x-client-ip", "6.6.6.6"),
        ]);
        set_forwarding(&mut r, &Peer::new([127, 0, 0, 9].into()), false);
        let h = r.headers();
        assert_eq!(h[&X_FORWARDED_FOR], "127.0.0.9");
        assert_eq!(h[&X_FORWARDED_PROTO], "http");
        assert_eq!(h[&X_FORWARDED_HOST], "api.example");
        assert_eq!(h[&X_REAL_IP], "127.0.0.9");
        for gone in SPOOFABLE {
            assert!(h.get(&gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn an_absolute_form_target_names_the_forwarded_host() {
        let mut r = Request::builder()
            .uri("http://api.example/users/1")
            .header("host", "other.example")
            .body(())
            .unwrap();
        set_forwarding(&mut r, &Peer::new([127, 0, 0, 9].into()), false);
        assert_eq!(r.headers()[&X_FORWARDED_HOST], "api.example");
    }

    #[test]
    fn via_is_appended_with_the_received_version() {
        let mut h = HeaderMap::new();
        h.insert(header::VIA, HeaderValue::from_static("1.1 edge"));
        add_via(&mut h, http::Version::HTTP_11);
        add_via(&mut h, http::Version::HTTP_10);
        let all: Vec<&str> = h
            .get_all(header::VIA)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(all, ["1.1 edge", "1.1 gateway", "1.0 gateway"]);
    }

    #[test]
    fn trusted_forwarding_headers_are_extended() {
        let mut r = request(&[
            ("host", "inner"),
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "2.2.2.2"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "api.example"),
            ("x-real-ip", "1.1.1.1"),
            ("forwarded", "for=1.1.1.1"),
        ]);
        set_forwarding(&mut r, &Peer::new([10, 0, 0, 1].into()), true);
        let h = r.headers();
        assert_eq!(h[&X_FORWARDED_FOR], "1.1.1.1, 2.2.2.2, 10.0.0.1");
        assert_eq!(h[&X_FORWARDED_PROTO], "https");
        assert_eq!(h[&X_FORWARDED_HOST], "api.example");
        assert_eq!(h[&X_REAL_IP], "1.1.1.1");
        assert_eq!(h[header::FORWARDED], "for=1.1.1.1");
    }

    #[test]
    fn request_ids_are_kept_when_sane_and_made_otherwise() {
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("abc-123"));
        assert_eq!(ensure_request_id(&mut h), "abc-123");
        let mut h = HeaderMap::new();
        h.insert("x-request-id", HeaderValue::from_static("has space"));
        let made = ensure_request_id(&mut h);
        assert_ne!(made, "has space");
        assert_eq!(h["x-request-id"], made);
        let a = ensure_request_id(&mut HeaderMap::new());
        let b = ensure_request_id(&mut HeaderMap::new());
        assert_ne!(a, b);
        let text = a.to_str().unwrap();
        assert_eq!(text.len(), 36);
        assert_eq!(&text[14..15], "4", "{text}");
    }

    #[test]
    fn head_size_counts_line_and_headers() {
        let r = request(&[("a", "bc")]);
        assert_eq!(head_size(&r), 3 + 8 + 11 + 1 + (1 + 2 + 4));
    }
}
