//! The message rules of RFC 9110 and RFC 9112 for a proxy, byte by byte: raw requests to
//! the gateway, and raw upstreams that show exactly what arrived and send crafted answers.
//! docs/gateway.md ("Message rules") lists each rule with the test that checks it.

use crate::support::{RawUpstream, exchange, gateway_to, gateway_with, split_response, statuses};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok";

/// The problem `code` of a gateway answer in `bytes`.
fn code(bytes: &[u8]) -> String {
    let (_, body) = split_response(bytes);
    let body: serde_json::Value = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(bytes)));
    body["code"].as_str().unwrap_or_default().to_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn an_http_11_request_without_one_valid_host_is_a_400() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    let addr = gateway.running.addr;
    for head in [
        "GET /users/1 HTTP/1.1\r\nconnection: close\r\n\r\n",
        "GET /users/1 HTTP/1.1\r\nconnection: close\r\nhost: a.example\r\nhost: b.example\r\n\r\n",
        "GET /users/1 HTTP/1.1\r\nconnection: close\r\nhost: user@a.example\r\n\r\n",
        "GET /users/1 HTTP/1.1\r\nconnection: close\r\nhost: a.example/x\r\n\r\n",
        "GET /users/1 HTTP/1.1\r\nconnection: close\r\nhost: \r\n\r\n",
        "GET http://a.example/users/1 HTTP/1.1\r\nconnection: close\r\n\r\n",
    ] {
        let answer = exchange(addr, head.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{head:?}: {}", text(&answer));
        assert_eq!(code(&answer), "bad-host", "{head:?}");
    }
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
    // HTTP/1.0 has no Host requirement.
    let answer = exchange(addr, b"GET /users/1 HTTP/1.0\r\n\r\n").await;
    assert_eq!(statuses(&answer), [200], "{}", text(&answer));
}

#[tokio::test]
async fn content_length_beside_transfer_encoding_is_a_400_in_either_order() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    for head in [
        "POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    ] {
        let answer = exchange(gateway.running.addr, head.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{}", text(&answer));
        assert_eq!(code(&answer), "bad-framing");
    }
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
}

#[tokio::test]
async fn a_smuggling_probe_after_keep_alive_requests_is_refused_at_its_place() {
    let upstreams = crate::support::Upstreams::start().await;
    let gateway = gateway_to(&upstreams.get("users").url()).await;
    // A chunked request, a plain one, then the probe, pipelined on one connection.
    let stream = b"POST /a HTTP/1.1\r\nhost: g\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
GET /b HTTP/1.1\r\nhost: g\r\n\r\n\
POST /c HTTP/1.1\r\nconnection: close\r\nhost: g\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = exchange(gateway.running.addr, stream).await;
    assert_eq!(statuses(&answer), [200, 200, 400], "{}", text(&answer));
    assert_eq!(upstreams.get("users").requests(), 2);
}

#[tokio::test]
async fn repeated_or_malformed_content_length_is_a_400() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    for (head, by_gateway) in [
        // Equal repeated lines: hyper merges them, the gateway refuses (as nginx does).
        ("content-length: 2\r\ncontent-length: 2", true),
        // Differing, a list, a sign, not a number: hyper refuses.
        ("content-length: 2\r\ncontent-length: 3", false),
        ("content-length: 2, 2", false),
        ("content-length: +2", false),
        ("content-length: two", false),
    ] {
        let request =
            format!("POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\n{head}\r\n\r\nok");
        let answer = exchange(gateway.running.addr, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{head:?}: {}", text(&answer));
        if by_gateway {
            assert_eq!(code(&answer), "bad-framing");
        }
    }
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
}

#[tokio::test]
async fn transfer_codings_other_than_one_chunked_are_refused() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    let addr = gateway.running.addr;
    // The last coding is chunked, so hyper reads it; the gateway cannot undo the gzip.
    for te in ["gzip, chunked", "chunked, chunked"] {
        let request = format!(
            "POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ntransfer-encoding: {te}\r\n\r\n0\r\n\r\n"
        );
        let answer = exchange(addr, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [501], "{te}: {}", text(&answer));
        assert_eq!(code(&answer), "unsupported-transfer-coding");
    }
    // Not chunked last, or in HTTP/1.0: hyper refuses.
    for request in [
        "POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ntransfer-encoding: gzip\r\n\r\n",
        "POST /m HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let answer = exchange(addr, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{request:?}: {}", text(&answer));
    }
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
}

#[tokio::test]
async fn a_malformed_chunked_body_is_the_clients_400_not_a_502() {
    let upstreams = crate::support::Upstreams::start().await;
    let gateway = gateway_to(&upstreams.get("users").url()).await;
    for body in [
        "zz\r\nhello\r\n0\r\n\r\n",
        "5\r\nhelloXX0\r\n\r\n",
        "3;a\nb\r\nabc\r\n0\r\n\r\n",
    ] {
        let request = format!(
            "POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ntransfer-encoding: chunked\r\n\r\n{body}"
        );
        let answer = exchange(gateway.running.addr, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{body:?}: {}", text(&answer));
        assert_eq!(code(&answer), "bad-body", "{body:?}");
    }
}

#[tokio::test]
async fn malformed_header_lines_are_refused_by_hyper_before_any_upstream() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    for request in [
        // obs-fold (RFC 9112 section 5.2)
        &b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nx-folded: a\r\n b\r\n\r\n"[..],
        // whitespace between name and colon (section 5.1)
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nx-space : a\r\n\r\n",
        // a bare CR (section 2.2)
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\rx-cr: a\r\n\r\n",
        // NUL in a value, and a name that is not a token
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nx-nul: a\0b\r\n\r\n",
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nx(y): a\r\n\r\n",
        // whitespace in the request target, and a version that is not HTTP/1.x
        b"GET /a b HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
        b"GET /a HTTP/2.0\r\nhost: g\r\n\r\n",
    ] {
        let answer = exchange(gateway.running.addr, request).await;
        assert_eq!(
            statuses(&answer),
            [400],
            "{}: {}",
            text(request),
            text(&answer)
        );
    }
    assert!(upstream.requests().is_empty(), "{:?}", upstream.requests());
}

#[tokio::test]
async fn request_targets_other_than_origin_and_absolute_form_are_400() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    for request in [
        "CONNECT upstream.example:443 HTTP/1.1\r\nconnection: close\r\nhost: upstream.example:443\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    ] {
        let answer = exchange(gateway.running.addr, request.as_bytes()).await;
        assert_eq!(statuses(&answer), [400], "{request:?}: {}", text(&answer));
    }
    assert!(upstream.requests().is_empty());
    // Absolute form: routed by its path; its authority, not Host, is the forwarded host.
    let request = "GET http://api.example/users/1 HTTP/1.1\r\nconnection: close\r\nhost: other.example\r\n\r\n";
    let answer = exchange(gateway.running.addr, request.as_bytes()).await;
    assert_eq!(statuses(&answer), [200], "{}", text(&answer));
    let seen = upstream.requests().join("");
    assert!(seen.starts_with("GET /users/1 HTTP/1.1\r\n"), "{seen}");
    assert!(seen.contains("x-forwarded-host: api.example\r\n"), "{seen}");
}

#[tokio::test]
async fn the_upstream_sees_no_hop_by_hop_or_forged_forwarding_header_and_one_via() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    let request = "GET /users/1 HTTP/1.1\r\nconnection: close\r\nhost: api.example\r\n\
        connection: keep-alive, x-hop\r\nx-hop: 1\r\nkeep-alive: timeout=5\r\n\
        te: trailers\r\ntrailer: x-sum\r\nupgrade: h2c\r\nproxy-connection: keep-alive\r\n\
        proxy-authorization: Basic eA==\r\nproxy-authentication-info: x\r\n\
        forwarded: for=6.6.6.6\r\nx-real-ip: 6.6.6.6\r\nx-forwarded-for: 6.6.6.6\r\n\
        true-client-ip: 6.6.6.6\r\nx-client-ip: 6.6.6.6\r\nx-forwarded-port: 1\r\n\
        x-original-url: /admin\r\nvia: 1.1 edge\r\nx-end-to-end: kept\r\n\r\n";
    let answer = exchange(gateway.running.addr, request.as_bytes()).await;
    assert_eq!(statuses(&answer), [200], "{}", text(&answer));
    let seen = upstream.requests().join("").to_ascii_lowercase();
    for gone in [
        "\r\nconnection:",
        "x-hop:",
        "keep-alive:",
        "\r\nte:",
        "trailer:",
        "upgrade:",
        "proxy-",
        "forwarded: for",
        "true-client-ip",
        "x-client-ip",
        "x-forwarded-port",
        "x-original-url",
        "6.6.6.6",
    ] {
        assert!(!seen.contains(gone), "{gone} reached the upstream:\n{seen}");
    }
    assert!(seen.contains("\r\nx-real-ip: 127.0.0.1\r\n"), "{seen}");
    assert!(
        seen.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"),
        "{seen}"
    );
    assert!(
        seen.contains("\r\nvia: 1.1 edge\r\nvia: 1.1 gateway\r\n"),
        "{seen}"
    );
    assert!(seen.contains("\r\nx-end-to-end: kept\r\n"), "{seen}");
    // The client gets Via too.
    let (head, _) = split_response(&answer);
    assert!(head.iter().any(|l| l == "via: 1.1 gateway"), "{head:?}");
}

#[tokio::test]
async fn headers_the_upstreams_connection_header_names_never_reach_the_client() {
    let upstream = RawUpstream::start(
        b"HTTP/1.1 200 OK\r\nConnection: X-Internal, close\r\nconnection: x-other\r\n\
X-Internal: secret\r\nx-other: secret\r\nKeep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\n\
Upgrade: h2c\r\nTrailer: x-sum\r\nx-end-to-end: kept\r\ncontent-length: 2\r\n\r\nok",
    )
    .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    let lower: Vec<String> = head.iter().map(|l| l.to_ascii_lowercase()).collect();
    for gone in [
        "x-internal",
        "x-other",
        "keep-alive",
        "proxy-authenticate",
        "upgrade",
        "trailer",
    ] {
        assert!(
            !lower.iter().any(|l| l.starts_with(gone)),
            "{gone} reached the client: {head:?}"
        );
    }
    assert!(lower.contains(&"x-end-to-end: kept".to_owned()), "{head:?}");
    assert_eq!(body, b"ok");
}

#[tokio::test]
async fn expect_100_continue_is_met_and_an_early_refusal_sends_no_100() {
    let upstreams = crate::support::Upstreams::start().await;
    let gateway = gateway_with(&upstreams.get("users").url(), "    max_body_bytes: 16\n").await;
    let addr = gateway.running.addr;
    // Within the limit: 100 Continue once the body is wanted, then the answer.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    stream
        .write_all(b"POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ncontent-length: 5\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(b"hello").await.unwrap();
    let answer = crate::support::read_all(&mut stream).await;
    assert_eq!(statuses(&answer), [200], "{}", text(&answer));
    // Over the limit: the final 413 at once, no 100, no upstream.
    let before = upstreams.total_requests();
    let answer = exchange(
        addr,
        b"POST /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\ncontent-length: 50\r\nexpect: 100-continue\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [413], "{}", text(&answer));
    // An expectation the gateway cannot meet.
    let answer = exchange(
        addr,
        b"GET /m HTTP/1.1\r\nconnection: close\r\nhost: g\r\nexpect: teapot\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [417], "{}", text(&answer));
    assert_eq!(code(&answer), "expectation-failed");
    assert_eq!(upstreams.total_requests(), before);
}

#[tokio::test]
async fn max_forwards_is_decremented_or_answered_by_the_gateway_at_zero() {
    let upstream = RawUpstream::start(OK).await;
    let gateway = gateway_to(&upstream.url).await;
    let addr = gateway.running.addr;
    let answer = exchange(
        addr,
        b"OPTIONS /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nmax-forwards: 0\r\n\r\n",
    )
    .await;
    let (head, _) = split_response(&answer);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(
        head.iter()
            .any(|l| l == "allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE"),
        "{head:?}"
    );
    let answer = exchange(
        addr,
        b"TRACE /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nmax-forwards: 0\r\ncookie: secret\r\nx-probe: 1\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert!(
        head.iter().any(|l| l == "content-type: message/http"),
        "{head:?}"
    );
    let body = text(&body);
    assert!(body.starts_with("TRACE /a HTTP/1.1\r\n"), "{body}");
    assert!(
        body.contains("x-probe: 1\r\n") && !body.contains("secret"),
        "{body}"
    );
    assert!(upstream.requests().is_empty());

    let answer = exchange(
        addr,
        b"OPTIONS /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nmax-forwards: 5\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [200]);
    let seen = upstream.requests().join("");
    assert!(seen.contains("max-forwards: 4\r\n"), "{seen}");
    let answer = exchange(
        addr,
        b"OPTIONS /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\nmax-forwards: x\r\n\r\n",
    )
    .await;
    assert_eq!(code(&answer), "bad-max-forwards");
}

#[tokio::test]
async fn interim_1xx_responses_are_dropped_and_an_unasked_101_is_a_502() {
    let upstream = RawUpstream::start(
        b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n\
HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
    )
    .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [200], "{}", text(&answer));

    let upstream = RawUpstream::start(
        b"HTTP/1.1 101 Switching Protocols\r\nupgrade: h2c\r\nconnection: upgrade\r\n\r\n",
    )
    .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [502], "{}", text(&answer));
    assert_eq!(code(&answer), "upstream-bad-response");
}

#[tokio::test]
async fn a_chunked_response_loses_its_content_length_and_other_codings_are_502() {
    let upstream = RawUpstream::start(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n\
b\r\nhello world\r\n0\r\n\r\n",
    )
    .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(
        !head.iter().any(|l| l.starts_with("content-length")),
        "{head:?}"
    );
    assert_eq!(text(&body), "B\r\nhello world\r\n0\r\n\r\n");

    let upstream =
        RawUpstream::start(b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\nnot really gzip")
            .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    assert_eq!(statuses(&answer), [502], "{}", text(&answer));
    assert_eq!(code(&answer), "upstream-bad-response");
}

#[tokio::test]
async fn a_close_delimited_response_is_streamed_with_chunks_and_a_date() {
    let upstream =
        RawUpstream::start(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end").await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert!(
        head.iter().any(|l| l == "transfer-encoding: chunked"),
        "{head:?}"
    );
    // hyper adds the Date the upstream left out (RFC 9110 section 6.6.1).
    assert!(head.iter().any(|l| l.starts_with("date: ")), "{head:?}");
    assert_eq!(text(&body), "D\r\nuntil the end\r\n0\r\n\r\n");
}

#[tokio::test]
async fn a_truncated_upstream_body_is_never_completed_for_the_client() {
    for (response, complete) in [
        (
            &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello"[..],
            &b"hello"[..],
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n",
            b"5\r\nhello\r\n",
        ),
    ] {
        let upstream = RawUpstream::start(response).await;
        let gateway = gateway_to(&upstream.url).await;
        let answer = exchange(
            gateway.running.addr,
            b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
        )
        .await;
        let (head, body) = split_response(&answer);
        assert_eq!(head[0], "HTTP/1.1 200 OK");
        // The client sees the connection end early: no terminating chunk, no padding.
        assert_eq!(body, complete, "{}", text(&answer));
    }
}

#[tokio::test]
async fn an_upstream_head_that_is_not_valid_http_is_a_502() {
    for response in [
        &b"HTTP/1.1 200 OK\r\nx-space : a\r\ncontent-length: 0\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nx-folded: a\r\n b\r\ncontent-length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ] {
        let upstream = RawUpstream::start(response).await;
        let gateway = gateway_to(&upstream.url).await;
        let answer = exchange(
            gateway.running.addr,
            b"GET /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\n\r\n",
        )
        .await;
        assert_eq!(
            statuses(&answer),
            [502],
            "{}: {}",
            text(response),
            text(&answer)
        );
        assert_eq!(code(&answer), "upstream-unavailable");
        assert!(
            text(&answer).contains("not valid HTTP/1.1"),
            "{}",
            text(&answer)
        );
    }
}

#[tokio::test]
async fn a_head_response_keeps_its_content_length_and_sends_no_body() {
    let upstream = RawUpstream::start(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n",
    )
    .await;
    let gateway = gateway_to(&upstream.url).await;
    let answer = exchange(
        gateway.running.addr,
        b"HEAD /a HTTP/1.1\r\nconnection: close\r\nhost: g\r\naccept-encoding: gzip\r\n\r\n",
    )
    .await;
    let (head, body) = split_response(&answer);
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(head.iter().any(|l| l == "content-length: 5000"), "{head:?}");
    assert!(
        !head.iter().any(|l| l.starts_with("content-encoding")),
        "{head:?}"
    );
    assert!(body.is_empty(), "{}", text(&body));
}
