//! Each phase file sends every endpoint family where it says, and `x-upstream` names the
//! upstream that really answered.

use std::collections::HashMap;

use crate::support::{Gateway, Upstreams, problem, shipped};
use crate::tokens::demo_token;

/// One request per endpoint of every family: (family, method, path).
pub(crate) const ENDPOINTS: [(&str, &str, &str); 14] = [
    ("users", "POST", "/users"),
    ("users", "GET", "/users?ids=1,2,3"),
    ("users", "GET", "/users/1"),
    ("users", "PATCH", "/users/1"),
    ("users", "DELETE", "/users/1"),
    ("friends", "GET", "/users/1/friends"),
    ("friends", "PUT", "/users/1/friends/2"),
    ("friends", "DELETE", "/users/1/friends/2"),
    ("messages", "POST", "/messages"),
    ("messages", "GET", "/messages/9"),
    ("messages", "DELETE", "/messages/9"),
    ("messages", "GET", "/messages/latest?authors=1,2"),
    ("messages", "GET", "/users/1/messages"),
    ("timeline", "GET", "/timeline/1"),
];

/// The phase files in order, and the families each has moved off the monolith.
pub(crate) const PHASES: [(&str, &[&str]); 5] = [
    ("load/phases/0-monolith.yaml", &[]),
    ("load/phases/1-users.yaml", &["users"]),
    ("load/phases/2-friends.yaml", &["users", "friends"]),
    (
        "load/phases/3-messages.yaml",
        &["users", "friends", "messages"],
    ),
    (
        "load/phases/4-timeline.yaml",
        &["users", "friends", "messages", "timeline"],
    ),
];

/// Where `family` is served in phase `phase`.
pub(crate) fn expected(phase: usize, family: &str) -> &'static str {
    let moved = PHASES[phase].1;
    match moved.iter().find(|m| **m == family) {
        Some(m) => m,
        None => "monolith",
    }
}

pub(crate) async fn send(gateway: &Gateway, method: &str, path: &str) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    gateway
        .http
        .request(method, gateway.url(path))
        // Every path names user 1, so user 1's token passes every owner check.
        .bearer_auth(demo_token("1"))
        .body("{}")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn each_phase_routes_every_endpoint_family_where_it_says() {
    let upstreams = Upstreams::start().await;
    for (phase, (file, _)) in PHASES.iter().enumerate() {
        let gateway = Gateway::start(&shipped(file), upstreams.overrides()).await;
        for (family, method, path) in ENDPOINTS {
            let response = send(&gateway, method, path).await;
            assert_eq!(response.status(), 200, "{file}: {method} {path}");
            let header = response.headers()["x-upstream"]
                .to_str()
                .unwrap()
                .to_owned();
            let body: serde_json::Value = response.json().await.unwrap();
            let want = expected(phase, family);
            assert_eq!(
                body["upstream"], want,
                "{file}: {method} {path} answered by"
            );
            assert_eq!(header, want, "{file}: {method} {path} x-upstream");
            // The matched path is the forwarded path, query included.
            assert_eq!(body["path"], path);
            assert_eq!(body["method"], method);
        }
        gateway.running.stop().await;
    }
}

#[tokio::test]
async fn routes_yaml_is_the_final_phase() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(&shipped("routes.yaml"), upstreams.overrides()).await;
    for (family, method, path) in ENDPOINTS {
        let response = send(&gateway, method, path).await;
        assert_eq!(response.headers()["x-upstream"], family, "{method} {path}");
    }
    let response = gateway.get("/healthz").await;
    assert_eq!(response.headers()["x-upstream"], "monolith");
}

#[tokio::test]
async fn no_route_is_a_404_problem_and_a_wrong_method_a_405() {
    let upstreams = Upstreams::start().await;
    let routes = "upstreams: {users: {url: 'http://127.0.0.1:8081'}}
routes:
  - {path: '/users/{id}', methods: [GET, PATCH], to: users}
";
    let gateway = Gateway::start(routes, upstreams.overrides()).await;
    let body = problem(gateway.get("/nothing/here").await, 404, "no-route").await;
    assert_eq!(body["instance"], "/nothing/here");
    let response = gateway
        .http
        .delete(gateway.url("/users/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD, PATCH");
    problem(response, 405, "method-not-allowed").await;
    assert_eq!(upstreams.total_requests(), 0);
}

#[tokio::test]
async fn x_upstream_can_be_turned_off() {
    let upstreams = Upstreams::start().await;
    let routes = "settings: {upstream_header: false}
upstreams: {users: {url: 'http://127.0.0.1:8081'}}
routes: [{prefix: /, to: users}]
";
    let gateway = Gateway::start(routes, upstreams.overrides()).await;
    let response = gateway.get("/users/1").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("x-upstream").is_none());
}

#[tokio::test]
async fn a_sticky_split_keeps_each_user_on_one_side() {
    let upstreams = Upstreams::start().await;
    let routes = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  monolith: {url: 'http://127.0.0.1:8085'}
routes:
  - {path: '/users/{id}', split: {users: 50, monolith: 50}, sticky: {param: id}}
  - {path: '/timeline/{user_id}', split: {users: 1, monolith: 1}, sticky: {header: x-user-id}}
";
    let gateway = Gateway::start(routes, upstreams.overrides()).await;
    let mut sides: HashMap<String, usize> = HashMap::new();
    for id in 1..=40 {
        let first = gateway.get(&format!("/users/{id}")).await.headers()["x-upstream"].clone();
        for _ in 0..3 {
            let again = gateway.get(&format!("/users/{id}")).await;
            assert_eq!(again.headers()["x-upstream"], first, "user {id} moved");
        }
        *sides.entry(first.to_str().unwrap().to_owned()).or_default() += 1;
        let by_header = |n: u32| {
            gateway
                .http
                .get(gateway.url(&format!("/timeline/{n}")))
                .header("x-user-id", id.to_string())
                .send()
        };
        let a = by_header(1).await.unwrap().headers()["x-upstream"].clone();
        let b = by_header(2).await.unwrap().headers()["x-upstream"].clone();
        assert_eq!(a, b, "user {id} moved between timelines");
    }
    assert_eq!(sides.len(), 2, "both sides serve some users: {sides:?}");
}
