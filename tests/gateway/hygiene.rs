//! Header hygiene both ways, forwarding headers, request ids, and path tricks that must
//! never reach an upstream whose route did not match them.

use serde_json::Value;

use crate::support::{Gateway, HOP, Upstreams, raw};

const ROUTES: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  monolith: {url: 'http://127.0.0.1:8085'}
routes:
  - {path: '/users/{id}', to: users}
  - {path: '/users/{id}/friends', to: friends}
  - {path: '/admin/{*rest}', to: monolith}
";

#[tokio::test]
async fn hop_by_hop_headers_are_removed_both_ways() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    let response = raw(
        gateway.running.addr,
        &format!(
            "GET /users/1 HTTP/1.1\r\nx-secret: s\r\nconnection: x-secret, x-forwarded-for, x-request-id\r\nkeep-alive: timeout=5\r\n\
             te: trailers\r\nupgrade: websocket\r\nproxy-authorization: Basic eA==\r\n\
             traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n{HOP}: 1"
        ),
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    let seen = &response.json()["headers"];
    for gone in [
        "x-secret",
        "keep-alive",
        "te",
        "upgrade",
        "proxy-authorization",
    ] {
        assert!(
            seen.get(gone).is_none(),
            "{gone} reached the upstream: {seen}"
        );
    }
    // Naming the gateway's own headers in `Connection` does not remove them.
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-request-id"].as_str().map(str::len), Some(36));
    assert_eq!(
        seen["traceparent"],
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    );
    // The upstream answered with `connection: x-internal`, `x-internal` and
    // `proxy-authenticate`; none may reach the client.
    assert!(
        response.header("x-internal").is_none(),
        "{:?}",
        response.headers
    );
    assert!(response.header("proxy-authenticate").is_none());
    assert_eq!(response.header("x-end-to-end"), Some("kept"));
}

#[tokio::test]
async fn forwarding_headers_from_untrusted_clients_are_replaced() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    let response = gateway
        .http
        .get(gateway.url("/users/1"))
        .header("x-forwarded-for", "6.6.6.6")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "evil.example")
        .header("forwarded", "for=6.6.6.6")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let seen = &body["headers"];
    assert_eq!(seen["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-host"], gateway.running.addr.to_string());
    assert!(seen.get("forwarded").is_none());
    // The upstream is addressed by its own authority.
    assert_eq!(seen["host"], upstreams.get("users").server.addr.to_string());
}

#[tokio::test]
async fn forwarding_headers_from_trusted_proxies_are_extended() {
    let upstreams = Upstreams::start().await;
    let routes = format!("settings: {{trusted_proxies: [127.0.0.0/8]}}\n{ROUTES}");
    let gateway = Gateway::start(&routes, upstreams.overrides()).await;
    let response = gateway
        .http
        .get(gateway.url("/users/1"))
        .header("x-forwarded-for", "203.0.113.7")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "api.example")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    let seen = &body["headers"];
    assert_eq!(seen["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "https");
    assert_eq!(seen["x-forwarded-host"], "api.example");
}

#[tokio::test]
async fn request_ids_are_propagated_or_created() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    let response = gateway
        .http
        .get(gateway.url("/users/1"))
        .header("x-request-id", "client-id-1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-id-1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["headers"]["x-request-id"], "client-id-1");

    let response = gateway.get("/users/1").await;
    let made = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(made.len(), 36, "{made}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["headers"]["x-request-id"], made.as_str());
}

#[tokio::test]
async fn path_tricks_are_refused_before_any_upstream_sees_them() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    for path in [
        "/users/1/../../admin/x",
        "/users/..%2F..%2Fadmin/x",
        "/users/%2e%2e/admin/x",
        "/users/.%2E/admin/x",
        "/users/1%2ffriends",
        "/users/1%5Cfriends",
        "//users/1",
        "/users//1",
        "/users/./1",
        "/%61dmin/x",
        "/users/..;/admin/x",
        "/users/%00",
    ] {
        let response = raw(gateway.running.addr, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(response.status, 400, "{path}: {}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json")
        );
        let body = response.json();
        assert_eq!(body["code"], "bad-path", "{path}");
        assert_eq!(body["instance"], path);
    }
    assert_eq!(upstreams.total_requests(), 0, "a trick reached an upstream");
}

#[tokio::test]
async fn the_matched_path_is_forwarded_byte_for_byte() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(ROUTES, upstreams.overrides()).await;
    for (path, upstream) in [
        ("/users/caf%C3%A9", "users"),
        ("/users/a%20b/friends", "friends"),
        ("/users/1?next=%2F..%2Fadmin&x=%2e", "users"),
        ("/admin/a/b.c", "monolith"),
    ] {
        let response = raw(gateway.running.addr, &format!("GET {path} HTTP/1.1"), b"").await;
        assert_eq!(response.status, 200, "{path}");
        let body = response.json();
        assert_eq!(body["upstream"], upstream, "{path}");
        assert_eq!(body["path"], path);
    }
    // An absolute-form target is routed by its path alone.
    let target = format!("http://{}/users/7", gateway.running.addr);
    let response = raw(gateway.running.addr, &format!("GET {target} HTTP/1.1"), b"").await;
    assert_eq!(response.json()["path"], "/users/7");
}
