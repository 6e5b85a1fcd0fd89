//! Structural comparison of specs: what an SDK generated from one would see differently in
//! the other.
//!
//! An operation's contract is its operation id, tags, parameters (name, location,
//! required, style, explode, schema), request body (required, media types, schema) and
//! responses (status codes, media types, schemas, header names), with every `$ref`
//! resolved and prose (`description`, `summary`, examples) left out.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::merge::{METHODS, component_ref};

/// Schema members whose members are names (of properties), not keywords.
const NAMED: [&str; 3] = ["properties", "patternProperties", "$defs"];

/// How deep `$ref`s are followed before a schema counts as recursive.
const MAX_DEPTH: usize = 32;

/// One difference between two specs on a shared operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `GET /users/{id}`.
    pub operation: String,
    /// Where in the operation's contract, e.g. `responses.200.content.application/json`.
    pub at: String,
    /// The left spec's value (compact JSON), or `absent`.
    pub left: String,
    /// The right spec's value.
    pub right: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at `{}`: {} vs {}",
            self.operation, self.at, self.left, self.right
        )
    }
}

/// The `(path, method)` pairs both specs define, in `left`'s order, but for the internal
/// operations (the change feeds: each side's own).
pub fn shared_operations(left: &Value, right: &Value) -> Vec<(String, &'static str)> {
    let mut shared = Vec::new();
    for (path, item) in left
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for method in METHODS {
            if item
                .get(method)
                .is_some_and(|op| !super::merge::is_internal(op))
                && right
                    .get("paths")
                    .and_then(|p| p.get(path))
                    .and_then(|i| i.get(method))
                    .is_some_and(|op| !super::merge::is_internal(op))
            {
                shared.push((path.clone(), method));
            }
        }
    }
    shared
}

/// Every difference between the contracts of `method path` in the two specs.
pub fn compare_operation(left: &Value, right: &Value, path: &str, method: &str) -> Vec<Difference> {
    let name = format!("{} {path}", method.to_ascii_uppercase());
    let a = contract(left, path, method);
    let b = contract(right, path, method);
    let mut differences = Vec::new();
    diff(&name, String::new(), &a, &b, &mut differences);
    differences
}

/// Every difference on every operation the two specs share.
pub fn compare_shared(left: &Value, right: &Value) -> Vec<Difference> {
    shared_operations(left, right)
        .into_iter()
        .flat_map(|(path, method)| compare_operation(left, right, &path, method))
        .collect()
}

/// Component names (`schemas/User`) that two specs define differently, ignoring prose.
/// The merged spec relies on there being none: a name means one schema everywhere.
pub fn component_conflicts(specs: &[(&str, Value)]) -> Vec<String> {
    let mut first: BTreeMap<String, (&str, Value)> = BTreeMap::new();
    let mut conflicts = Vec::new();
    for (spec_name, spec) in specs {
        let kinds = spec
            .get("components")
            .and_then(Value::as_object)
            .into_iter()
            .flatten();
        for (kind, members) in kinds {
            for (name, component) in members.as_object().into_iter().flatten() {
                let key = format!("{kind}/{name}");
                let shape = without_prose(component);
                match first.get(&key) {
                    None => {
                        first.insert(key, (spec_name, shape));
                    }
                    Some((other, seen)) if *seen != shape => conflicts.push(format!(
                        "{key}: {other} defines it as {seen}, {spec_name} as {shape}"
                    )),
                    Some(_) => {}
                }
            }
        }
    }
    conflicts
}

/// The contract of one operation, as compared.
fn contract(spec: &Value, path: &str, method: &str) -> Value {
    let Some(op) = spec
        .get("paths")
        .and_then(|p| p.get(path))
        .and_then(|i| i.get(method))
    else {
        return Value::Null;
    };
    let mut parameters = Map::new();
    for parameter in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let parameter = resolve(spec, parameter, 0);
        let key = format!(
            "{}:{}",
            parameter.get("in").and_then(Value::as_str).unwrap_or("?"),
            parameter.get("name").and_then(Value::as_str).unwrap_or("?")
        );
        let kept = keep(&parameter, &["required", "style", "explode", "schema"]);
        parameters.insert(key, without_prose(&kept));
    }
    let request_body = op.get("requestBody").map(|body| {
        let body = resolve(spec, body, 0);
        json!({
            "required": body.get("required").cloned().unwrap_or(json!(false)),
            "content": content(spec, &body),
        })
    });
    let mut responses = Map::new();
    for (status, response) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let response = resolve(spec, response, 0);
        let headers: Vec<Value> = response
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, _)| json!(name.to_ascii_lowercase()))
            .collect();
        responses.insert(
            status.clone(),
            json!({"content": content(spec, &response), "headers": headers}),
        );
    }
    json!({
        "operationId": op.get("operationId"),
        "tags": op.get("tags"),
        "parameters": parameters,
        "requestBody": request_body,
        "responses": responses,
    })
}

/// `content` by media type, each with its resolved schema.
fn content(spec: &Value, holder: &Value) -> Value {
    let media: Map<String, Value> = holder
        .get("content")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(media, body)| {
            let schema = body
                .get("schema")
                .map(|s| without_prose(&resolve(spec, s, 0)));
            (media.clone(), json!(schema))
        })
        .collect();
    Value::Object(media)
}

/// `value` with every `$ref` into `spec`'s components replaced by its target.
pub fn resolve(spec: &Value, value: &Value, depth: usize) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let target = component_ref(reference).and_then(|(kind, name)| {
                    spec.get("components")
                        .and_then(|c| c.get(kind))
                        .and_then(|k| k.get(name))
                });
                return match target {
                    Some(target) if depth < MAX_DEPTH => resolve(spec, target, depth + 1),
                    // Unresolvable or recursive: compare the reference itself.
                    _ => value.clone(),
                };
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), resolve(spec, v, depth)))
                    .collect(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve(spec, v, depth)).collect())
        }
        other => other.clone(),
    }
}

/// `value` without prose members (`description`, `summary`, `title`, examples), at every
/// depth; the members of `properties` are property names, never prose.
pub fn without_prose(value: &Value) -> Value {
    strip(value, false)
}

fn strip(value: &Value, names: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, v)| names || !is_prose(k, v))
                .map(|(k, v)| (k.clone(), strip(v, !names && NAMED.contains(&k.as_str()))))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| strip(v, false)).collect()),
        other => other.clone(),
    }
}

fn is_prose(key: &str, value: &Value) -> bool {
    match key {
        "description" | "summary" | "title" => value.is_string(),
        "example" | "examples" => true,
        _ => false,
    }
}

fn keep(value: &Value, keys: &[&str]) -> Value {
    Value::Object(
        keys.iter()
            .filter_map(|k| value.get(*k).map(|v| ((*k).to_owned(), v.clone())))
            .collect(),
    )
}

fn diff(operation: &str, at: String, a: &Value, b: &Value, out: &mut Vec<Difference>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let at = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match (x.get(key), y.get(key)) {
                    (Some(l), Some(r)) => diff(operation, at, l, r, out),
                    (l, r) => out.push(Difference {
                        operation: operation.to_owned(),
                        at,
                        left: l.map_or_else(|| "absent".to_owned(), Value::to_string),
                        right: r.map_or_else(|| "absent".to_owned(), Value::to_string),
                    }),
                }
            }
        }
        _ if a == b => {}
        _ => out.push(Difference {
            operation: operation.to_owned(),
            at,
            left: a.to_string(),
            right: b.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests;
