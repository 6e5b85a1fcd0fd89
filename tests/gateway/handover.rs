//! Hand-over at a swap: a reload that moves `/users/{id}` from the monolith to the users
//! service waits until the users service's follower of the monolith's feed has reached
//! the head it read, the monolith answering meanwhile; a follower that never gets there
//! delays the swap by the timeout only, and is counted and shown; a pair with no feed to
//! wait for, or whose side cannot be reached, does not delay it at all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
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

/// What its `/feeds` says.
struct FeedState {
    /// Its feed's name, or `None`: no `/feeds` (404), like the timeline service.
    source: Option<&'static str>,
    head: u64,
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
            head,
            follows,
            position: AtomicU64::new(position),
            reached: Mutex::new(None),
        });
        let app = Router::new()
            .route("/feeds", get(feeds))
            .fallback(|| async { "ok" })
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
    axum::Json(json!({"source": source, "head": state.head, "followers": followers}))
        .into_response()
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
