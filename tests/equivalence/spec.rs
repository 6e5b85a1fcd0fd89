//! The monolith's OpenAPI description offers every operation of every service alike: same
//! path, method, operationId, tags, parameters (with their limits), request body and
//! success schema, and the same component schemas, descriptions and examples aside. Each
//! side's change feed (`/changes`, `/feeds`, tagged `feed`) is its own: a page of the
//! monolith's feed holds events of every entity, so only the schemas the other operations
//! use are compared.

use serde_json::{Map, Value};

/// `value` without prose (`description`, `summary`) and examples, at any depth.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .iter()
                .filter(|(key, _)| {
                    !matches!(
                        key.as_str(),
                        "description" | "summary" | "example" | "examples"
                    )
                })
                .map(|(key, value)| (key.clone(), shape(value)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        other => other.clone(),
    }
}

/// Every schema name `value` refers to, and those they refer to, in `spec`.
fn referenced(spec: &Value, value: &Value, names: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(object) => {
            for (key, item) in object {
                if key == "$ref" {
                    if let Some(name) = item
                        .as_str()
                        .and_then(|target| target.strip_prefix("#/components/schemas/"))
                        && names.insert(name.to_owned())
                    {
                        referenced(spec, &spec["components"]["schemas"][name], names);
                    }
                } else {
                    referenced(spec, item, names);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| referenced(spec, item, names)),
        _ => {}
    }
}

fn check(service: &str, spec: &Value, monolith: &Value) {
    let mut operations = 0;
    let mut used = std::collections::BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        if ["/healthz", "/readyz", "/metrics"].contains(&path.as_str()) {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            if operation["tags"]
                .as_array()
                .is_some_and(|t| t.contains(&"feed".into()))
            {
                continue;
            }
            let theirs = operation;
            referenced(spec, theirs, &mut used);
            let ours = &monolith["paths"][path][method];
            let at = format!("{service}: {method} {path}");
            assert!(ours.is_object(), "{at}: missing from the monolith");
            for key in ["operationId", "tags", "parameters", "requestBody"] {
                assert_eq!(shape(&ours[key]), shape(&theirs[key]), "{at}: {key}");
            }
            for (status, response) in theirs["responses"].as_object().unwrap() {
                let mine = &ours["responses"][status];
                assert!(mine.is_object(), "{at}: no {status} response");
                if status.starts_with('2') {
                    assert_eq!(shape(&mine["content"]), shape(&response["content"]), "{at}");
                }
            }
            operations += 1;
        }
    }
    assert!(operations >= 1, "{service} has operations");
    for (name, schema) in spec["components"]["schemas"].as_object().unwrap() {
        if !used.contains(name) {
            continue;
        }
        assert_eq!(
            shape(&monolith["components"]["schemas"][name]),
            shape(schema),
            "{service}: schema {name}"
        );
    }
}

#[test]
fn the_monolith_offers_every_service_operation_alike() {
    let monolith = serde_json::to_value(monolith::openapi()).unwrap();
    assert_eq!(monolith["info"]["title"], "monolith");
    for (service, spec) in [
        ("users", users::openapi()),
        ("friends", friends::openapi()),
        ("messages", messages::openapi()),
        ("timeline", timeline::openapi()),
    ] {
        check(service, &serde_json::to_value(spec).unwrap(), &monolith);
    }
}
