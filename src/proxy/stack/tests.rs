use bytes::Bytes;
use http::StatusCode;
use http_body_util::BodyExt as _;
use serde_json::Value;
use tokio::sync::Notify;

use super::*;

/// A request header asking [`TestHandler`] to panic.
const PANIC: &str = "x-test-panic";

/// Answers 200 `ok`, panics when asked to, and can be held until released.
#[derive(Default)]
struct TestHandler {
    /// When set, each request waits for a notification before it is answered.
    hold: Option<Arc<Notify>>,
}

impl Handler<()> for TestHandler {
    async fn handle(
        &self,
        request: Request<()>,
        _context: &RequestContext<'_>,
    ) -> Response<ProxyBody> {
        if request.headers().contains_key(PANIC) {
            panic!("the test handler was asked to panic");
        }
        if let Some(hold) = &self.hold {
            hold.notified().await;
        }
        answer::bytes(StatusCode::OK, "text/plain", Bytes::from_static(b"ok"))
    }
}

fn peer() -> Peer {
    Peer::new([127, 0, 0, 1].into())
}

fn request(headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().uri("/users/7");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

/// The status, headers and JSON body of a problem answer, after checking its content type.
async fn problem(response: Response<ProxyBody>) -> (StatusCode, http::HeaderMap, Value) {
    let (parts, body) = response.into_parts();
    assert_eq!(parts.headers["content-type"], "application/problem+json");
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap(),
    )
}

#[tokio::test]
async fn a_panic_is_a_500_problem_and_the_next_request_is_served() {
    let bound = Arc::new(Bound::new(4));
    let stack = Stack::new(TestHandler::default(), Arc::clone(&bound));

    let response = stack
        .serve(
            request(&[(PANIC, "1"), ("x-request-id", "req-panic")]),
            &peer(),
        )
        .await;
    let (status, headers, body) = problem(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(headers["x-request-id"], "req-panic");
    assert_eq!(body["code"], "internal");
    assert_eq!(body["request_id"], "req-panic");
    assert_eq!(body["instance"], "/users/7");
    assert!(
        !body.to_string().contains("asked to panic"),
        "the panic message is logged, never sent: {body}"
    );
    assert_eq!(
        bound.in_flight(),
        0,
        "the panicked request gave its place back"
    );

    let response = stack.serve(request(&[]), &peer()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().contains_key("x-request-id"));
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&bytes[..], b"ok");
}

#[tokio::test]
async fn beyond_the_bound_a_request_is_refused_at_once_with_retry_after() {
    let hold = Arc::new(Notify::new());
    let bound = Arc::new(Bound::new(1));
    let stack = Stack::new(
        TestHandler {
            hold: Some(Arc::clone(&hold)),
        },
        Arc::clone(&bound),
    );
    let peer = peer();

    let first = stack.serve(request(&[]), &peer);
    let second = async {
        // Wait (without time) until the first request holds the only place.
        while bound.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let refused = stack
            .serve(request(&[("x-request-id", "req-over")]), &peer)
            .await;
        hold.notify_one();
        refused
    };
    let (first, refused) = tokio::join!(first, second);
    assert_eq!(first.status(), StatusCode::OK);

    let (status, headers, body) = problem(refused).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["x-request-id"], "req-over");
    assert_eq!(body["code"], "overloaded");
    assert_eq!(body["request_id"], "req-over");
    assert_eq!(bound.in_flight(), 0);

    // The place is free again: the next request is served, not refused.
    let next = stack.serve(request(&[]), &peer);
    let release = async {
        while bound.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        hold.notify_one();
    };
    let (next, ()) = tokio::join!(next, release);
    assert_eq!(next.status(), StatusCode::OK);
}

#[test]
fn a_bound_admits_up_to_its_max_and_takes_places_back() {
    let bound = Bound::new(2);
    let a = bound.try_enter().unwrap();
    let b = bound.try_enter().unwrap();
    assert!(bound.try_enter().is_none());
    assert_eq!(bound.in_flight(), 2, "a refusal leaves the count as it was");
    drop(a);
    let c = bound.try_enter().unwrap();
    drop((b, c));
    assert_eq!(bound.in_flight(), 0);
    assert_eq!(
        Bound::new(0).max(),
        1,
        "a bound of 0 would refuse everything"
    );
}

#[test]
fn matched_holds_a_route_and_its_upstream_the_spec_or_nothing() {
    let matched = Matched::default();
    assert_eq!(matched.get(), None);
    let route = Match::Route {
        index: 0,
        upstream: UpstreamId(3),
    };
    matched.set(route);
    assert_eq!(matched.get(), Some(route));
    let last = Match::Route {
        index: 70_000,
        upstream: UpstreamId(0),
    };
    matched.set(last);
    assert_eq!(matched.get(), Some(last));
    matched.set(Match::Spec);
    assert_eq!(matched.get(), Some(Match::Spec));
}
