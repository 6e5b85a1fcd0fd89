//! Shadow traffic on the demo world: the gateway serves `GET /users/{id}` from the
//! monolith and copies each read to the users service, both in this process with the same
//! world. Every answer compares equal; a user changed on the users service alone shows up
//! at `/admin/shadow` as a difference at its JSON pointer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use gateway::startup::{Running, ServeConfig};
use gateway::table::Overrides;
use kit::cli::ServiceConfig as _;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const SPEC: &str = "users=40,friends=3,messages=2,seed=11";

/// Serves on an ephemeral port until `stop` is cancelled; returns the base URL.
async fn spawn<F, Fut>(stop: &CancellationToken, serve: F) -> String
where
    F: FnOnce(TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let listener = kit::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = serve(listener, stop.clone());
    tokio::spawn(async move { served.await.expect("server failed") });
    url
}

fn args(name: &str) -> Vec<String> {
    vec![
        name.to_owned(),
        "--listen=127.0.0.1:0".to_owned(),
        "--database=sqlite::memory:".to_owned(),
        format!("--demo={SPEC}"),
    ]
}

async fn gateway(monolith: &str, users: &str, dir: &tempfile::TempDir) -> Running {
    let file = dir.path().join("routes.yaml");
    std::fs::write(
        &file,
        "upstreams:
  users: {url: 'http://127.0.0.1:9'}
  monolith: {url: 'http://127.0.0.1:9'}
routes:
  - path: '/users/{id}'
    to: monolith
    shadow: {to: users, percent: 100, compare: true, ignore: ['/generated_at']}
  - prefix: /
    to: monolith
",
    )
    .unwrap();
    gateway::startup::start(ServeConfig {
        routes: file,
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin: SocketAddr::from(([127, 0, 0, 1], 0)),
        admin_token: None,
        overrides: Overrides::default()
            .with("monolith", monolith)
            .with("users", users),
        watch: false,
        sighup: false,
        shutdown_grace: Duration::from_secs(5),
        workers: 2,
        max_concurrent_requests: 256,
    })
    .await
    .unwrap()
}

/// Polls `/admin/shadow` until `done` holds of its one route (up to 5 s).
async fn shadow_until(
    http: &reqwest::Client,
    admin: SocketAddr,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let view: Value = http
            .get(format!("http://{admin}/admin/shadow"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let route = &view["routes"][0];
        if done(route) {
            return route.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never {what}: {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_users_service_answers_like_the_monolith_until_one_side_changes() {
    kit::test_util::init_tracing();
    let stop = CancellationToken::new();
    let monolith = spawn(&stop, |listener, stop| {
        let config = monolith::Config::try_from_args(args("monolith")).unwrap();
        monolith::serve(config, listener, async move { stop.cancelled().await })
    })
    .await;
    let users = spawn(&stop, |listener, stop| {
        let config = users::Config::try_from_args(args("users")).unwrap();
        users::serve(config, listener, async move { stop.cancelled().await })
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let running = gateway(&monolith, &users, &dir).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = |path: &str| format!("http://{}{path}", running.addr);

    for id in 1..=20 {
        let response = http.get(url(&format!("/users/{id}"))).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-upstream"], "monolith");
        assert_eq!(response.json::<Value>().await.unwrap()["id"], id);
    }
    let route = shadow_until(&http, running.admin_addr, "20 compared", |r| {
        r["compared"] == 20
    })
    .await;
    assert_eq!(route["route"], "/users/{id}");
    assert_eq!(route["upstream"], "monolith");
    assert_eq!(route["shadow"], "users");
    assert_eq!(
        route["equal"].as_u64().unwrap() + route["noise"].as_u64().unwrap(),
        20,
        "{route:#}"
    );
    assert_eq!(route["different"], 0, "{route:#}");
    assert_eq!(route["errors"], 0, "{route:#}");

    // The users service alone renames user 3 (straight on that upstream, past the gateway).
    let renamed = http
        .patch(format!("{users}/users/3"))
        .json(&json!({"name": "Renamed On One Side"}))
        .send()
        .await
        .unwrap();
    assert_eq!(renamed.status(), 200);
    let response = http.get(url("/users/3")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_ne!(
        response.json::<Value>().await.unwrap()["name"],
        "Renamed On One Side"
    );
    let route = shadow_until(&http, running.admin_addr, "a difference", |r| {
        r["different"] == 1
    })
    .await;
    let difference = &route["differences"][0];
    assert_eq!(difference["method"], "GET");
    assert_eq!(difference["path"], "/users/3");
    assert_eq!(difference["primary_status"], 200);
    assert_eq!(difference["shadow_status"], 200);
    assert_eq!(difference["pointers"], json!(["/name"]));

    running.stop().await;
    stop.cancel();
}
