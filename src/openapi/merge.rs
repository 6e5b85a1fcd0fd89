//! The merged spec of a route table: every operation of the service specs that the table
//! sends to the service that spec describes.
//!
//! For each path and method of the service specs, the request the table would see (each
//! `{param}` filled with `1`) is resolved as the proxy resolves it: the first route, most
//! specific first, whose pattern and methods match. The operation is taken from the spec
//! of that route's upstream; for a split, from the heaviest side whose spec has it (the
//! sides serve the same contract, which the agreement test checks for the monolith and the
//! services), and `x-split` lists the sides and weights. `x-upstream` names the upstream
//! whose spec describes the operation.
//!
//! Components come along as operations reference them, transitively. Names are global
//! across the service specs (a schema of one name is the same schema in every spec that
//! has it: see [`super::compare::component_conflicts`]), so an operation keeps its schema
//! names in every phase of the migration and a generated SDK does not change when a route
//! moves. The gateway's own paths (`/openapi.json`) are not listed, like every service's, nor
//! the operations tagged `feed` (the change feeds on the services' private network).
//!
//! An operation whose route has `auth` gets `security` (the bearer JWT scheme, declared in
//! `components.securitySchemes`; `auth: optional` also lists the empty requirement) and
//! the gateway's 401 (403 with `owner`, 503 when keys cannot be read); a rate-limited one
//! gets its 429.

use serde_json::{Map, Value, json};

use crate::table::{AuthMode, Route, RouteTable};

/// The name of the bearer scheme in `components.securitySchemes`.
pub const BEARER_SCHEME: &str = "bearerAuth";

/// The HTTP methods an OpenAPI path item holds, in the order a path lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What a path parameter is filled with to resolve a template against the table.
const SAMPLE_PARAM: &str = "1";

/// The merged spec of `table`: the operations it exposes, described by `specs` (service
/// specs by upstream name, in the order their paths are listed).
pub fn merge(table: &RouteTable, specs: &[(&str, Value)]) -> Value {
    let mut merged = Merged::default();
    for (_, spec) in specs {
        for (path, item) in entries(spec, "paths") {
            for method in METHODS {
                if item.get(method).is_none() || merged.has(path, method) {
                    continue;
                }
                if let Some(chosen) = choose(table, specs, path, method)
                    && !is_internal(chosen.operation)
                {
                    merged.add(path, method, &chosen);
                }
            }
        }
    }
    merged.into_spec(specs)
}

/// The tag of operations between the services on their private network (the change
/// feeds), which the gateway's clients are not offered.
pub const INTERNAL_TAG: &str = "feed";

/// Whether `operation` is tagged [`INTERNAL_TAG`].
pub fn is_internal(operation: &Value) -> bool {
    operation
        .get("tags")
        .and_then(Value::as_array)
        .is_some_and(|tags| tags.iter().any(|t| t == INTERNAL_TAG))
}

/// Where the table sends `method path` and the spec that describes it there.
struct Chosen<'a> {
    upstream: &'a str,
    spec: &'a Value,
    operation: &'a Value,
    /// Every side of a split with its weight; empty for a single target.
    split: Vec<(&'a str, u64)>,
    /// The route, for its auth and rate limit.
    route: &'a Route,
}

fn choose<'a>(
    table: &'a RouteTable,
    specs: &'a [(&'a str, Value)],
    path: &str,
    method: &str,
) -> Option<Chosen<'a>> {
    let route = route_for(table, method, &sample_path(path))?;
    let mut sides: Vec<(&str, u64)> = route
        .sides()
        .into_iter()
        .filter(|&(_, weight)| weight > 0)
        .map(|(id, weight)| (&*table.upstream(id).name, weight))
        .collect();
    // Heaviest first; equal weights keep the file's order.
    sides.sort_by_key(|&(_, weight)| std::cmp::Reverse(weight));
    let (upstream, spec, operation) = sides.iter().find_map(|&(name, _)| {
        let spec = specs.iter().find(|(n, _)| *n == name).map(|(_, s)| s)?;
        let operation = spec.get("paths")?.get(path)?.get(method)?;
        Some((name, spec, operation))
    })?;
    let split = if sides.len() > 1 { sides } else { Vec::new() };
    Some(Chosen {
        upstream,
        spec,
        operation,
        split,
        route,
    })
}

/// The route the proxy would pick for `method` on `path`, if any.
fn route_for<'t>(table: &'t RouteTable, method: &str, path: &str) -> Option<&'t Route> {
    table.routes().iter().find(|route| {
        route.pattern.matches(path)
            && (route.methods.is_any()
                || route
                    .methods
                    .names()
                    .any(|name| name.eq_ignore_ascii_case(method)))
    })
}

/// `template` with every `{param}` segment filled with a sample value.
fn sample_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                SAMPLE_PARAM
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The members of `value[key]`, or none.
fn entries<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = (&'a String, &'a Value)> {
    value
        .get(key)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

/// The merged spec as it is built.
#[derive(Default)]
struct Merged {
    paths: Map<String, Value>,
    /// `components` by kind (`schemas`, …), then by name.
    components: Map<String, Value>,
    /// Tag objects in the order operations first use them.
    tags: Vec<Value>,
    /// Whether an operation asks for a bearer token.
    secured: bool,
}

// === impl Merged ===

impl Merged {
    fn has(&self, path: &str, method: &str) -> bool {
        self.paths
            .get(path)
            .is_some_and(|item| item.get(method).is_some())
    }

    fn add(&mut self, path: &str, method: &str, chosen: &Chosen<'_>) {
        let mut operation = chosen.operation.clone();
        if let Some(op) = operation.as_object_mut() {
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                for (status, response) in gateway_responses()
                    .into_iter()
                    .chain(edge_responses(chosen.route))
                {
                    responses
                        .entry(status)
                        .or_insert_with(|| serde_json::to_value(response).unwrap_or_default());
                }
            }
            if let Some(auth) = &chosen.route.auth {
                let bearer = json!({ BEARER_SCHEME: [] });
                let security = match auth.mode {
                    AuthMode::Required => json!([bearer]),
                    AuthMode::Optional => json!([bearer, {}]),
                };
                op.insert("security".to_owned(), security);
                self.secured = true;
            }
            op.insert("x-upstream".to_owned(), json!(chosen.upstream));
            if !chosen.split.is_empty() {
                let sides: Map<String, Value> = chosen
                    .split
                    .iter()
                    .map(|&(name, weight)| (name.to_owned(), json!(weight)))
                    .collect();
                op.insert("x-split".to_owned(), Value::Object(sides));
            }
        }
        self.add_components(chosen.spec, &operation);
        self.add_tags(chosen.spec, &operation);
        if let Value::Object(item) = self
            .paths
            .entry(path.to_owned())
            .or_insert_with(|| json!({}))
        {
            item.insert(method.to_owned(), operation);
        }
    }

    /// Adds every component `value` references, transitively, from `spec`. A name already
    /// present is kept as it is (names are global: the first spec's copy serves all).
    fn add_components(&mut self, spec: &Value, value: &Value) {
        let mut pending = references(value);
        let mut guard = 0;
        while let Some(reference) = pending.pop() {
            // Bounded: each component is added once, and a spec has finitely many.
            guard += 1;
            if guard > 100_000 {
                break;
            }
            let Some((kind, name)) = component_ref(&reference) else {
                continue;
            };
            let Some(component) = spec
                .get("components")
                .and_then(|c| c.get(kind))
                .and_then(|k| k.get(name))
            else {
                continue;
            };
            let Value::Object(of_kind) = self
                .components
                .entry(kind.to_owned())
                .or_insert_with(|| json!({}))
            else {
                continue;
            };
            if of_kind.contains_key(name) {
                continue;
            }
            of_kind.insert(name.to_owned(), component.clone());
            pending.extend(references(component));
        }
    }

    fn add_tags(&mut self, spec: &Value, operation: &Value) {
        let names = operation
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        for name in names {
            if self
                .tags
                .iter()
                .any(|t| t.get("name") == Some(&json!(name)))
            {
                continue;
            }
            let defined = spec
                .get("tags")
                .and_then(Value::as_array)
                .and_then(|tags| tags.iter().find(|t| t.get("name") == Some(&json!(name))));
            self.tags
                .push(defined.cloned().unwrap_or_else(|| json!({"name": name})));
        }
    }

    fn into_spec(self, specs: &[(&str, Value)]) -> Value {
        let version = specs
            .first()
            .and_then(|(_, spec)| spec.get("openapi"))
            .cloned()
            .unwrap_or_else(|| json!("3.1.0"));
        let mut spec = json!({
            "openapi": version,
            "info": {
                "title": "timeline API",
                "description": "Every endpoint the gateway's route table exposes, as one API: \
                    users, friends, messages and timelines, whichever service answers them. \
                    Generated from the checked-in specs of the services the table routes to; \
                    operation ids and schema names are those of the services and do not change \
                    when a route moves from the monolith to a service. `x-upstream` names the \
                    upstream whose spec describes an operation, `x-split` the sides of a \
                    weighted split. Besides each service's answers, the gateway itself may \
                    answer 431 (request head too large), 502 (the upstream is unreachable) \
                    and 504 (it did not answer in time). Operations with `security` need \
                    `Authorization: Bearer TOKEN`, a JWT of an issuer the gateway trusts; \
                    the gateway answers 401 without a valid one, and 403 when the path names \
                    another user than the token's subject.",
                "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"},
                "version": env!("CARGO_PKG_VERSION"),
            },
            "servers": [
                {"url": "http://127.0.0.1:8080", "description": "Default local address"},
            ],
            // No credentials by default; each protected operation lists its own.
            "security": [],
            "paths": Value::Object(self.paths),
            "tags": Value::Array(self.tags),
        });
        let mut components = self.components;
        if self.secured {
            components.insert(
                "securitySchemes".to_owned(),
                json!({ BEARER_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT signed by an issuer of the gateway's routes file \
                        (`issuers:`), its `sub` the caller's user id. `gateway token --user ID` \
                        prints one for the demo issuer of `gateway up`.",
                }}),
            );
        }
        if !components.is_empty()
            && let Some(spec) = spec.as_object_mut()
        {
            spec.insert("components".to_owned(), Value::Object(components));
        }
        spec
    }
}

/// The gateway's own answers that any operation may get, by status.
fn gateway_responses() -> [(
    &'static str,
    utoipa::openapi::RefOr<utoipa::openapi::Response>,
); 2] {
    [
        (
            "431",
            kit::openapi::problem_response(
                "The request line and headers exceed the gateway's limit \
                 (`settings.max_header_bytes` of its routes file, 16 KiB by default).",
                false,
            ),
        ),
        (
            "502",
            kit::openapi::problem_response(
                "The gateway could not reach the upstream that serves this path, or the \
                 upstream broke off its answer (a request that may have had an effect is \
                 never retried).",
                false,
            ),
        ),
    ]
}

/// The gateway's answers of the edge for `route`: 401, 403 and 503 for its auth, 429 for
/// its rate limit.
fn edge_responses(
    route: &Route,
) -> Vec<(
    &'static str,
    utoipa::openapi::RefOr<utoipa::openapi::Response>,
)> {
    let mut responses = Vec::new();
    if let Some(auth) = &route.auth {
        responses.push((
            "401",
            kit::openapi::problem_response(
                match auth.mode {
                    AuthMode::Required => {
                        "No valid bearer token: none was sent (code `unauthorized`), or the one \
                         sent is expired, not yet valid, of another issuer or audience, or not \
                         signed by a trusted key (code `invalid-token`). `WWW-Authenticate` \
                         says which (RFC 6750)."
                    }
                    AuthMode::Optional => {
                        "The bearer token sent is expired, not yet valid, of another issuer or \
                         audience, or not signed by a trusted key (code `invalid-token`; \
                         `WWW-Authenticate` says which, RFC 6750). Without a token the request \
                         is served anonymously."
                    }
                },
                false,
            ),
        ));
        if let Some(owner) = &auth.owner {
            responses.push((
                "403",
                kit::openapi::problem_response(
                    &format!(
                        "The token is valid but its subject is not the user the path's `{}` \
                         names: only that user may call this (code `forbidden`).",
                        owner.name
                    ),
                    false,
                ),
            ));
        }
        responses.push((
            "503",
            kit::openapi::problem_response(
                "The gateway cannot read the signing keys of the token's issuer, so it \
                 cannot check tokens now (code `keys-unavailable`).",
                true,
            ),
        ));
    }
    if let Some(limit) = &route.rate_limit {
        responses.push((
            "429",
            kit::openapi::problem_response(
                &format!(
                    "Over the rate limit of this path ({limit}; code `rate-limited`). \
                     `Retry-After` says when to retry; `RateLimit-Policy` and `RateLimit` \
                     (draft-ietf-httpapi-ratelimit-headers-09) describe the quota."
                ),
                true,
            ),
        ));
    }
    responses
}

/// Every `$ref` string inside `value`.
pub fn references(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                for (key, member) in map {
                    match (key.as_str(), member) {
                        ("$ref", Value::String(reference)) => found.push(reference.clone()),
                        _ => stack.push(member),
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// `("schemas", "User")` for `#/components/schemas/User`.
pub fn component_ref(reference: &str) -> Option<(&str, &str)> {
    reference
        .strip_prefix("#/components/")?
        .split_once('/')
        .filter(|(_, name)| !name.contains('/'))
}

#[cfg(test)]
mod tests;
