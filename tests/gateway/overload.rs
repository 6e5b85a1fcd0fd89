//! The concurrency bound on real sockets: a request beyond `--max-concurrent-requests` is
//! answered 503 at once, with `Retry-After`, and never reaches an upstream.

use std::time::Duration;

use gateway::table::Overrides;

use crate::support::{DELAY, Gateway, Options, Upstreams, problem};

#[tokio::test]
async fn beyond_the_bound_a_request_is_a_503_with_retry_after_while_the_first_runs_on() {
    let upstreams = Upstreams::start().await;
    let users = upstreams.get("users");
    let routes =
        "upstreams: {users: {url: 'http://127.0.0.1:8081'}}\nroutes: [{prefix: /, to: users}]\n";
    let gateway = Gateway::start_with(
        routes,
        Overrides::default().with("users", users.url()),
        Options {
            max_concurrent_requests: 1,
            ..Options::default()
        },
    )
    .await;

    // One slow request takes the only place.
    let slow = tokio::spawn({
        let request = gateway
            .http
            .get(gateway.url("/users/1"))
            .header(DELAY, "2000");
        async move { request.send().await.unwrap() }
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while users.requests() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow request never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    let refused = gateway.get("/users/2").await;
    assert!(
        !slow.is_finished(),
        "answered only after the first finished"
    );
    assert_eq!(refused.headers()["retry-after"], "1");
    let body = problem(refused, 503, "overloaded").await;
    assert_eq!(body["instance"], "/users/2");
    assert_eq!(
        users.requests(),
        1,
        "the refused request reached the upstream"
    );

    let served = slow.await.unwrap();
    assert_eq!(served.status(), 200);
    // The place is given back: the next request is served.
    let next = gateway.get("/users/3").await;
    assert_eq!(next.status(), 200);
    assert_eq!(users.requests(), 2);
}
