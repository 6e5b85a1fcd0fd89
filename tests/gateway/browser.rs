//! What a person sees in a real browser (headless Chromium driven by playwright-core, the
//! scripts in tests/browser): the migration page listing the routes, the version, a
//! request rate after traffic, the shadow comparisons (an equality rate, a difference
//! with its pointer) and the replication lag of each side's followers; Swagger UI's "Try it out" answered by the server it runs on.
//!
//! Without Chromium (`/usr/bin/chromium`, or `CHROMIUM`) these tests say so and pass,
//! unless `CI` is set: there they must run. `npm ci` installs playwright-core.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_json::Value;

use crate::support::{Options, Upstreams, serve_file, version_of};

/// The Chromium to drive, or `None` (with the reason printed) when the test cannot run
/// here; in CI a missing browser fails the test instead.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but Chromium is missing at {} (apt-get install -y chromium)",
        path.display()
    );
    eprintln!(
        "SKIPPED: no Chromium at {} (apt-get install -y chromium, or set CHROMIUM); CI is not set",
        path.display()
    );
    None
}

/// Runs `node tests/browser/SCRIPT ARGS…` and returns the JSON line it prints.
async fn run(chromium: &Path, script: &str, args: &[&str]) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci` at the repository root"
    );
    let output = tokio::process::Command::new("node")
        .arg(root.join("tests/browser").join(script))
        .args(args)
        .env("CHROMIUM", chromium)
        .current_dir(root)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{script} printed {stdout:?}: {e}"))
}

const ROUTES: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  monolith: {url: 'http://127.0.0.1:8085'}
routes:
  - {path: '/users/{id}', to: users}
  - {path: '/users/{id}/friends', split: {friends: 90, monolith: 10}, sticky: {param: id}}
  - {prefix: /, to: monolith}
";

/// [`ROUTES`] with shadows: `/users/{id}` copied to the monolith and compared with the
/// stubs' own name and the forwarded headers ignored (equal), `/` copied to users with only
/// the headers ignored (different at `/upstream`).
const SHADOWED: &str = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
  friends: {url: 'http://127.0.0.1:8082'}
  monolith: {url: 'http://127.0.0.1:8085'}
routes:
  - {path: '/users/{id}', to: users, shadow: {to: monolith, noise_sample: 0, ignore: [/upstream, /headers]}}
  - {path: '/users/{id}/friends', split: {friends: 90, monolith: 10}, sticky: {param: id}}
  - {prefix: /, to: monolith, shadow: {to: users, noise_sample: 0, ignore: [/headers]}}
";

/// A side that keeps a feed and follows the monolith's, 30 events and 4.5 s behind: its
/// `GET /feeds` as the services serve it; anything else answers 404.
async fn lagging_side() -> String {
    let feeds = serde_json::json!({
        "source": "friends",
        "head": 120,
        "followers": [{
            "consumer": "friends-from-monolith",
            "source": "monolith",
            "transport": "http",
            "position": 100,
            "head": 130,
            "lag_events": 30,
            "lag_seconds": 4.5,
            "connected": true,
            "replays": 0
        }]
    });
    let app = axum::Router::new().route(
        "/feeds",
        axum::routing::get(move || {
            let feeds = feeds.clone();
            async move { axum::Json(feeds) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn the_migration_page_shows_the_routes_the_version_a_rate_shadow_results_and_replication() {
    let Some(chromium) = chromium() else { return };
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.yaml");
    std::fs::write(&file, SHADOWED).unwrap();
    // The friends side keeps a feed and lags the monolith's; the other stubs keep none.
    let overrides = upstreams.overrides().with("friends", lagging_side().await);
    let options = Options {
        watch: false,
        sighup: false,
        ..Options::default()
    };
    let token = Some(SecretString::from("s3cret"));
    let running = serve_file(file, overrides, token, options).await;
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("migration-page.png");
    let admin = format!("http://{}", running.admin_addr);
    let proxy = format!("http://{}", running.addr);
    let shown = run(
        &chromium,
        "migration-page.mjs",
        &[
            &admin,
            &proxy,
            "s3cret",
            "/users/{id}",
            "users",
            &screenshot.to_string_lossy(),
        ],
    )
    .await;
    assert_eq!(shown["asked_for_token"], "waiting for the admin token");
    assert_eq!(shown["version"], version_of(SHADOWED));
    assert_eq!(
        shown["routes"],
        serde_json::json!(["/users/{id}", "/users/{id}/friends", "/"])
    );
    assert_eq!(
        shown["sides"],
        serde_json::json!([
            "/users/{id} users",
            "/users/{id}/friends friends",
            "/users/{id}/friends monolith",
            "/ monolith"
        ])
    );
    let rate: f64 = shown["rate"].as_str().unwrap().parse().unwrap();
    assert!(rate > 0.0, "{shown}");
    assert_eq!(shown["errors"], "0.0%");
    assert!(shown["total"].as_str().unwrap().parse::<u64>().unwrap() > 0);
    assert_eq!(shown["rejected_hidden"], true);
    // Alike answers read as an equality rate; the deliberately different ones are listed
    // with the pointer that differs.
    assert_eq!(shown["equality"], "100.0% equal", "{shown}");
    let difference = shown["difference"].as_str().unwrap_or_default();
    assert!(
        difference.starts_with("GET /other/") && difference.contains("200/200 at /upstream"),
        "{shown}"
    );
    // Replication: the side with a feed, its head, the follower, what it applies, its
    // position of the source's head and its lag, marked as behind.
    assert_eq!(
        shown["replication"],
        serde_json::json!([{
            "cells": ["friends", "friends:120", "friends-from-monolith", "monolith",
                      "100 of 130", "30", "4.5", "yes"],
            "lagging": true
        }]),
        "{shown}"
    );
    assert_eq!(
        shown["no_feed"], "No feed read from: monolith, users.",
        "{shown}"
    );
    assert!(std::fs::metadata(&screenshot).unwrap().len() > 0);
    running.stop().await;
}

#[tokio::test]
async fn swagger_ui_try_it_out_calls_the_server_it_is_served_from() {
    let Some(chromium) = chromium() else { return };
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.yaml");
    std::fs::write(&file, ROUTES).unwrap();
    let options = Options {
        watch: false,
        sighup: false,
        ..Options::default()
    };
    // The admin listener serves its Swagger UI with kit's `ops::docs`, as every service
    // does, here on an ephemeral port: never the spec's default 8090.
    let running = serve_file(file, upstreams.overrides(), None, options).await;
    let base = format!("http://{}", running.admin_addr);
    let shown = run(
        &chromium,
        "swagger-try-it-out.mjs",
        &[&base, "ops", "getHealth"],
    )
    .await;
    assert_eq!(shown["status"], "200", "{shown}");
    assert!(
        shown["request_url"].as_str().unwrap().starts_with(&base),
        "{shown}"
    );
    running.stop().await;
}
