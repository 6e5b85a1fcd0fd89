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
    /// Issuer name → who signs the tokens routes with `auth` accept, and where its keys are.
    #[serde(default)]
    pub issuers: BTreeMap<String, Spanned<IssuerConfig>>,
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
    /// How long a swap that moves routes to another upstream waits for the new side to
    /// have applied the old side's change feed up to its head (default `2s`; `0s`: never
    /// wait).
    pub handover_timeout: Option<Spanned<String>>,
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
    /// Whether routes need a bearer token: `required`, `optional` or `none` (default `none`).
    pub auth: Option<Spanned<String>>,
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
    /// Overrides `all.auth` for this route: `required`, `optional` or `none`.
    pub auth: Option<Spanned<String>>,
    /// Only the owner may call: the token's `sub` must equal this path parameter.
    pub owner: Option<Spanned<OwnerConfig>>,
    /// At most this many requests per client, by subject or by address.
    pub rate_limit: Option<Spanned<RateLimitConfig>>,
    /// A copy of the route's GET and HEAD requests goes to this upstream too, its answer
    /// compared with the primary's and dropped.
    pub shadow: Option<Spanned<ShadowConfig>>,
    /// Overrides `settings.handover_timeout` for a swap that moves this route.
    pub handover_timeout: Option<Spanned<String>>,
}

/// `shadow:` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowConfig {
    /// The upstream that gets the copies; not one that serves the route.
    pub to: Spanned<String>,
    /// Percent of the route's GET and HEAD requests copied, 0 to 100 (default 100).
    pub percent: Option<Spanned<u64>>,
    /// Compare the shadow's answers with the primary's (default `true`).
    pub compare: Option<bool>,
    /// JSON pointers never compared; a segment `*` matches any array index or key.
    pub ignore: Option<Vec<Spanned<String>>>,
    /// Time for the shadow's whole answer (default `5s`).
    pub timeout: Option<Spanned<String>>,
    /// Shadow requests of the route at once; more are dropped (default 64).
    pub max_in_flight: Option<Spanned<u64>>,
    /// Percent of compared requests also sent to the primary again to learn which fields
    /// differ on their own, 0 to 100 (default 10).
    pub noise_sample: Option<Spanned<u64>>,
}

/// `owner:` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerConfig {
    /// A parameter of the route's path template, e.g. `id` of `/users/{id}`.
    pub param: Spanned<String>,
}

/// `rate_limit:` of a route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// What a client is: `subject` (the token's `sub`; needs `auth`) or `address` (the
    /// peer's IP address; IPv6 by its /64).
    pub by: Spanned<String>,
    /// Sustained rate: `COUNT/UNIT`, the unit `s`, `m`, `h` or a duration (`20/s`, `5/10s`).
    pub rate: Spanned<String>,
    /// Requests a client may make at once before the rate applies (default: COUNT).
    pub burst: Option<Spanned<u64>>,
}

/// One entry of `issuers:`: a token signer the gateway trusts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The `iss` claim its tokens carry, compared exactly.
    pub issuer: Spanned<String>,
    /// Accepted `aud` values; a token must name at least one.
    pub audiences: Spanned<Vec<Spanned<String>>>,
    /// Accepted signature algorithms: `RS256`, `ES256`, `EdDSA`.
    pub algorithms: Spanned<Vec<Spanned<String>>>,
    /// A JWKS document on disk (relative paths from the working directory).
    pub jwks_file: Option<Spanned<String>>,
    /// A JWKS document over HTTP(S), e.g. `https://idp.example/.well-known/jwks.json`.
    pub jwks_url: Option<Spanned<String>>,
    /// Clock skew allowed on `exp` and `nbf` (default `30s`, at most `5m`).
    pub leeway: Option<Spanned<String>>,
    /// How often the key set is read again (default `5m`).
    pub refresh: Option<Spanned<String>>,
    /// Least time between two reads for a token whose `kid` is unknown (default `30s`).
    pub min_refetch_interval: Option<Spanned<String>>,
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
