//! Hand-over at a swap: a reload that moves `/users/{id}` from the monolith to the users
//! service waits until the users service's follower of the monolith's feed has reached
//! the head it read, the monolith answering meanwhile; a follower that never gets there
//! delays the swap by the timeout only, and is counted and shown; a pair with no feed to
//! wait for, or whose side cannot be reached, does not delay it at all.
//!
//! After the swap, the moved route is held while a write still running on the monolith
//! finishes and the users service catches up with the head that write raised; other
//! routes are served meanwhile, and a final catch-up that never ends holds for the
//! timeout only.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::Method;
use axum::routing::get;
use gateway::table::Overrides;
use kit::test_util::TestServer;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::support::{Gateway, Options};

/// A test upstream serving `/feeds` (when it keeps a feed) and answering `ok` to the rest.
struct FeedUpstream {
    server: TestServer,
    state: Arc<FeedState>,
}

/// What its `/feeds` says, and what its other requests saw.
struct FeedState {
    /// Its feed's name, or `None`: no `/feeds` (404), like the timeline service.
    source: Option<&'static str>,
    /// Its feed's head: one more for each `PUT` answered.
    head: AtomicU64,
    /// How long a `PUT` takes, in milliseconds.
    write_ms: AtomicU64,
    /// `PUT`s that have arrived.
    writes_started: AtomicU64,
    /// For each other request but `/feeds`, in order, its follower's position when it was
    /// answered.
    served: Mutex<Vec<u64>>,
    /// The feed it follows, if any.
    follows: Option<&'static str>,
    /// Its follower's position.
    position: AtomicU64,
    /// When the follower's position first reached `until` (set by [`FeedUpstream::advance`]).
    reached: Mutex<Option<Instant>>,
}

// === impl FeedUpstream ===

impl FeedUpstream {
    async fn start(
        source: Option<&'static str>,
        head: u64,
        follows: Option<&'static str>,
        position: u64,
    ) -> Self {
        let state = Arc::new(FeedState {
            source,
            head: AtomicU64::new(head),
            write_ms: AtomicU64::new(0),
            writes_started: AtomicU64::new(0),
            served: Mutex::new(Vec::new()),
            follows,
            position: AtomicU64::new(position),
            reached: Mutex::new(None),
        });
        let app = Router::new()
            .route("/feeds", get(feeds))
            .fallback(answer)
            .with_state(Arc::clone(&state));
        Self {
            server: TestServer::start(app).await,
            state,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    /// Moves the follower on by `step` every `every` until it is at `until`, noting when.
    fn advance(&self, step: u64, every: Duration, until: u64) {
        let state = Arc::clone(&self.state);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let now = state.position.fetch_add(step, Ordering::SeqCst) + step;
                if now >= until {
                    state.position.store(until, Ordering::SeqCst);
                    *state.reached.lock().unwrap() = Some(Instant::now());
                    return;
                }
            }
        });
    }
}

/// A `PUT` is a write: it takes `write_ms`, then raises the head before it is answered.
/// Anything else is a read, answered at once with the follower's position noted.
async fn answer(State(state): State<Arc<FeedState>>, method: Method) -> &'static str {
    if method == Method::PUT {
        state.writes_started.fetch_add(1, Ordering::SeqCst);
        let ms = state.write_ms.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        state.head.fetch_add(1, Ordering::SeqCst);
        return "written";
    }
    let position = state.position.load(Ordering::SeqCst);
    state.served.lock().unwrap().push(position);
    "ok"
}

/// `GET /feeds` as kit serves it: `FeedsView` with `FollowerStatus` entries.
async fn feeds(State(state): State<Arc<FeedState>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let Some(source) = state.source else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    let followers: Vec<Value> = state
        .follows
        .iter()
        .map(|followed| {
            let position = state.position.load(Ordering::SeqCst);
            json!({
                "consumer": format!("{source}-from-{followed}"),
                "source": followed,
                "transport": "http",
                "position": position,
                "head": position,
                "lag_events": 0,
                "lag_seconds": 0.0,
                "connected": true,
                "replays": 0
            })
        })
        .collect();
    let head = state.head.load(Ordering::SeqCst);
    axum::Json(json!({"source": source, "head": head, "followers": followers})).into_response()
}

fn routes(settings: &str, users_to: &str) -> String {
    format!(
        "{settings}upstreams:
  users: {{url: 'http://127.0.0.1:8081'}}
  timeline: {{url: 'http://127.0.0.1:8084'}}
  monolith: {{url: 'http://127.0.0.1:8085'}}
routes:
  - {{prefix: /, to: monolith}}
  - {{path: '/users/{{id}}', to: {users_to}}}
"
    )
}

async fn gateway(text: &str, upstreams: &[(&str, &FeedUpstream)]) -> Gateway {
    let overrides = upstreams
        .iter()
        .fold(Overrides::default(), |o, (name, u)| o.with(*name, u.url()));
    Gateway::start_with(
        text,
        overrides,
        Options {
            watch: false,
            sighup: false,
            ..Options::default()
        },
    )
    .await
}

/// Writes `text` and reloads it through the admin API, while requests to `/users/1` keep
/// being sent; returns the reload's answer and, for each request, when it was sent and
/// who answered it.
async fn reload_under_traffic(
    gateway: &Arc<Gateway>,
    text: &str,
) -> (Value, Vec<(Instant, String)>) {
    std::fs::write(&gateway.file, text).unwrap();
    let reloading = {
        let gateway = Arc::clone(gateway);
        tokio::spawn(async move {
            let response = gateway.reload().await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        })
    };
    let mut served = Vec::new();
    while !reloading.is_finished() {
        let sent = Instant::now();
        let response = gateway.get("/users/1").await;
        assert_eq!(response.status(), 200);
        let upstream = response.headers()["x-upstream"]
            .to_str()
            .unwrap()
            .to_owned();
        served.push((sent, upstream));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (reloading.await.unwrap(), served)
}

async fn served_by(gateway: &Gateway) -> String {
    let response = gateway.get("/users/1").await;
    response.headers()["x-upstream"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The value of the sample `name` with label `outcome`.
async fn metric(gateway: &Gateway, name: &str, outcome: &str) -> f64 {
    let text = gateway
        .http
        .get(gateway.admin("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::metrics::parse(&text)
        .into_iter()
        .find(|s| s.name == name && s.labels.get("outcome").map(String::as_str) == Some(outcome))
        .unwrap_or_else(|| panic!("no {name}{{outcome={outcome}}} in\n{text}"))
        .value
}

#[tokio::test]
async fn a_swap_waits_until_the_new_side_caught_up_and_the_old_side_answers_meanwhile() {
    let monolith = FeedUpstream::start(Some("monolith"), 100, Some("users"), 7).await;
    let users = FeedUpstream::start(Some("users"), 7, Some("monolith"), 40).await;
    let gateway = Arc::new(
        gateway(
            &routes("settings: {handover_timeout: 10s}\n", "monolith"),
            &[("monolith", &monolith), ("users", &users)],
        )
        .await,
    );
    assert_eq!(served_by(&gateway).await, "monolith");

    // 40 → 100 in steps of 10 every 60 ms: about 360 ms.
    users.advance(10, Duration::from_millis(60), 100);
    let started = Instant::now();
    let (reloaded, served) = reload_under_traffic(
        &gateway,
        &routes("settings: {handover_timeout: 10s}\n", "users"),
    )
    .await;
    let reached = users
        .state
        .reached
        .lock()
        .unwrap()
        .expect("the follower reached the head");
    assert!(reached - started >= Duration::from_millis(300));

    assert_eq!(reloaded["changed"], true);
    let handovers = reloaded["handovers"].as_array().unwrap();
    assert_eq!(handovers.len(), 1, "{reloaded}");
    let h = &handovers[0];
    assert_eq!(h["from"], "monolith");
    assert_eq!(h["to"], "users");
    assert_eq!(h["routes"], json!(["/users/{id}"]));
    assert_eq!(h["source"], "monolith");
    assert_eq!(h["head"], 100);
    assert_eq!(h["position"], 100);
    assert_eq!(h["outcome"], "caught_up");
    assert_eq!(h["timeout_ms"], 10_000);
    assert!(h["waited_ms"].as_u64().unwrap() >= 250, "{h}");

    // Every request before the follower reached the head went to the monolith, and
    // several were sent while the swap waited.
    let early: Vec<_> = served.iter().filter(|(sent, _)| *sent < reached).collect();
    assert!(early.len() >= 5, "{} requests during the wait", early.len());
    assert!(
        early.iter().all(|(_, upstream)| upstream == "monolith"),
        "{early:?}"
    );
    assert_eq!(served_by(&gateway).await, "users");

    let view = gateway.routes().await;
    assert_eq!(view["handovers"], reloaded["handovers"]);
    assert_eq!(view["settings"]["handover_timeout"], "10s");
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "caught_up").await,
        1.0
    );
    assert_eq!(
        metric(&gateway, "gateway_handover_wait_seconds_count", "caught_up").await,
        1.0
    );
    assert!(metric(&gateway, "gateway_handover_wait_seconds_sum", "caught_up").await >= 0.25);

    // Back to the monolith: its follower of the users feed is at the users head already.
    let (reloaded, _) = reload_under_traffic(
        &gateway,
        &routes("settings: {handover_timeout: 10s}\n", "monolith"),
    )
    .await;
    let h = &reloaded["handovers"][0];
    assert_eq!(
        (h["from"].as_str(), h["to"].as_str()),
        (Some("users"), Some("monolith"))
    );
    assert_eq!(h["outcome"], "caught_up");
    assert_eq!(
        (h["head"].as_u64(), h["position"].as_u64()),
        (Some(7), Some(7))
    );
    assert!(h["waited_ms"].as_u64().unwrap() < 1000, "{h}");
    assert_eq!(served_by(&gateway).await, "monolith");
}

#[tokio::test]
async fn a_follower_that_never_catches_up_delays_the_swap_by_the_timeout_and_is_counted() {
    let monolith = FeedUpstream::start(Some("monolith"), 100, None, 0).await;
    let users = FeedUpstream::start(Some("users"), 7, Some("monolith"), 40).await;
    let gateway = Arc::new(
        gateway(
            &routes("settings: {handover_timeout: 300ms}\n", "monolith"),
            &[("monolith", &monolith), ("users", &users)],
        )
        .await,
    );
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "timed_out").await,
        0.0
    );

    let started = Instant::now();
    let (reloaded, served) = reload_under_traffic(
        &gateway,
        &routes("settings: {handover_timeout: 300ms}\n", "users"),
    )
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let h = &reloaded["handovers"][0];
    assert_eq!(h["outcome"], "timed_out", "{reloaded}");
    assert_eq!(
        (h["head"].as_u64(), h["position"].as_u64()),
        (Some(100), Some(40))
    );
    assert!(h["waited_ms"].as_u64().unwrap() >= 300, "{h}");
    assert!(h["detail"].as_str().unwrap().contains("40 of 100"), "{h}");
    // The monolith answered during the wait; the swap went ahead after it.
    assert!(served.iter().any(|(_, u)| u == "monolith"));
    assert_eq!(served_by(&gateway).await, "users");

    let view = gateway.routes().await;
    assert_eq!(view["handovers"][0]["outcome"], "timed_out");
    assert_eq!(view["handovers"][0]["position"], 40);
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "timed_out").await,
        1.0
    );
    assert_eq!(
        metric(&gateway, "gateway_handover_wait_seconds_count", "timed_out").await,
        1.0
    );
}

#[tokio::test]
async fn a_pair_without_a_feed_to_wait_for_does_not_delay_the_swap() {
    // The timeline keeps no feed (404 on /feeds); the users service here follows none.
    let monolith = FeedUpstream::start(Some("monolith"), 100, None, 0).await;
    let users = FeedUpstream::start(Some("users"), 7, None, 0).await;
    let timeline = FeedUpstream::start(None, 0, None, 0).await;
    let settings = "settings: {handover_timeout: 10s}\n";
    let text = |users_to: &str, timeline_to: &str| {
        format!(
            "{}  - {{path: '/timeline/{{id}}', to: {timeline_to}}}\n",
            routes(settings, users_to)
        )
    };
    let gateway = Arc::new(
        gateway(
            &text("monolith", "monolith"),
            &[
                ("monolith", &monolith),
                ("users", &users),
                ("timeline", &timeline),
            ],
        )
        .await,
    );
    let started = Instant::now();
    let (reloaded, _) = reload_under_traffic(&gateway, &text("users", "timeline")).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let handovers = reloaded["handovers"].as_array().unwrap();
    assert_eq!(handovers.len(), 2, "{reloaded}");
    for h in handovers {
        assert_eq!(h["outcome"], "not_replicated", "{h}");
        assert!(h["waited_ms"].as_u64().unwrap() < 1000, "{h}");
    }
    let to_timeline = handovers.iter().find(|h| h["to"] == "timeline").unwrap();
    assert!(
        to_timeline["detail"].as_str().unwrap().contains("404"),
        "{to_timeline}"
    );
    let to_users = handovers.iter().find(|h| h["to"] == "users").unwrap();
    assert_eq!(to_users["source"], "monolith");
    assert!(
        to_users["detail"]
            .as_str()
            .unwrap()
            .contains("follows no feed"),
        "{to_users}"
    );
    assert_eq!(served_by(&gateway).await, "users");
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "not_replicated").await,
        2.0
    );

    // `0s` turns the wait off: nothing is read, nothing shown.
    let off = text("monolith", "monolith").replace("10s", "0s");
    let (reloaded, _) = reload_under_traffic(&gateway, &off).await;
    assert_eq!(reloaded["handovers"], json!([]));
    assert_eq!(served_by(&gateway).await, "monolith");
}

#[tokio::test]
async fn a_side_whose_feeds_cannot_be_read_is_unreachable_and_the_swap_goes_ahead() {
    let monolith = FeedUpstream::start(Some("monolith"), 100, None, 0).await;
    let nobody = crate::support::refused_url().await;
    let settings = "settings: {handover_timeout: 10s}\n";
    let gateway = Gateway::start_with(
        &routes(settings, "monolith"),
        Overrides::default()
            .with("monolith", monolith.url())
            .with("users", nobody),
        Options {
            watch: false,
            sighup: false,
            ..Options::default()
        },
    )
    .await;
    std::fs::write(&gateway.file, routes(settings, "users")).unwrap();
    let started = Instant::now();
    let response = gateway.reload().await;
    assert_eq!(response.status(), 200);
    let reloaded: Value = response.json().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let h = &reloaded["handovers"][0];
    assert_eq!(h["outcome"], "unreachable", "{reloaded}");
    assert_eq!(h["head"], 100);
    assert!(
        h["detail"].as_str().unwrap().starts_with("users: GET "),
        "{h}"
    );
    assert_eq!(gateway.routes().await["version"], reloaded["version"]);
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "unreachable").await,
        1.0
    );
}

/// Sends `PUT /users/1` through the gateway in a task, and returns once `monolith` has
/// it (on the active table, so the monolith serves it) with the task's status and
/// `x-upstream`.
async fn slow_write(
    gateway: &Arc<Gateway>,
    monolith: &FeedUpstream,
    ms: u64,
) -> tokio::task::JoinHandle<(u16, String)> {
    monolith.state.write_ms.store(ms, Ordering::SeqCst);
    let before = monolith.state.writes_started.load(Ordering::SeqCst);
    let writing = {
        let gateway = Arc::clone(gateway);
        tokio::spawn(async move {
            let response = gateway
                .http
                .put(gateway.url("/users/1"))
                .send()
                .await
                .unwrap();
            (response.status().as_u16(), upstream_of(&response))
        })
    };
    while monolith.state.writes_started.load(Ordering::SeqCst) == before {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    writing
}

/// Writes `text` and reloads it in a task; returns once the new table is active, with
/// the task giving the reload's answer.
async fn reload_until_swapped(
    gateway: &Arc<Gateway>,
    text: &str,
) -> tokio::task::JoinHandle<Value> {
    std::fs::write(&gateway.file, text).unwrap();
    let reloading = {
        let gateway = Arc::clone(gateway);
        tokio::spawn(async move {
            let response = gateway.reload().await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        })
    };
    gateway
        .wait_for_version(&crate::support::version_of(text))
        .await;
    reloading
}

/// `GET path` in a task, giving the status, `x-upstream` and when the answer came.
fn get_later(gateway: &Arc<Gateway>, path: &'static str) -> tokio::task::JoinHandle<Answered> {
    let gateway = Arc::clone(gateway);
    tokio::spawn(async move {
        let response = gateway.get(path).await;
        Answered {
            status: response.status().as_u16(),
            upstream: upstream_of(&response),
            at: Instant::now(),
        }
    })
}

/// One answer through the gateway.
#[derive(Debug)]
struct Answered {
    status: u16,
    upstream: String,
    at: Instant,
}

fn upstream_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-upstream")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Waits until `side`'s feed head is `head`, returning when.
async fn head_reached(side: &FeedUpstream, head: u64) -> Instant {
    while side.state.head.load(Ordering::SeqCst) < head {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Instant::now()
}

#[tokio::test]
async fn a_write_still_running_at_the_swap_is_on_the_new_side_before_a_held_read_goes_there() {
    // Both caught up at first: the first wait ends at once, the swap comes at once.
    let monolith = FeedUpstream::start(Some("monolith"), 100, Some("users"), 7).await;
    let users = FeedUpstream::start(Some("users"), 7, Some("monolith"), 100).await;
    let settings = "settings: {handover_timeout: 10s}\n";
    let gateway = Arc::new(
        gateway(
            &routes(settings, "monolith"),
            &[("monolith", &monolith), ("users", &users)],
        )
        .await,
    );

    let writing = slow_write(&gateway, &monolith, 400).await;
    let started = Instant::now();
    let reloading = reload_until_swapped(&gateway, &routes(settings, "users")).await;
    // The users service applies the write 200 ms after the monolith acknowledged it.
    let applied = {
        let (monolith, users) = (Arc::clone(&monolith.state), Arc::clone(&users.state));
        tokio::spawn(async move {
            while monolith.head.load(Ordering::SeqCst) < 101 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            users.position.store(101, Ordering::SeqCst);
            Instant::now()
        })
    };
    // The client's read after the swap, while its write is still running.
    let read = get_later(&gateway, "/users/1");

    let (status, written_by) = writing.await.unwrap();
    assert_eq!((status, written_by.as_str()), (200, "monolith"));
    let acknowledged = Instant::now();
    let read = read.await.unwrap();
    let applied = applied.await.unwrap();
    assert_eq!(
        (read.status, read.upstream.as_str()),
        (200, "users"),
        "{read:?}"
    );
    assert!(
        read.at >= applied,
        "answered before the users service had the write"
    );
    assert!(read.at >= acknowledged);
    // What the users service had applied when it answered the read: the write.
    assert_eq!(*users.state.served.lock().unwrap(), vec![101]);

    let reloaded = reloading.await.unwrap();
    let h = &reloaded["handovers"][0];
    assert_eq!(h["outcome"], "caught_up", "{reloaded}");
    assert_eq!(
        (
            h["head"].as_u64(),
            h["final_head"].as_u64(),
            h["position"].as_u64()
        ),
        (Some(100), Some(101), Some(101)),
        "{h}"
    );
    let held = h["held_ms"].as_u64().unwrap();
    let waited = h["waited_ms"].as_u64().unwrap();
    assert!(held >= 400, "{h}");
    assert!(waited >= held, "{h}");
    assert!(u128::from(waited) <= started.elapsed().as_millis(), "{h}");
    assert_eq!(gateway.routes().await["handovers"], reloaded["handovers"]);
    assert_eq!(
        metric(&gateway, "gateway_handover_held_seconds_count", "caught_up").await,
        1.0
    );
    assert!(metric(&gateway, "gateway_handover_held_seconds_sum", "caught_up").await >= 0.4);
    // Open now: the next read goes straight to the users service.
    assert_eq!(served_by(&gateway).await, "users");
}

#[tokio::test]
async fn routes_that_did_not_move_are_served_while_a_moved_route_is_held() {
    let monolith = FeedUpstream::start(Some("monolith"), 100, Some("users"), 7).await;
    let users = FeedUpstream::start(Some("users"), 7, Some("monolith"), 100).await;
    let settings = "settings: {handover_timeout: 10s}\n";
    let gateway = Arc::new(
        gateway(
            &routes(settings, "monolith"),
            &[("monolith", &monolith), ("users", &users)],
        )
        .await,
    );

    let writing = slow_write(&gateway, &monolith, 100).await;
    let reloading = reload_until_swapped(&gateway, &routes(settings, "users")).await;
    let held = get_later(&gateway, "/users/1");
    head_reached(&monolith, 101).await;
    assert_eq!(writing.await.unwrap().0, 200);

    // The users service has not applied the write: the moved route stays held while the
    // monolith's own routes answer at once, several times over.
    for _ in 0..5 {
        let sent = Instant::now();
        let response = gateway.get("/orders/1").await;
        assert_eq!(response.status(), 200);
        assert_eq!(upstream_of(&response), "monolith");
        assert!(
            sent.elapsed() < Duration::from_millis(500),
            "{:?}",
            sent.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!held.is_finished(), "the moved route was not held");
    assert!(users.state.served.lock().unwrap().is_empty());

    users.state.position.store(101, Ordering::SeqCst);
    let held = held.await.unwrap();
    assert_eq!((held.status, held.upstream.as_str()), (200, "users"));
    assert_eq!(*users.state.served.lock().unwrap(), vec![101]);
    let reloaded = reloading.await.unwrap();
    assert_eq!(
        reloaded["handovers"][0]["outcome"], "caught_up",
        "{reloaded}"
    );
    assert_eq!(reloaded["handovers"][0]["final_head"], 101);
}

#[tokio::test]
async fn a_final_catch_up_that_never_ends_opens_the_gate_at_the_timeout() {
    let monolith = FeedUpstream::start(Some("monolith"), 100, Some("users"), 7).await;
    let users = FeedUpstream::start(Some("users"), 7, Some("monolith"), 100).await;
    let settings = "settings: {handover_timeout: 800ms}\n";
    let gateway = Arc::new(
        gateway(
            &routes(settings, "monolith"),
            &[("monolith", &monolith), ("users", &users)],
        )
        .await,
    );

    let writing = slow_write(&gateway, &monolith, 100).await;
    let started = Instant::now();
    let reloading = reload_until_swapped(&gateway, &routes(settings, "users")).await;
    let held = get_later(&gateway, "/users/1");
    assert_eq!(writing.await.unwrap().0, 200);

    // The users service never applies the write: the read waits out the timeout, then
    // the users service answers it.
    let held = held.await.unwrap();
    assert_eq!((held.status, held.upstream.as_str()), (200, "users"));
    let after = held.at - started;
    assert!(after >= Duration::from_millis(800), "{after:?}");
    assert!(after < Duration::from_secs(3), "{after:?}");
    assert_eq!(*users.state.served.lock().unwrap(), vec![100]);

    let reloaded = reloading.await.unwrap();
    let h = &reloaded["handovers"][0];
    assert_eq!(h["outcome"], "timed_out", "{reloaded}");
    assert_eq!(
        (h["final_head"].as_u64(), h["position"].as_u64()),
        (Some(101), Some(100)),
        "{h}"
    );
    assert!(h["detail"].as_str().unwrap().contains("100 of 101"), "{h}");
    assert!(h["waited_ms"].as_u64().unwrap() >= 800, "{h}");
    assert!(h["held_ms"].as_u64().unwrap() > 0, "{h}");
    assert_eq!(
        metric(&gateway, "gateway_handovers_total", "timed_out").await,
        1.0
    );
    assert_eq!(
        metric(&gateway, "gateway_handover_held_seconds_count", "timed_out").await,
        1.0
    );
    assert_eq!(served_by(&gateway).await, "users");
}
