//! The gateway's own answers: 502 and 504 naming the upstream, no retry of a request that
//! reached the wire, and the body and header limits.

use std::sync::atomic::Ordering;

use gateway::table::Overrides;

use crate::support::{
    Close, DELAY, FAIL, Gateway, UPSTREAM_PROBLEM, Upstreams, WRITE_ID, closing_upstream, problem,
    raw, refused_url,
};

#[tokio::test]
async fn a_refused_connection_is_a_502_naming_the_upstream() {
    let routes =
        "upstreams: {users: {url: 'http://127.0.0.1:8081'}}\nroutes: [{prefix: /, to: users}]\n";
    let gateway = Gateway::start(
        routes,
        Overrides::default().with("users", refused_url().await),
    )
    .await;
    let body = problem(gateway.get("/users/1").await, 502, "upstream-unavailable").await;
    assert_eq!(body["detail"], "upstream `users` refused the connection");
    assert_eq!(body["instance"], "/users/1");
}

#[tokio::test]
async fn a_connection_closed_or_reset_without_answer_is_a_502_and_a_post_is_not_retried() {
    for close in [Close::Graceful, Close::Reset] {
        let (url, accepted) = closing_upstream(close).await;
        let routes = "upstreams: {messages: {url: 'http://127.0.0.1:8083'}}\nroutes: [{prefix: /, to: messages}]\n";
        let gateway = Gateway::start(routes, Overrides::default().with("messages", url)).await;
        let response = gateway
            .http
            .post(gateway.url("/messages"))
            .header(WRITE_ID, "w-1")
            .body(r#"{"text":"hi"}"#)
            .send()
            .await
            .unwrap();
        let body = problem(response, 502, "upstream-unavailable").await;
        assert_eq!(
            body["detail"],
            "upstream `messages` closed or reset the connection before answering"
        );
        assert_eq!(
            accepted.load(Ordering::SeqCst),
            1,
            "the POST was sent again"
        );
    }
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_naming_it_and_the_write_is_not_repeated() {
    let upstreams = Upstreams::start().await;
    let routes = "upstreams: {users: {url: 'http://127.0.0.1:8081'}}
routes: [{prefix: /, to: users, request_timeout: 200ms}]
";
    let gateway = Gateway::start(routes, upstreams.overrides()).await;
    let response = gateway
        .http
        .post(gateway.url("/users"))
        .header(DELAY, "1500")
        .header(WRITE_ID, "slow-1")
        .body("{}")
        .send()
        .await
        .unwrap();
    let body = problem(response, 504, "upstream-timeout").await;
    assert_eq!(
        body["detail"],
        "upstream `users` did not answer within 200ms"
    );
    assert_eq!(upstreams.writes().get("slow-1"), Some(&1));
    assert_eq!(upstreams.get("users").requests(), 1);
    // The upstream is fine when it is quick.
    assert_eq!(gateway.get("/users/1").await.status(), 200);
}

#[tokio::test]
async fn upstream_problem_bodies_pass_through_untouched() {
    // The upstream's own error is the upstream's: status, media type and bytes as sent;
    // the gateway adds only `x-upstream` and `x-request-id`.
    let upstreams = Upstreams::start().await;
    let routes =
        "upstreams: {users: {url: 'http://127.0.0.1:8081'}}\nroutes: [{prefix: /, to: users}]\n";
    let gateway = Gateway::start(routes, upstreams.overrides()).await;
    let response = gateway
        .http
        .put(gateway.url("/users/1"))
        .header(FAIL, "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert_eq!(response.headers()["x-upstream"], "users");
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.text().await.unwrap(), UPSTREAM_PROBLEM);
}

const LIMITED: &str = "settings: {max_header_bytes: 2048}
upstreams: {users: {url: 'http://127.0.0.1:8081'}}
routes:
  - {path: /users, to: users, max_body_bytes: 1000}
  - {prefix: /, to: users}
";

#[tokio::test]
async fn an_oversized_body_is_a_413_problem_and_reaches_no_upstream() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(LIMITED, upstreams.overrides()).await;
    let addr = gateway.running.addr;
    // Declared by Content-Length: refused before the upstream is contacted.
    let big = vec![b'x'; 1001];
    let response = raw(addr, "POST /users HTTP/1.1\r\ncontent-length: 1001", &big).await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.json()["code"], "payload-too-large");
    assert_eq!(upstreams.get("users").requests(), 0);
    // Streamed in chunks: cut off once past the limit.
    let mut chunked = Vec::new();
    for _ in 0..3 {
        chunked.extend_from_slice(b"190\r\n");
        chunked.extend_from_slice(&[b'y'; 0x190]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let response = raw(
        addr,
        "POST /users HTTP/1.1\r\ntransfer-encoding: chunked",
        &chunked,
    )
    .await;
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.json()["code"], "payload-too-large");
    // At the limit it goes through, whole.
    let ok = vec![b'z'; 1000];
    let response = raw(addr, "POST /users HTTP/1.1\r\ncontent-length: 1000", &ok).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["body_len"], 1000);
}

#[tokio::test]
async fn oversized_headers_are_a_431_problem() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(LIMITED, upstreams.overrides()).await;
    let long = "v".repeat(3000);
    let response = raw(
        gateway.running.addr,
        &format!("GET /users/1 HTTP/1.1\r\nx-big: {long}"),
        b"",
    )
    .await;
    assert_eq!(response.status, 431);
    assert_eq!(
        response.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(response.json()["code"], "headers-too-large");
    assert_eq!(upstreams.get("users").requests(), 0);
    let response = raw(
        gateway.running.addr,
        "GET /users/1 HTTP/1.1\r\nx-small: 1",
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
}
