//! routes.yaml as written: every value that can be wrong keeps its line and column, so
//! validation can point at it. Nothing here is checked beyond its YAML type; see
//! `table::validate` for the rules.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::compression::CompressionConfig;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    /// Gateway-wide behaviour: response headers, trusted proxies, header size limit.
    #[serde(default)]
    pub settings: Settings,
    /// Defaults for every upstream and route; each may override them.
    #[serde(default)]
    pub all: Defaults,
    /// Upstream name → where it is and how long to wait for it.
    pub upstreams: BTreeMap<String, Spanned<UpstreamConfig>>,
    /// The routes, in any order: the most specific match wins, not the first.
    pub routes: Vec<Spanned<RouteConfig>>,
}

/// The `settings:` block.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Name the serving upstream in an `x-upstream` response header (default `true`).
    pub upstream_header: Option<bool>,
    /// Peers (IP addresses or CIDR blocks) whose `X-Forwarded-*` and `Forwarded` headers
    /// are kept; from anyone else they are replaced (default: none).
    pub trusted_proxies: Option<Vec<Spanned<String>>>,
    /// Largest request head (request line plus headers), in bytes (default 16384).
    pub max_header_bytes: Option<Spanned<u64>>,
}

/// The `all:` block: defaults that upstreams and routes override field by field.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Time to establish a TCP connection to an upstream (default `1s`).
    pub connect_timeout: Option<Spanned<String>>,
    /// Time from sending a request to receiving the response head (default `10s`).
    pub request_timeout: Option<Spanned<String>>,
    /// Largest request body, in bytes (default 1048576).
    pub max_body_bytes: Option<Spanned<u64>>,
    /// Response compression; each route's own `compression` overrides it field by field.
    pub compression: Option<CompressionConfig>,
}

/// One entry of `upstreams:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Base URL: `http://host:port`, without path, query or credentials.
    pub url: Spanned<String>,
    /// Overrides `all.connect_timeout`.
    pub connect_timeout: Option<Spanned<String>>,
    /// Overrides `all.request_timeout`.
    pub request_timeout: Option<Spanned<String>>,
}

/// One entry of `routes:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// A path template: `/users/{id}/friends`, optionally ending in `{*rest}`.
    pub path: Option<Spanned<String>>,
    /// A path prefix, matched segment by segment: `/static` matches `/static` and
    /// `/static/a.css`, not `/staticx`.
    pub prefix: Option<Spanned<String>>,
    /// The methods this route serves (default: all). `GET` also serves `HEAD`.
    pub methods: Option<Vec<Spanned<String>>>,
    /// The one upstream that serves this route.
    pub to: Option<Spanned<String>>,
    /// Upstream name → weight; requests are spread in proportion to the weights.
    pub split: Option<Spanned<BTreeMap<String, Spanned<u64>>>>,
    /// What keeps one client on one side of a split.
    pub sticky: Option<Spanned<StickyConfig>>,
    /// Overrides the upstream's request timeout for this route.
    pub request_timeout: Option<Spanned<String>>,
    /// Overrides `all.max_body_bytes` for this route.
    pub max_body_bytes: Option<Spanned<u64>>,
    /// Overrides `all.compression` for this route, field by field.
    pub compression: Option<CompressionConfig>,
}

/// `sticky:` of a split: exactly one of `header` or `param`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StickyConfig {
    /// A request header whose value picks the side, e.g. `x-user-id`.
    pub header: Option<Spanned<String>>,
    /// A parameter of the route's path template whose value picks the side, e.g. `id`.
    pub param: Option<Spanned<String>>,
}

/// Settings that a more specific level (upstream, route) overrides field by field over a
/// less specific one (`all:`).
pub trait Merge {
    /// `self`, with each unset field taken from `fallback`.
    #[must_use]
    fn merge(self, fallback: &Self) -> Self;
}
