//! `GET /changes` (a feed's events, long-polling), `GET /feeds` (the feed's head and the
//! service's followers) and `GET /metrics`, mounted by every service that keeps a feed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::follow::FollowerStatus;
use super::metrics::Followers;
use super::outbox::{Feed, Page, ReadError};
use crate::extract::{Json, Query};
use crate::params::Bounded;
use crate::problem::Problem;

/// Events per page: 1 to 5000, 500 by default.
pub type ChangesLimit = Bounded<1, 5000, 500>;

/// The longest `wait` a client may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// What the feed routes share: a service's state holds one and gives it out by `FromRef`.
#[derive(Debug, Clone)]
pub struct FeedApi {
    /// The service's feed.
    pub feed: Feed,
    /// The service's followers of other feeds.
    pub followers: Followers,
    /// What `/metrics` shows: the feed's figures, and whatever else the service registers.
    pub registry: Arc<prometheus_client::registry::Registry>,
}

/// The content type of `/metrics`.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Query of `GET /changes`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesQuery {
    /// The position to read after: 0 (the default) replays the whole feed, which yields
    /// every live entity's current state; a page's `next_after` continues from it.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9_223_372_036_854_775_807_u64, default = 0)]
    pub after: Option<String>,
    /// Events at most.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 5000, default = 500)]
    pub limit: Option<String>,
    /// When nothing newer than `after` is there yet, wait up to this long (`250ms`, `10s`;
    /// at most `30s`) for a commit and answer as soon as one arrives.
    #[param(value_type = Option<String>, example = "10s", pattern = r"^([0-9]{1,4}ms|[12]?[0-9]s|30s)$")]
    pub wait: Option<String>,
    /// Only these entity types, comma-separated (`user`, `friendship`, `message`).
    #[param(value_type = Option<String>, example = "user")]
    pub entities: Option<String>,
    /// While replaying from 0: the `oldest` of the replay's first page. `after` may then be
    /// below the feed's `oldest` (no 410) as long as no tombstone expired since.
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9_223_372_036_854_775_807_u64)]
    pub oldest: Option<String>,
}

/// `GET /feeds`: this service's feed and its followers of other feeds.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedsView {
    /// The service's feed.
    pub source: String,
    /// Its last position.
    pub head: u64,
    /// Each follower of another service's feed, with its position and lag.
    pub followers: Vec<FollowerStatus>,
}

// === routes ===

/// The feed routes with their OpenAPI description, for a service whose state `S` holds a
/// [`FeedApi`].
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    FeedApi: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list_changes))
        .routes(routes!(get_feeds))
        .routes(routes!(get_metrics))
}

/// `spec` with the feed routes' paths and schemas added, the page named after `source`
/// (`UsersChangePage`), and the feed's events described per entity type: for each
/// `(entity, schema)` of `events`, a component `{Entity}Event` (a `ChangeEvent` whose
/// `type` is `{entity}.upserted` or `{entity}.deleted` and whose `data` is `schema`), and
/// the page's `changes` lists one of those.
pub fn document(
    mut spec: utoipa::openapi::OpenApi,
    source: &str,
    events: &[(&str, &str)],
) -> utoipa::openapi::OpenApi {
    spec.merge(routes::<FeedApi>().split_for_parts().1);
    let Ok(mut value) = serde_json::to_value(&spec) else {
        return spec;
    };
    let tags = value["tags"].as_array_mut();
    let feed_tag = serde_json::json!({
        "name": "feed",
        "description": "The change feed (for the other services, on the private network): \
            every write's event in commit order, the followers of other feeds, metrics"
    });
    match tags {
        Some(tags) if !tags.iter().any(|t| t["name"] == "feed") => tags.push(feed_tag),
        Some(_) => {}
        None => value["tags"] = serde_json::json!([feed_tag]),
    }
    // Each feed's page has a name of its own: the events it holds differ by service.
    let page = format!("{}ChangePage", pascal(source));
    let schemas = &mut value["components"]["schemas"];
    if let Some(generic) = schemas.as_object_mut().and_then(|s| s.remove("ChangePage")) {
        schemas[&page] = generic;
    }
    value["paths"]["/changes"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["$ref"] = serde_json::json!(format!("#/components/schemas/{page}"));
    let schemas = &mut value["components"]["schemas"];
    let mut variants = Vec::new();
    for (entity, data) in events {
        let name = format!("{}Event", pascal(entity));
        schemas[&name] = serde_json::json!({
            "description": format!("A change of a {entity}: `data` is its state after the write, absent for a deletion."),
            "allOf": [
                {"$ref": "#/components/schemas/ChangeEvent"},
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": [format!("{entity}.upserted"), format!("{entity}.deleted")]},
                        "data": {"$ref": format!("#/components/schemas/{data}")}
                    }
                }
            ]
        });
        variants.push(serde_json::json!({"$ref": format!("#/components/schemas/{name}")}));
    }
    // One entity type: its event schema itself (a `oneOf` of one is no choice).
    match variants.len() {
        0 => {}
        1 => schemas[&page]["properties"]["changes"]["items"] = variants.remove(0),
        _ => {
            schemas[&page]["properties"]["changes"]["items"] =
                serde_json::json!({"oneOf": variants})
        }
    }
    serde_json::from_value(value).unwrap_or(spec)
}

/// `friendship` → `Friendship`.
fn pascal(entity: &str) -> String {
    entity
        .split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

// === impl FeedApi ===

impl FeedApi {
    /// The routes' state for `feed` and `followers`, with a registry that holds the feed's
    /// figures ([`FeedCollector`](super::metrics::FeedCollector)) and what `register` adds.
    pub fn new(
        feed: Feed,
        followers: Followers,
        register: impl FnOnce(&mut prometheus_client::registry::Registry),
    ) -> Self {
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register_collector(Box::new(super::metrics::FeedCollector::new(
            Some(feed.clone()),
            followers.clone(),
        )));
        register(&mut registry);
        Self {
            feed,
            followers,
            registry: Arc::new(registry),
        }
    }
}

/// Read the change feed.
///
/// Events in `seq` (commit) order, each a CloudEvents 1.0 object whose `data` is the
/// entity's whole state after the write (absent for a deletion). The feed is compacted:
/// it keeps the latest event of every entity and, for a retention period, the tombstones of
/// deletions, so replaying from 0 yields the current state. With `wait`, the call answers as
/// soon as something newer than `after` commits (long poll).
#[utoipa::path(
    get,
    path = "/changes",
    tag = "feed",
    operation_id = "listChanges",
    params(ChangesQuery),
    responses(
        (status = 200, description = "Events after `after`, and where to continue", body = Page),
        (status = 400, description = "`after`, `limit`, `wait` or `entities` is malformed or out of \
            range; `detail` says which", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The feed no longer holds everything after `after` (a \
            tombstone expired) or never did: replay from 0; `detail` names the oldest position",
            body = Problem, content_type = "application/problem+json"),
    )
)]
async fn list_changes(
    State(api): State<FeedApi>,
    Query(query): Query<ChangesQuery>,
) -> Result<Json<Page>, Response> {
    let (after, limit, wait, entities) = parse(&query).map_err(IntoResponse::into_response)?;
    let oldest = query
        .oldest
        .as_deref()
        .map(|text| position("oldest", text))
        .transpose()
        .map_err(IntoResponse::into_response)?;
    let page = api
        .feed
        .read_waiting_replaying(after, oldest, limit, &entities, wait)
        .await
        .map_err(|err| match err {
            ReadError::Gone { .. } => Problem::new(
                StatusCode::GONE,
                "feed-position-gone",
                "Feed position no longer held",
            )
            .with_detail(err.to_string())
            .into_response(),
            ReadError::Store(err) => crate::problem::internal_error(err),
        })?;
    Ok(Json(page))
}

/// The feed's head and the service's followers.
///
/// This service's feed position, and for each feed it follows the position applied, the
/// source's head at the last read, and the lag in events and seconds.
#[utoipa::path(
    get,
    path = "/feeds",
    tag = "feed",
    operation_id = "getFeeds",
    responses((status = 200, description = "The feed and its followers", body = FeedsView))
)]
async fn get_feeds(State(api): State<FeedApi>) -> Json<FeedsView> {
    Json(FeedsView {
        source: api.feed.source().to_owned(),
        head: api.feed.head(),
        followers: api.followers.statuses(),
    })
}

/// Prometheus metrics (OpenMetrics text): the feed's head, and for each followed feed the
/// position applied, the source's head, and the lag in events and seconds.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "feed",
    operation_id = "getMetrics",
    responses((status = 200, description = "OpenMetrics text exposition", body = String,
        content_type = "application/openmetrics-text"))
)]
async fn get_metrics(State(api): State<FeedApi>) -> Response {
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &api.registry) {
        Ok(()) => ([(http::header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        Err(err) => crate::problem::internal_error(anyhow::anyhow!("cannot encode metrics: {err}")),
    }
}

/// A feed position in the query parameter `name`.
fn position(name: &str, text: &str) -> Result<u64, Problem> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Problem::bad_request(format!(
            "`{name}` must be a feed position (a non-negative integer); got `{text}`"
        )));
    }
    // Positions are stored as signed 64-bit integers: the largest is `i64::MAX`.
    text.parse::<u64>()
        .ok()
        .filter(|&p| i64::try_from(p).is_ok())
        .ok_or_else(|| {
            Problem::bad_request(format!(
                "`{name}` is too large (at most {}); got `{text}`",
                i64::MAX
            ))
        })
}

fn parse(query: &ChangesQuery) -> Result<(u64, u32, Duration, Vec<String>), Problem> {
    let after = match query.after.as_deref() {
        None => 0,
        Some(text) => position("after", text)?,
    };
    let limit = ChangesLimit::parse("limit", query.limit.as_deref())
        .map_err(|err| Problem::bad_request(err.to_string()))?
        .get();
    let wait = match query.wait.as_deref() {
        None => Duration::ZERO,
        Some(text) => match humantime::parse_duration(text) {
            Ok(wait) if wait <= MAX_WAIT => wait,
            _ => {
                return Err(Problem::bad_request(format!(
                    "`wait` must be a duration from 0s to 30s, such as `250ms` or `10s`; got `{text}`"
                )));
            }
        },
    };
    let entities = match query.entities.as_deref() {
        None => Vec::new(),
        Some(text) => {
            let entities: Vec<String> = text.split(',').map(str::trim).map(str::to_owned).collect();
            if entities
                .iter()
                .any(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            {
                return Err(Problem::bad_request(format!(
                    "`entities` must list entity types such as `user,message`; got `{text}`"
                )));
            }
            entities
        }
    };
    Ok((after, limit, wait, entities))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(after: Option<&str>, limit: Option<&str>, wait: Option<&str>) -> ChangesQuery {
        ChangesQuery {
            after: after.map(str::to_owned),
            limit: limit.map(str::to_owned),
            wait: wait.map(str::to_owned),
            entities: None,
            oldest: None,
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let (after, limit, wait, entities) = parse(&query(None, None, None)).unwrap();
        assert_eq!((after, limit, wait), (0, 500, Duration::ZERO));
        assert!(entities.is_empty());
        let (after, limit, wait, _) = parse(&query(Some("17"), Some("5000"), Some("30s"))).unwrap();
        assert_eq!((after, limit, wait), (17, 5000, MAX_WAIT));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        for (q, name) in [
            (query(Some("-1"), None, None), "`after`"),
            (query(Some("1.5"), None, None), "`after`"),
            (
                query(Some("99999999999999999999999"), None, None),
                "`after`",
            ),
            (query(None, Some("0"), None), "`limit`"),
            (query(None, Some("5001"), None), "`limit`"),
            (query(None, None, Some("31s")), "`wait`"),
            (query(None, None, Some("soon")), "`wait`"),
        ] {
            let problem = parse(&q).unwrap_err();
            assert_eq!(problem.status, 400);
            assert!(
                problem.detail.as_deref().unwrap_or_default().contains(name),
                "{q:?}"
            );
        }
        let mut q = query(None, None, None);
        q.entities = Some("user,".into());
        assert!(parse(&q).is_err());
        q.entities = Some("user, message".into());
        assert_eq!(parse(&q).unwrap().3, ["user", "message"]);
        assert_eq!(position("oldest", "17"), Ok(17));
        for bad in ["", "-1", "x", "99999999999999999999999"] {
            let problem = position("oldest", bad).unwrap_err();
            assert!(
                problem.detail.unwrap_or_default().contains("`oldest`"),
                "{bad}"
            );
        }
    }
}
