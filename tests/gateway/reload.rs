//! Every reload path swaps the table; an invalid file changes nothing but the record of
//! it; a request in flight finishes on the table it started with.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use secrecy::SecretString;

use crate::support::{DELAY, Gateway, Options, Upstreams, client, serve_file, signal, version_of};

fn to(upstream: &str) -> String {
    format!(
        "upstreams:
  users: {{url: 'http://127.0.0.1:8081'}}
  monolith: {{url: 'http://127.0.0.1:8085'}}
routes:
  - {{path: '/users/{{id}}', to: {upstream}}}
"
    )
}

/// Sends SIGHUP to this test process (the gateway under test runs in it).
pub(crate) fn sighup() {
    signal(std::process::id(), "HUP");
}

/// Replaces `file` by writing a sibling and renaming it over, as editors and tools do.
pub(crate) fn write_atomically(file: &Path, text: &str) {
    let tmp = file.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

async fn served_by(gateway: &Gateway) -> String {
    let response = gateway.get("/users/1").await;
    assert_eq!(response.status(), 200);
    response.headers()["x-upstream"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_plain_write_an_atomic_rename_sighup_and_the_admin_api_each_swap_the_table() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(&to("users"), upstreams.overrides()).await;
    assert_eq!(served_by(&gateway).await, "users");

    // A plain write, seen by the watcher.
    let text = to("monolith");
    std::fs::write(&gateway.file, &text).unwrap();
    let routes = gateway.wait_for_version(&version_of(&text)).await;
    assert_eq!(routes["trigger"], "file");
    assert_eq!(served_by(&gateway).await, "monolith");

    // An atomic rename over the file, seen by the watcher.
    let text = to("users");
    write_atomically(&gateway.file, &text);
    gateway.wait_for_version(&version_of(&text)).await;
    assert_eq!(served_by(&gateway).await, "users");

    // SIGHUP and the admin API, with the watcher off so they alone can swap.
    let quiet = Gateway::start_with(
        &to("users"),
        upstreams.overrides(),
        Options {
            watch: false,
            sighup: true,
            ..Options::default()
        },
    )
    .await;
    let text = to("monolith");
    std::fs::write(&quiet.file, &text).unwrap();
    sighup();
    let routes = quiet.wait_for_version(&version_of(&text)).await;
    assert_eq!(routes["trigger"], "sighup");
    assert_eq!(served_by(&quiet).await, "monolith");

    let text = format!("{}# admin\n", to("users"));
    std::fs::write(&quiet.file, &text).unwrap();
    let response = quiet.reload().await;
    assert_eq!(response.status(), 200);
    let reloaded: serde_json::Value = response.json().await.unwrap();
    assert_eq!(reloaded["version"], version_of(&text));
    assert_eq!(reloaded["changed"], true);
    assert_eq!(quiet.routes().await["trigger"], "admin");
    assert_eq!(served_by(&quiet).await, "users");
    // Reloading an unchanged file swaps nothing.
    let response = quiet.reload().await;
    let reloaded: serde_json::Value = response.json().await.unwrap();
    assert_eq!(reloaded["changed"], false);
}

#[tokio::test]
async fn a_kubernetes_configmap_symlink_swap_is_seen() {
    // The layout kubelet mounts: routes.yaml -> ..data/routes.yaml, ..data -> ..v1; an
    // update writes ..v2, points ..data_tmp at it and renames ..data_tmp over ..data.
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("..v1")).unwrap();
    std::fs::write(root.join("..v1/routes.yaml"), to("users")).unwrap();
    std::os::unix::fs::symlink("..v1", root.join("..data")).unwrap();
    std::os::unix::fs::symlink("..data/routes.yaml", root.join("routes.yaml")).unwrap();
    let options = Options {
        watch: true,
        sighup: false,
        ..Options::default()
    };
    let running = serve_file(
        root.join("routes.yaml"),
        upstreams.overrides(),
        None,
        options,
    )
    .await;
    let http = client();
    let get = || http.get(format!("http://{}/users/1", running.addr)).send();
    assert_eq!(get().await.unwrap().headers()["x-upstream"], "users");

    let text = to("monolith");
    std::fs::create_dir(root.join("..v2")).unwrap();
    std::fs::write(root.join("..v2/routes.yaml"), &text).unwrap();
    std::os::unix::fs::symlink("..v2", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(root.join("..v1")).unwrap();

    let want = version_of(&text);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running.reloader.current().version != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the symlink swap was not seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(get().await.unwrap().headers()["x-upstream"], "monolith");
    running.stop().await;
}

#[tokio::test]
async fn an_invalid_file_under_load_is_rejected_and_the_old_table_keeps_serving() {
    let upstreams = Upstreams::start().await;
    let good = to("users");
    let gateway = Arc::new(Gateway::start(&good, upstreams.overrides()).await);
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (gateway, stop) = (Arc::clone(&gateway), Arc::clone(&stop));
        clients.push(tokio::spawn(async move {
            let mut served = 0;
            while !stop.load(Ordering::SeqCst) && served < 100_000 {
                let response = gateway.get("/users/1").await;
                assert_eq!(response.status(), 200);
                assert_eq!(response.headers()["x-upstream"], "users");
                served += 1;
            }
            served
        }));
    }
    let bad = "upstreams:
  users: {url: 'http://127.0.0.1:8081'}
routes:
  - {path: '/users/{id}', to: nobody}
  - {path: '/users/{id}', split: {users: 0}}
";
    std::fs::write(&gateway.file, bad).unwrap();
    // The watcher records the rejection; poll until it has.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let routes = loop {
        let routes = gateway.routes().await;
        if routes["last_rejected"]["version"] == version_of(bad) {
            break routes;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rejection recorded: {routes}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(routes["version"], version_of(&good));
    let errors = routes["last_rejected"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert_eq!(errors[0]["line"], 4);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("unknown upstream `nobody`")
    );
    // The admin API says the same, as a 422 problem listing every error.
    let response = gateway.reload().await;
    assert_eq!(response.status(), 422);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "routes-rejected");
    let listed = problem["errors"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    stop.store(true, Ordering::SeqCst);
    let mut total = 0;
    for c in clients {
        total += c.await.unwrap();
    }
    assert!(total > 0);
    assert_eq!(gateway.routes().await["version"], version_of(&good));
}

#[tokio::test]
async fn a_request_in_flight_finishes_on_the_table_it_started_with() {
    let upstreams = Upstreams::start().await;
    let gateway = Arc::new(
        Gateway::start_with(
            &to("users"),
            upstreams.overrides(),
            Options {
                watch: false,
                sighup: false,
                ..Options::default()
            },
        )
        .await,
    );
    let slow = {
        let gateway = Arc::clone(&gateway);
        tokio::spawn(async move {
            gateway
                .http
                .get(gateway.url("/users/1"))
                .header(DELAY, "400")
                .send()
                .await
                .unwrap()
        })
    };
    // Swap only once the slow request has reached its upstream.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while upstreams.get("users").requests() == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    std::fs::write(&gateway.file, to("monolith")).unwrap();
    let response = gateway.reload().await;
    assert_eq!(response.status(), 200);
    assert_eq!(served_by(&gateway).await, "monolith");
    let slow = slow.await.unwrap();
    assert_eq!(slow.status(), 200);
    assert_eq!(slow.headers()["x-upstream"], "users");
}

#[tokio::test]
async fn the_admin_api_takes_a_bearer_token_when_configured() {
    let upstreams = Upstreams::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.yaml");
    std::fs::write(&file, to("users")).unwrap();
    let options = Options {
        watch: false,
        sighup: false,
        ..Options::default()
    };
    let token = Some(SecretString::from("s3cret"));
    let running = serve_file(file, upstreams.overrides(), token, options).await;
    let http = client();
    let url = format!("http://{}/admin/routes", running.admin_addr);
    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let response = http.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = http
        .post(format!("http://{}/admin/reload", running.admin_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let shadow = format!("http://{}/admin/shadow", running.admin_addr);
    let response = http.get(&shadow).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = http
        .get(&shadow)
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let response = http.get(&url).bearer_auth("s3cret").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let routes: serde_json::Value = response.json().await.unwrap();
    assert_eq!(routes["routes"][0]["pattern"], "/users/{id}");
    assert_eq!(routes["routes"][0]["to"]["users"], 1);
    assert!(routes["loaded_at"].as_str().unwrap().ends_with('Z'));
    assert!(routes["last_rejected"].is_null());
    running.stop().await;
}

#[tokio::test]
async fn an_empty_file_is_a_write_in_progress_to_the_watcher_and_an_error_to_the_admin_api() {
    let upstreams = Upstreams::start().await;
    let gateway = Gateway::start(&to("users"), upstreams.overrides()).await;
    std::fs::write(&gateway.file, "").unwrap();
    let response = gateway.reload().await;
    assert_eq!(response.status(), 422);
    let routes = gateway.routes().await;
    assert_eq!(routes["last_rejected"]["trigger"], "admin");
    assert_eq!(routes["last_rejected"]["version"], version_of(""));
    // The writer finishes; the watcher loads the result, and the only refusal on record
    // is still the admin API's.
    let text = to("monolith");
    std::fs::write(&gateway.file, &text).unwrap();
    let routes = gateway.wait_for_version(&version_of(&text)).await;
    assert_eq!(routes["trigger"], "file");
    assert_eq!(routes["last_rejected"]["trigger"], "admin");
    assert_eq!(served_by(&gateway).await, "monolith");
}
