//! The OpenAPI specs as client teams use them: the checked-in files match the code, are
//! complete enough to generate an SDK from, and the gateway serves the merged spec of its
//! active table (rebuilt on every swap) and its admin spec.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway::openapi::{self, compare, merge::METHODS};
use gateway::startup::{Running, ServeConfig};
use gateway::table::Overrides;
use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spec_dir() -> PathBuf {
    root().join("openapi")
}

/// Every checked-in spec, parsed, by file stem.
fn checked_in() -> Vec<(String, Value)> {
    let mut specs: Vec<(String, Value)> = std::fs::read_dir(spec_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap();
            let spec = serde_json::from_str(&text)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            (name, spec)
        })
        .collect();
    specs.sort_by(|a, b| a.0.cmp(&b.0));
    specs
}

/// Each operation of `spec` as `(path, method, operation)`.
fn operations(spec: &Value) -> Vec<(&str, &str, &Value)> {
    let mut found = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                found.push((path.as_str(), method, op));
            }
        }
    }
    found
}

// === the checked-in files ===

#[test]
fn checked_in_specs_match_the_code() {
    let specs = gateway::specs::generate(&root().join("routes.yaml")).unwrap();
    let stale = openapi::check(&spec_dir(), &specs);
    assert!(stale.is_empty(), "\n{}", openapi::stale_report(&stale));
    let mut names: Vec<&str> = specs.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    let on_disk: Vec<String> = checked_in().into_iter().map(|(name, _)| name).collect();
    assert_eq!(names, on_disk, "every file in openapi/ is generated");
}

#[test]
fn the_check_names_a_stale_file_and_the_command_that_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let specs = vec![("users".to_owned(), json!({"openapi": "3.1.0"}))];
    openapi::write(dir.path(), &specs).unwrap();
    assert_eq!(openapi::check(dir.path(), &specs), []);
    let changed = vec![("users".to_owned(), json!({"openapi": "3.1.1"}))];
    let stale = openapi::check(dir.path(), &changed);
    assert_eq!(stale.len(), 1);
    let report = openapi::stale_report(&stale);
    assert!(report.contains("users.json: differs at line 2"), "{report}");
    assert!(report.contains(openapi::REGENERATE), "{report}");
    let missing = vec![("friends".to_owned(), json!({}))];
    assert_eq!(openapi::check(dir.path(), &missing)[0].why, "missing");
}

#[test]
fn every_operation_is_complete_for_sdk_generation() {
    for (name, spec) in checked_in() {
        let defined_tags: Vec<&Value> = spec["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| &t["name"])
            .collect();
        assert!(
            spec["servers"].as_array().is_some_and(|s| !s.is_empty()),
            "{name}: servers"
        );
        assert!(spec["info"]["description"].is_string(), "{name}: info");
        let mut ids = Vec::new();
        for (path, method, op) in operations(&spec) {
            let here = format!("{name}: {} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(
                id.len() > 2
                    && id.starts_with(|c: char| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric()),
                "{here}: operationId `{id}` is not camelCase"
            );
            ids.push(id);
            assert!(op["summary"].is_string(), "{here}: summary");
            let tags = op["tags"].as_array().unwrap();
            assert!(!tags.is_empty(), "{here}: tags");
            assert!(
                tags.iter().all(|t| defined_tags.contains(&t)),
                "{here}: undefined tag"
            );
            // The feeds' own parameters (a position, a duration) are not the ids and counts
            // of the public API, and no SDK is generated for them.
            if !openapi::merge::is_internal(op) {
                check_parameters(&spec, &here, op);
            }
            check_responses(&spec, &here, op);
            if let Some(body) = op.get("requestBody") {
                assert_eq!(body["required"], true, "{here}: body required");
                assert!(
                    body["content"]["application/json"]["schema"].is_object(),
                    "{here}: JSON body schema"
                );
            }
        }
        let mut unique = ids.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "{name}: operationIds are unique");
    }
}

fn check_parameters(spec: &Value, here: &str, op: &Value) {
    for parameter in op["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap();
        let schema = compare::resolve(spec, &parameter["schema"], 0);
        let at = format!("{here}: parameter `{name}`");
        assert!(parameter["description"].is_string(), "{at}: description");
        match (parameter["in"].as_str().unwrap(), schema["type"].as_str()) {
            // Every path parameter is an id: a positive int64.
            ("path", kind) => {
                assert_eq!(parameter["required"], true, "{at}");
                assert_eq!(kind, Some("integer"), "{at}");
                assert_eq!(schema["format"], "int64", "{at}");
                assert_eq!(schema["minimum"], 1, "{at}");
            }
            ("query", Some("array")) => {
                assert!(schema["maxItems"].is_u64(), "{at}: maxItems");
                assert!(schema["minItems"].is_u64(), "{at}: minItems");
                assert_eq!(parameter["style"], "form", "{at}");
                assert_eq!(parameter["explode"], false, "{at}");
                let items = compare::resolve(spec, &schema["items"], 0);
                assert_eq!(items["minimum"], 1, "{at}: item ids");
            }
            ("query", Some("integer")) => {
                assert!(schema["minimum"].is_number(), "{at}: minimum");
                assert!(schema["maximum"].is_number(), "{at}: maximum");
            }
            // Conditional requests: an optional string an SDK passes through.
            ("header", Some("string")) => {
                assert_eq!(name, "If-None-Match", "{at}");
                assert_ne!(parameter["required"], true, "{at}");
            }
            (place, kind) => panic!("{at}: unexpected {place} parameter of type {kind:?}"),
        }
    }
}

fn check_responses(spec: &Value, here: &str, op: &Value) {
    let responses = op["responses"].as_object().unwrap();
    assert!(
        responses.keys().any(|s| s.starts_with('2')),
        "{here}: a success response"
    );
    for status in ["500", "503", "504"] {
        assert!(responses.contains_key(status), "{here}: {status}");
    }
    for (status, response) in responses {
        let response = compare::resolve(spec, response, 0);
        assert!(response["description"].is_string(), "{here}: {status}");
        if status.starts_with(['4', '5']) {
            let content = response["content"].as_object().unwrap();
            assert_eq!(
                content.keys().collect::<Vec<_>>(),
                ["application/problem+json"],
                "{here}: {status} is problem+json"
            );
            let schema = compare::resolve(spec, &content["application/problem+json"]["schema"], 0);
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(
                required,
                ["type", "title", "status", "code"],
                "{here}: {status}"
            );
        } else if status != "204" && status != "304" {
            // 204 and 304 have no body.
            let content = response["content"].as_object().unwrap();
            assert!(
                content.values().all(|media| media["schema"].is_object()),
                "{here}: {status} has a schema"
            );
        }
    }
}

#[test]
fn a_schema_name_means_one_schema_in_every_spec() {
    let specs: Vec<(&str, Value)> = openapi::embedded()
        .iter()
        .map(|(name, spec)| (*name, spec.clone()))
        .collect();
    let conflicts = compare::component_conflicts(&specs);
    assert!(conflicts.is_empty(), "{conflicts:#?}");
}

// === the gateway's merged spec ===

/// The checked-in spec of upstream `name`, as compiled into the gateway.
fn embedded(name: &str) -> &'static Value {
    openapi::embedded()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, spec)| spec)
        .unwrap()
}

#[test]
fn the_merged_spec_declares_the_bearer_scheme_on_what_routes_yaml_protects() {
    let gateway = checked_in()
        .into_iter()
        .find(|(name, _)| name == openapi::GATEWAY)
        .unwrap()
        .1;
    let scheme = &gateway["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    let bearer = json!([{"bearerAuth": []}]);
    // Owner routes get the gateway's 403; the messages routes the services' own (author).
    for (method, path) in [
        ("get", "/timeline/{user_id}"),
        ("patch", "/users/{id}"),
        ("delete", "/users/{id}"),
        ("put", "/users/{id}/friends/{friend_id}"),
        ("delete", "/users/{id}/friends/{friend_id}"),
        ("post", "/messages"),
        ("delete", "/messages/{id}"),
    ] {
        let op = &gateway["paths"][path][method];
        assert_eq!(op["security"], bearer, "{method} {path}");
        assert!(!op["responses"]["401"].is_null(), "{method} {path}");
        assert!(!op["responses"]["403"].is_null(), "{method} {path}");
    }
    assert!(!gateway["paths"]["/messages"]["post"]["responses"]["429"].is_null());
    for (method, path) in [
        ("post", "/users"),
        ("get", "/users"),
        ("get", "/users/{id}"),
        ("get", "/users/{id}/friends"),
        ("get", "/messages/{id}"),
        ("get", "/messages/latest"),
        ("get", "/users/{id}/messages"),
    ] {
        let op = &gateway["paths"][path][method];
        assert!(!op.is_null(), "{method} {path}");
        assert!(op["security"].is_null(), "{method} {path} is public");
        assert!(op["responses"]["401"].is_null(), "{method} {path}");
    }
}

#[test]
fn the_merged_spec_lists_each_operation_of_its_table_from_the_upstream_it_targets() {
    let gateway = checked_in()
        .into_iter()
        .find(|(name, _)| name == openapi::GATEWAY)
        .unwrap()
        .1;
    let monolith = embedded("monolith");
    let mut listed = 0;
    for (upstream, spec) in openapi::embedded() {
        for (path, method, op) in operations(spec) {
            let at = format!("{upstream}: {} {path}", method.to_uppercase());
            let merged = &gateway["paths"][path][method];
            if openapi::merge::is_internal(op) {
                assert!(merged.is_null(), "{at}: a feed operation is not offered");
                continue;
            }
            // routes.yaml sends each resource to its service, and everything else (the
            // probes) to the monolith behind `prefix: /`.
            let (source, expected) = if ["/healthz", "/readyz", "/metrics"].contains(&path) {
                let theirs = &monolith["paths"][path][method];
                if theirs.is_null() || openapi::merge::is_internal(theirs) {
                    assert!(merged.is_null(), "{at}: no upstream of it has it");
                    continue;
                }
                ("monolith", monolith)
            } else if *upstream == "monolith" {
                continue;
            } else {
                (*upstream, spec)
            };
            assert_eq!(merged["x-upstream"], json!(source), "{at}");
            assert_eq!(merged["operationId"], op["operationId"], "{at}");
            // The merged operation adds the gateway's own answers (431, 502), on a route with
            // `auth` those of the edge (401, 403, 429, 503), and nothing else.
            let secured = !merged["security"].is_null();
            let differences: Vec<String> =
                compare::compare_operation(expected, &gateway, path, method)
                    .into_iter()
                    .filter(|d| d.at != "responses.431" && d.at != "responses.502")
                    .filter(|d| {
                        !(secured
                            && [
                                "responses.401",
                                "responses.403",
                                "responses.429",
                                "responses.503",
                            ]
                            .contains(&d.at.as_str()))
                    })
                    .map(|d| d.to_string())
                    .collect();
            assert_eq!(differences, Vec::<String>::new(), "{at}");
            listed += 1;
        }
    }
    assert_eq!(
        listed,
        operations(&gateway).len() + 2 * 4,
        "every merged operation is one of theirs"
    );
}

#[test]
fn every_migration_phase_exposes_the_same_contract() {
    let phases = root().join("load/phases");
    let last = merged_spec(&root().join("routes.yaml"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&phases)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let phase = merged_spec(&file);
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let ids = |spec: &Value| -> Vec<String> {
            operations(spec)
                .into_iter()
                .map(|(path, method, op)| format!("{method} {path} {}", op["operationId"]))
                .collect()
        };
        assert_eq!(ids(&phase), ids(&last), "{name}: the operations");
        let differences: Vec<String> = compare::compare_shared(&phase, &last)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(differences, Vec::<String>::new(), "{name}");
    }
}

/// The merged spec the gateway serves for the routes file `file`.
fn merged_spec(file: &Path) -> Value {
    let loaded = gateway::table::load_file(file, &Overrides::default()).unwrap();
    openapi::merge(&loaded.table, openapi::embedded())
}

// === the monolith and the services ===

#[test]
fn the_monolith_agrees_with_the_services_on_every_shared_operation() {
    let monolith = embedded("monolith");
    let mut shared = 0;
    for service in ["users", "friends", "messages", "timeline"] {
        let spec = embedded(service);
        let operations = compare::shared_operations(spec, monolith);
        let differences: Vec<String> = compare::compare_shared(spec, monolith)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(differences, Vec::<String>::new(), "{service} vs monolith");
        // Every operation of the service is one the monolith serves (the probes included).
        assert_eq!(
            operations.len(),
            self::operations(spec)
                .iter()
                .filter(|(_, _, op)| !openapi::merge::is_internal(op))
                .count()
                // The timeline's /metrics is not the monolith's (which belongs to its feed).
                - usize::from(service == "timeline"),
            "{service}: operations the monolith lacks"
        );
        shared += operations.len();
    }
    assert!(shared > 20, "{shared} shared operations");
}

struct Gateway {
    running: Running,
    file: PathBuf,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl Gateway {
    async fn start(routes: &Path) -> Self {
        kit::test_util::init_tracing();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("routes.yaml");
        std::fs::copy(routes, &file).unwrap();
        let running = gateway::startup::start(ServeConfig {
            routes: file.clone(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            overrides: Overrides::default(),
            watch: false,
            sighup: false,
            shutdown_grace: Duration::from_secs(5),
            workers: 1,
            max_concurrent_requests: 1024,
        })
        .await
        .unwrap();
        Self {
            running,
            file,
            _dir: dir,
            http: reqwest::Client::new(),
        }
    }

    async fn get(&self, addr: SocketAddr, path: &str) -> reqwest::Response {
        self.http
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap()
    }

    async fn spec(&self) -> Value {
        let response = self.get(self.running.addr, openapi::PATH).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

#[tokio::test]
async fn the_gateway_serves_the_merged_spec_of_routes_yaml_as_checked_in() {
    let gateway = Gateway::start(&root().join("routes.yaml")).await;
    let response = gateway.get(gateway.running.addr, openapi::PATH).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let served = response.text().await.unwrap();
    // The checked-in file as served: the same bytes but for a relative `servers` entry,
    // so clients call the address they read it from.
    let mut checked_in: Value =
        serde_json::from_str(&std::fs::read_to_string(spec_dir().join("gateway.json")).unwrap())
            .unwrap();
    assert_eq!(checked_in["servers"][0]["url"], "http://127.0.0.1:8080");
    openapi::serve_relative(&mut checked_in);
    assert!(
        served == openapi::render(&checked_in),
        "the served spec differs from gateway.json"
    );
    let served: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(served["servers"][0]["url"], "/");

    // The path is the gateway's own, whatever the table routes `/` to.
    let response = gateway
        .http
        .post(format!("http://{}{}", gateway.running.addr, openapi::PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    gateway.running.stop().await;
}

#[tokio::test]
async fn the_merged_spec_follows_every_table_swap() {
    let phases = root().join("load/phases");
    let gateway = Gateway::start(&phases.join("1-users.yaml")).await;
    let before = gateway.spec().await;
    assert_eq!(before["paths"]["/users/{id}"]["get"]["x-upstream"], "users");
    assert_ne!(
        before["paths"]["/users/{id}/friends"]["get"]["x-upstream"],
        "friends"
    );

    std::fs::copy(phases.join("2-friends.yaml"), &gateway.file).unwrap();
    let reloaded = gateway
        .http
        .post(format!(
            "http://{}/admin/reload",
            gateway.running.admin_addr
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(reloaded.status(), 200);
    let after = gateway.spec().await;
    assert_eq!(
        after["paths"]["/users/{id}/friends"]["get"]["x-upstream"],
        "friends"
    );
    assert_eq!(
        after["paths"]["/users/{id}/friends"]["get"]["operationId"],
        "listFriends"
    );
    assert_eq!(after["paths"]["/users/{id}"]["get"]["x-upstream"], "users");
    gateway.running.stop().await;
}

#[tokio::test]
async fn the_admin_listener_serves_its_spec_and_swagger_ui() {
    let gateway = Gateway::start(&root().join("routes.yaml")).await;
    let admin = gateway.running.admin_addr;
    let response = gateway.get(admin, openapi::PATH).await;
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    let mut checked_in: Value = serde_json::from_str(
        &std::fs::read_to_string(spec_dir().join("gateway-admin.json")).unwrap(),
    )
    .unwrap();
    openapi::serve_relative(&mut checked_in);
    assert_eq!(served, checked_in);

    // Swagger UI (kit's, as on every service) works offline: every asset is served by the
    // listener itself, and it loads this listener's spec.
    let response = gateway.get(admin, "/docs/").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let assets: Vec<&str> = page
        .split(['"', '\''])
        .filter(|s| s.ends_with(".js") || s.ends_with(".css") || s.ends_with(".png"))
        .collect();
    assert!(assets.len() >= 5, "{page}");
    for asset in assets {
        assert!(
            !asset.contains("//"),
            "{asset} is not served by the listener"
        );
        let path = format!("/docs/{}", asset.trim_start_matches("./"));
        let response = gateway.get(admin, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        let body = response.text().await.unwrap_or_default();
        if path.ends_with("swagger-initializer.js") {
            assert!(body.contains(r#""url": "/openapi.json""#), "{body}");
        }
    }
    gateway.running.stop().await;
}
