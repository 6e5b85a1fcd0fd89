use serde_json::json;

use super::*;
use crate::table::{Overrides, parse};

fn table(routes: &str) -> RouteTable {
    let text = format!(
        "upstreams:
  users: {{url: 'http://127.0.0.1:8081'}}
  messages: {{url: 'http://127.0.0.1:8083'}}
  monolith: {{url: 'http://127.0.0.1:8085'}}
  stub: {{url: 'http://127.0.0.1:8086'}}
routes:
{routes}"
    );
    match parse(&text, &Overrides::default()) {
        Ok(loaded) => loaded.table,
        Err(errors) => panic!("{errors}"),
    }
}

fn operation(id: &str, schema: &str) -> Value {
    json!({
        "operationId": id,
        "tags": ["things"],
        "responses": {
            "200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": format!("#/components/schemas/{schema}")}}}},
        },
    })
}

fn problem() -> Value {
    json!({"type": "object", "properties": {"status": {"type": "integer"}}})
}

/// A users spec and a monolith spec that serves the same plus `/messages/…`.
fn specs() -> Vec<(&'static str, Value)> {
    let users = json!({
        "openapi": "3.1.0",
        "paths": {
            "/users/{id}": {"get": operation("getUser", "User"),
                            "delete": operation("deleteUser", "User")},
        },
        "components": {"schemas": {
            "User": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/UserId"}}},
            "UserId": {"type": "integer", "minimum": 1},
            "Unused": {"type": "string"},
            "Problem": problem(),
        }},
        "tags": [{"name": "things", "description": "from users"}],
    });
    let monolith = json!({
        "openapi": "3.1.0",
        "paths": {
            "/users/{id}": {"get": operation("getUser", "User"),
                            "delete": operation("deleteUser", "User")},
            "/messages/latest": {"get": operation("listLatestMessages", "Latest")},
            "/messages/{id}": {"get": operation("getMessage", "Latest")},
        },
        "components": {"schemas": {
            "User": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/UserId"}}},
            "UserId": {"type": "integer", "minimum": 1},
            "Latest": {"type": "array"},
            "Problem": problem(),
        }},
        "tags": [{"name": "things", "description": "from the monolith"}],
    });
    vec![("users", users), ("monolith", monolith)]
}

fn upstream_of(spec: &Value, path: &str, method: &str) -> Option<String> {
    spec["paths"][path][method]["x-upstream"]
        .as_str()
        .map(str::to_owned)
}

#[test]
fn each_operation_comes_from_the_upstream_its_route_targets() {
    let table = table(
        "  - {path: '/users/{id}', methods: [GET], to: users}
  - {prefix: '/', to: monolith}",
    );
    let merged = merge(&table, &specs());
    assert_eq!(
        upstream_of(&merged, "/users/{id}", "get").as_deref(),
        Some("users")
    );
    // DELETE is not on the users route: the monolith behind `prefix: /` serves it.
    assert_eq!(
        upstream_of(&merged, "/users/{id}", "delete").as_deref(),
        Some("monolith")
    );
    // `latest` is a literal in the spec and a value of `{id}` to the router: both resolve.
    assert_eq!(
        upstream_of(&merged, "/messages/latest", "get").as_deref(),
        Some("monolith")
    );
    assert_eq!(
        merged["paths"]["/users/{id}"]["get"]["operationId"],
        "getUser"
    );
}

#[test]
fn paths_no_route_exposes_are_left_out() {
    let table = table("  - {path: '/users/{id}', to: users}");
    let merged = merge(&table, &specs());
    let paths: Vec<&String> = merged["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/users/{id}"]);
    assert_eq!(
        merged["paths"]["/users/{id}"]["delete"]["x-upstream"],
        "users"
    );
}

#[test]
fn an_upstream_without_a_spec_contributes_nothing() {
    let table = table("  - {prefix: '/', to: stub}");
    let merged = merge(&table, &specs());
    assert_eq!(merged["paths"], json!({}));
    assert!(merged.get("components").is_none());
}

#[test]
fn a_split_takes_the_heaviest_side_and_names_every_side() {
    let table = table(
        "  - path: '/users/{id}'
    split: {users: 1, monolith: 9}
  - {prefix: '/', to: stub}",
    );
    let merged = merge(&table, &specs());
    let get = &merged["paths"]["/users/{id}"]["get"];
    assert_eq!(get["x-upstream"], "monolith");
    assert_eq!(get["x-split"], json!({"monolith": 9, "users": 1}));
    // The tag is described by the spec the operation came from.
    assert_eq!(merged["tags"][0]["description"], "from the monolith");
}

#[test]
fn a_split_side_without_the_operation_is_passed_over() {
    let table = table(
        "  - path: '/messages/{id}'
    split: {users: 9, monolith: 1}",
    );
    let merged = merge(&table, &specs());
    assert_eq!(
        merged["paths"]["/messages/{id}"]["get"]["x-upstream"],
        "monolith"
    );
}

#[test]
fn referenced_components_come_along_transitively_and_only_those() {
    let table = table("  - {path: '/users/{id}', methods: [GET], to: users}");
    let merged = merge(&table, &specs());
    let schemas: Vec<&String> = merged["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(schemas, ["Problem", "User", "UserId"]);
}

#[test]
fn every_operation_documents_the_gateways_own_answers() {
    let table = table("  - {prefix: '/', to: monolith}");
    let merged = merge(&table, &specs());
    for (path, item) in merged["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in ["431", "502"] {
                let response = &op["responses"][status];
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{status} of {method} {path}"
                );
            }
        }
    }
}

#[test]
fn sample_paths_fill_parameters_only() {
    assert_eq!(
        sample_path("/users/{id}/friends/{friend_id}"),
        "/users/1/friends/1"
    );
    assert_eq!(sample_path("/messages/latest"), "/messages/latest");
    assert_eq!(sample_path("/"), "/");
}

#[test]
fn component_refs_name_kind_and_name() {
    assert_eq!(
        component_ref("#/components/schemas/User"),
        Some(("schemas", "User"))
    );
    assert_eq!(component_ref("#/components/schemas/a/b"), None);
    assert_eq!(component_ref("other.json#/User"), None);
}
