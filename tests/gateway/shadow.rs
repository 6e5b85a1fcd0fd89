//! Shadow traffic on real sockets: test upstreams that answer `GET /items/{id}` with a
//! JSON item (one of them with a random field, one holding requests until told), a
//! gateway shadowing that route, and `/admin/shadow` read until it shows the outcome.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::get;
use gateway::table::Overrides;
use kit::test_util::{TestServer, eventually};
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::support::{Gateway, refused_url, version_of};

const WITHIN: Duration = Duration::from_secs(5);

/// An item service.
struct Items {
    server: TestServer,
    state: Arc<ItemsState>,
}

#[derive(Default)]
struct ItemsState {
    /// Requests that arrived, by method.
    gets: AtomicUsize,
    writes: AtomicUsize,
    /// Answers carry a `nonce` that differs every time.
    random: bool,
    /// Names items `other` instead of `item`.
    renamed: bool,
    /// When set, each GET waits for a permit before answering.
    hold: Option<Arc<Semaphore>>,
}

impl Items {
    async fn start(state: ItemsState) -> Self {
        let state = Arc::new(state);
        let app = Router::new()
            .route("/items/{id}", get(get_item).post(write_item))
            .with_state(Arc::clone(&state));
        Self {
            server: TestServer::start(app).await,
            state,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.server.addr)
    }

    fn gets(&self) -> usize {
        self.state.gets.load(Ordering::SeqCst)
    }

    fn writes(&self) -> usize {
        self.state.writes.load(Ordering::SeqCst)
    }
}

async fn get_item(State(state): State<Arc<ItemsState>>, Path(id): Path<u64>) -> impl IntoResponse {
    state.gets.fetch_add(1, Ordering::SeqCst);
    if let Some(hold) = &state.hold {
        hold.acquire().await.unwrap().forget();
    }
    let name = if state.renamed { "other" } else { "item" };
    let mut item = json!({"id": id, "name": name, "tags": ["a", "b"]});
    if state.random {
        item["nonce"] = json!(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                .to_string()
        );
    }
    axum::Json(item)
}

async fn write_item(State(state): State<Arc<ItemsState>>) -> impl IntoResponse {
    state.writes.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"written": true}))
}

/// A gateway serving `/items/{id}` from `primary`, shadowed to `shadow` with `extra`
/// (YAML flow-map entries) in its `shadow:`.
async fn gateway(primary: &str, shadow: &str, extra: &str) -> Gateway {
    Gateway::start(&routes(extra), overrides(primary, shadow)).await
}

fn routes(extra: &str) -> String {
    format!(
        "upstreams:
  primary: {{url: 'http://127.0.0.1:9'}}
  copy: {{url: 'http://127.0.0.1:9'}}
routes:
  - path: '/items/{{id}}'
    to: primary
    shadow: {{to: copy{extra}}}
"
    )
}

fn overrides(primary: &str, shadow: &str) -> Overrides {
    Overrides::default()
        .with("primary", primary)
        .with("copy", shadow)
}

// === impl Gateway ===

impl Gateway {
    /// `GET /admin/shadow`.
    async fn shadow(&self) -> Value {
        let response = self
            .http
            .get(self.admin("/admin/shadow"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls `/admin/shadow` until `done` holds of the first route (up to 5 s).
    async fn shadow_until(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let view = self.shadow().await;
            if done(&view["routes"][0]) {
                return view["routes"][0].clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never {what}: {view:#}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn alike_answers_are_counted_equal_and_different_ones_named_by_pointer() {
    let primary = Items::start(ItemsState::default()).await;
    let same = Items::start(ItemsState::default()).await;
    let gw = gateway(&primary.url(), &same.url(), ", noise_sample: 0").await;
    for id in 1..=10 {
        let response = gw.get(&format!("/items/{id}?full=1")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap()["id"], id);
    }
    let route = gw
        .shadow_until("10 compared", |r| r["compared"] == 10)
        .await;
    assert_eq!(route["route"], "/items/{id}");
    assert_eq!(route["methods"], json!(["GET", "HEAD"]));
    assert_eq!(route["upstream"], "primary");
    assert_eq!(route["shadow"], "copy");
    assert_eq!(route["percent"], 100);
    assert_eq!(route["equal"], 10);
    assert_eq!(route["different"], 0);
    assert_eq!(route["differences"], json!([]));
    assert_eq!(same.gets(), 10);
    // The same counts on /metrics, labelled by the route's pattern and the shadow.
    let samples = crate::metrics::scrape(&gw).await;
    let result = |result: &str| {
        crate::metrics::value(
            &samples,
            "gateway_shadow_results_total",
            &[
                ("route", "/items/{id}"),
                ("shadow", "copy"),
                ("result", result),
            ],
        )
    };
    assert_eq!(result("equal"), Some(10.0));
    assert_eq!(result("different"), Some(0.0));
    assert_eq!(result("error"), Some(0.0));

    let renamed = Items::start(ItemsState {
        renamed: true,
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(&primary.url(), &renamed.url(), ", noise_sample: 0").await;
    assert_eq!(gw.get("/items/7?x=1").await.status(), 200);
    let route = gw
        .shadow_until("a difference", |r| r["different"] == 1)
        .await;
    let [difference] = route["differences"].as_array().unwrap().as_slice() else {
        panic!("{route:#}");
    };
    assert_eq!(difference["method"], "GET");
    assert_eq!(difference["path"], "/items/7?x=1");
    assert_eq!(difference["primary_status"], 200);
    assert_eq!(difference["shadow_status"], 200);
    assert_eq!(difference["pointers"], json!(["/name"]));
    let at = difference["at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_ok(),
        "{at}"
    );
}

#[tokio::test]
async fn writes_are_never_shadowed() {
    let primary = Items::start(ItemsState::default()).await;
    let copy = Items::start(ItemsState::default()).await;
    let gw = gateway(&primary.url(), &copy.url(), "").await;
    let response = gw.http.post(gw.url("/items/1")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(primary.writes(), 1);
    // A GET after the POST: once its shadow is counted, the POST's would have been too.
    assert_eq!(gw.get("/items/1").await.status(), 200);
    let route = gw
        .shadow_until("the GET compared", |r| r["compared"] == 1)
        .await;
    assert_eq!(copy.writes(), 0);
    assert_eq!(copy.gets(), 1);
    for counter in ["dropped", "errors", "different"] {
        assert_eq!(route[counter], 0, "{counter}: {route:#}");
    }
}

#[tokio::test]
async fn without_comparison_copies_are_only_sent() {
    let primary = Items::start(ItemsState::default()).await;
    let renamed = Items::start(ItemsState {
        renamed: true,
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(&primary.url(), &renamed.url(), ", compare: false").await;
    for _ in 0..3 {
        assert_eq!(gw.get("/items/1").await.status(), 200);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while renamed.gets() < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the copies never arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let route = &gw.shadow().await["routes"][0];
    for counter in ["compared", "different", "dropped", "errors"] {
        assert_eq!(route[counter], 0, "{counter}: {route:#}");
    }
}

#[tokio::test]
async fn a_slow_shadow_never_holds_up_the_client() {
    let primary = Items::start(ItemsState::default()).await;
    let hold = Arc::new(Semaphore::new(0));
    let slow = Items::start(ItemsState {
        hold: Some(Arc::clone(&hold)),
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(&primary.url(), &slow.url(), ", timeout: 5s").await;
    let response = gw.get("/items/3").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["name"], "item");
    // The client has its whole answer; the shadow's request is still held.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while slow.gets() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the shadow never got the copy"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pending = gw.shadow().await;
    assert_eq!(pending["routes"][0]["compared"], 0, "{pending:#}");
    hold.add_permits(1);
    let route = gw
        .shadow_until("compared once released", |r| r["equal"] == 1)
        .await;
    assert_eq!(route["errors"], 0);
}

#[tokio::test]
async fn the_copy_leaves_once_the_primary_has_answered() {
    let hold = Arc::new(Semaphore::new(0));
    let primary = Items::start(ItemsState {
        hold: Some(Arc::clone(&hold)),
        ..ItemsState::default()
    })
    .await;
    let copy = Items::start(ItemsState::default()).await;
    // No noise probe: it would wait on the held primary too, and outlive the gateway that
    // sent it (copies run on the process's shadow thread).
    for extra in [", noise_sample: 0", ", compare: false"] {
        let gw = gateway(&primary.url(), &copy.url(), extra).await;
        let before = copy.gets();
        let served = primary.gets();
        let client = {
            let http = gw.http.clone();
            let url = gw.url("/items/4");
            tokio::spawn(async move { http.get(url).send().await.unwrap().status() })
        };
        eventually("the primary to have the request", WITHIN, || async {
            (primary.gets() > served).then_some(())
        })
        .await;
        // The primary holds its answer: the shadow has not been sent anything.
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(copy.gets(), before, "a copy left before the answer{extra}");
        hold.add_permits(1);
        assert_eq!(client.await.unwrap(), 200);
        eventually("the copy to arrive", WITHIN, || async {
            (copy.gets() == before + 1).then_some(())
        })
        .await;
    }
}

#[tokio::test]
async fn a_dead_shadow_counts_errors_and_the_client_is_served() {
    let primary = Items::start(ItemsState::default()).await;
    let gw = gateway(&primary.url(), &refused_url().await, "").await;
    for _ in 0..3 {
        assert_eq!(gw.get("/items/1").await.status(), 200);
    }
    let route = gw.shadow_until("3 errors", |r| r["errors"] == 3).await;
    assert_eq!(route["compared"], 0);
}

#[tokio::test]
async fn a_field_that_differs_on_every_answer_is_noise_not_a_difference() {
    let primary = Items::start(ItemsState {
        random: true,
        ..ItemsState::default()
    })
    .await;
    let copy = Items::start(ItemsState {
        random: true,
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(&primary.url(), &copy.url(), ", noise_sample: 100").await;
    for id in 1..=5 {
        assert_eq!(gw.get(&format!("/items/{id}")).await.status(), 200);
    }
    let route = gw.shadow_until("5 compared", |r| r["compared"] == 5).await;
    assert_eq!(route["noise_fields"], json!(["/nonce"]));
    assert_eq!(route["noise"], 5, "{route:#}");
    assert_eq!(route["different"], 0, "{route:#}");
    // The primary had each request twice: once for the client, once to learn the noise.
    assert_eq!(primary.gets(), 10);
}

#[tokio::test]
async fn ignored_pointers_and_head_requests() {
    let primary = Items::start(ItemsState::default()).await;
    let renamed = Items::start(ItemsState {
        renamed: true,
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(
        &primary.url(),
        &renamed.url(),
        ", ignore: ['/name'], noise_sample: 0",
    )
    .await;
    assert_eq!(gw.get("/items/1").await.status(), 200);
    let head = gw.http.head(gw.url("/items/2")).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let route = gw.shadow_until("2 compared", |r| r["compared"] == 2).await;
    assert_eq!(route["equal"], 2, "{route:#}");
}

#[tokio::test]
async fn a_reload_that_removes_the_shadow_stops_it() {
    let primary = Items::start(ItemsState::default()).await;
    let copy = Items::start(ItemsState::default()).await;
    let gw = gateway(&primary.url(), &copy.url(), ", percent: 100").await;
    assert_eq!(gw.get("/items/1").await.status(), 200);
    gw.shadow_until("one compared", |r| r["compared"] == 1)
        .await;

    // Another percent on the same route: the counters carry on.
    let text = routes(", percent: 50, noise_sample: 0");
    std::fs::write(&gw.file, &text).unwrap();
    assert_eq!(gw.reload().await.status(), 200);
    gw.wait_for_version(&version_of(&text)).await;
    let kept = gw.shadow().await;
    assert_eq!(kept["routes"][0]["compared"], 1, "{kept:#}");
    assert_eq!(kept["routes"][0]["percent"], 50);

    let plain = "upstreams:
  primary: {url: 'http://127.0.0.1:9'}
  copy: {url: 'http://127.0.0.1:9'}
routes:
  - {path: '/items/{id}', to: primary}
";
    std::fs::write(&gw.file, plain).unwrap();
    assert_eq!(gw.reload().await.status(), 200);
    gw.wait_for_version(&version_of(plain)).await;
    let before = copy.gets();
    for _ in 0..5 {
        assert_eq!(gw.get("/items/1").await.status(), 200);
    }
    assert_eq!(gw.shadow().await, json!({"routes": []}));
    assert_eq!(copy.gets(), before, "no copy after the reload");
}

#[tokio::test]
async fn over_max_in_flight_copies_are_dropped() {
    let primary = Items::start(ItemsState::default()).await;
    let hold = Arc::new(Semaphore::new(0));
    let slow = Items::start(ItemsState {
        hold: Some(Arc::clone(&hold)),
        ..ItemsState::default()
    })
    .await;
    let gw = gateway(&primary.url(), &slow.url(), ", max_in_flight: 1").await;
    assert_eq!(gw.get("/items/1").await.status(), 200);
    assert_eq!(gw.get("/items/2").await.status(), 200);
    assert_eq!(gw.get("/items/3").await.status(), 200);
    let route = gw.shadow_until("2 dropped", |r| r["dropped"] == 2).await;
    assert_eq!(route["compared"], 0);
    hold.add_permits(1);
    gw.shadow_until("the held one compared", |r| r["equal"] == 1)
        .await;
    assert_eq!(slow.gets(), 1);
}
