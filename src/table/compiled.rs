//! The compiled, immutable route table and how a request is resolved against it.

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use ipnet::IpNet;

use super::compression::Compression;
use super::edge::{Issuer, RateLimit, RouteAuth};
use super::index::RouteIndex;
use super::matcher::Pattern;
use super::shadow::Shadow;

/// A validated routes.yaml, ready to serve. Built by `table::parse`; never changed
/// afterwards (a reload builds a new one).
#[derive(Debug)]
pub struct RouteTable {
    pub(crate) upstreams: Box<[Upstream]>,
    /// Most specific first; resolution takes the first that matches.
    pub(crate) routes: Box<[Route]>,
    /// Which of `routes` a path may match, so resolution tries those only.
    pub(crate) index: RouteIndex,
    pub(crate) settings: Settings,
    /// The trusted token signers, sorted by name.
    pub(crate) issuers: Box<[Issuer]>,
}

/// Gateway-wide behaviour from `settings:`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Add `x-upstream: NAME` to responses.
    pub upstream_header: bool,
    /// Peers whose forwarding headers are kept.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request head, in bytes.
    pub max_header_bytes: usize,
    /// How long a swap that moves routes waits for the new side's followers to reach the
    /// old side's feed head; zero: never wait.
    pub handover_timeout: Duration,
}

/// One upstream, with every default applied.
#[derive(Debug)]
pub struct Upstream {
    /// Its name in routes.yaml (also the `x-upstream` value).
    pub name: Box<str>,
    /// The base URL requests go to.
    pub url: Box<str>,
    pub(crate) scheme: Scheme,
    pub(crate) authority: Authority,
    /// `Host` sent upstream: the upstream's own authority.
    pub(crate) host: HeaderValue,
    /// `x-upstream` value.
    pub(crate) name_header: HeaderValue,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed from request to response head, unless the route overrides it.
    pub request_timeout: Duration,
}

/// An index into [`RouteTable::upstreams`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamId(pub(crate) usize);

// === impl UpstreamId ===

impl UpstreamId {
    /// The position in [`RouteTable::upstreams`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// One compiled route.
#[derive(Debug)]
pub struct Route {
    /// The template or prefix.
    pub pattern: Pattern,
    /// The methods served; empty means all.
    pub methods: Methods,
    /// Where requests go.
    pub target: Target,
    /// Overrides the upstream's request timeout.
    pub request_timeout: Option<Duration>,
    /// Largest request body, in bytes.
    pub max_body_bytes: u64,
    /// How its responses are compressed.
    pub compression: Compression,
    /// What the caller's token must be; `None`: no token is looked at.
    pub auth: Option<RouteAuth>,
    /// How fast one client may call; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Where copies of its safe requests go; `None`: nowhere.
    pub shadow: Option<Shadow>,
    /// Overrides [`Settings::handover_timeout`] for a swap that moves this route.
    pub handover_timeout: Option<Duration>,
    /// Line of the route in its file, for messages and the admin API.
    pub line: u64,
}

/// A set of methods as a bit mask; empty means every method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Methods(u16);

/// Where a route sends requests.
#[derive(Debug)]
pub enum Target {
    /// Always this upstream.
    One(UpstreamId),
    /// Spread by weight.
    Split(Split),
}

/// A weighted split: bucket `b` in `0..total` goes to the first side whose `end` exceeds it.
#[derive(Debug)]
pub struct Split {
    /// Each side's exclusive upper bucket bound, ascending, and its upstream.
    pub(crate) sides: Box<[(u64, UpstreamId)]>,
    pub(crate) total: u64,
    pub(crate) sticky: Option<Sticky>,
    /// Round-robin position for requests without a stickiness key.
    pub(crate) next: AtomicU64,
}

/// The stickiness key of a split.
#[derive(Debug, Clone)]
pub enum Sticky {
    /// A request header's value.
    Header(HeaderName),
    /// The path segment at this position (a template parameter).
    Param {
        /// Its name, for display.
        name: Box<str>,
        /// Its segment position.
        index: usize,
    },
}

/// The outcome of looking a request up.
#[derive(Debug)]
pub enum Resolution<'t> {
    /// This route serves it, through this upstream.
    Found {
        /// The route.
        route: &'t Route,
        /// Its position in [`RouteTable::routes`].
        index: usize,
        /// The upstream chosen (for a split, the side picked).
        upstream: &'t Upstream,
        /// Its index.
        id: UpstreamId,
    },
    /// Routes match the path but none of them the method; these are the methods they take.
    MethodNotAllowed(Methods),
    /// No route matches the path.
    NotFound,
}

const METHOD_BITS: [(Method, u16); 8] = [
    (Method::GET, 1),
    (Method::HEAD, 1 << 1),
    (Method::POST, 1 << 2),
    (Method::PUT, 1 << 3),
    (Method::PATCH, 1 << 4),
    (Method::DELETE, 1 << 5),
    (Method::OPTIONS, 1 << 6),
    (Method::TRACE, 1 << 7),
];

/// GET and HEAD: the methods that only read.
const SAFE: u16 = 1 | 1 << 1;

// === impl RouteTable ===

impl RouteTable {
    /// Finds the most specific route for `method` and `path` (which passed
    /// [`check_path`](super::matcher::check_path)) and picks its upstream.
    pub fn resolve(&self, method: &Method, path: &str, headers: &HeaderMap) -> Resolution<'_> {
        let bit = Methods::bit(method);
        let mut allowed = Methods::default();
        for index in self.index.candidates(path) {
            let route = &self.routes[index];
            if !route.pattern.matches(path) {
                continue;
            }
            if !route.methods.admits(bit) {
                allowed.0 |= route.methods.0;
                continue;
            }
            let id = match &route.target {
                Target::One(id) => *id,
                Target::Split(split) => split.pick(path, headers),
            };
            return Resolution::Found {
                route,
                index,
                upstream: &self.upstreams[id.0],
                id,
            };
        }
        if allowed.0 == 0 {
            Resolution::NotFound
        } else {
            Resolution::MethodNotAllowed(allowed)
        }
    }

    /// The route that would serve `method` and `path`, without picking a side of its
    /// split (so no round-robin position moves).
    pub fn route_for(&self, method: &Method, path: &str) -> Option<&Route> {
        let bit = Methods::bit(method);
        self.index
            .candidates(path)
            .map(|index| &self.routes[index])
            .find(|route| route.pattern.matches(path) && route.methods.admits(bit))
    }

    /// The upstreams, sorted by name.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// The routes, most specific first.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Gateway-wide settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The trusted token signers, sorted by name.
    pub fn issuers(&self) -> &[Issuer] {
        &self.issuers
    }

    /// The upstream behind `id`.
    pub fn upstream(&self, id: UpstreamId) -> &Upstream {
        &self.upstreams[id.0]
    }

    /// Whether `peer` may set forwarding headers.
    pub fn trusts(&self, peer: IpAddr) -> bool {
        self.settings
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&peer))
    }
}

// === impl Route ===

impl Route {
    /// The request timeout for a request sent to `upstream` through this route.
    pub fn timeout_for(&self, upstream: &Upstream) -> Duration {
        self.request_timeout.unwrap_or(upstream.request_timeout)
    }

    /// How long a swap that moves this route waits for its new side to catch up.
    pub fn handover_timeout(&self, settings: &Settings) -> Duration {
        self.handover_timeout.unwrap_or(settings.handover_timeout)
    }

    /// The upstreams this route may send to, with their weights (1 for a single target).
    pub fn sides(&self) -> Vec<(UpstreamId, u64)> {
        match &self.target {
            Target::One(id) => vec![(*id, 1)],
            Target::Split(split) => {
                let mut start = 0;
                split
                    .sides
                    .iter()
                    .map(|&(end, id)| {
                        let weight = end - start;
                        start = end;
                        (id, weight)
                    })
                    .collect()
            }
        }
    }
}

// === impl Split ===

impl Split {
    /// The side for this request: by the FNV-1a hash of the stickiness key when the
    /// request carries one, else the next in weighted round-robin order.
    fn pick(&self, path: &str, headers: &HeaderMap) -> UpstreamId {
        let key = match &self.sticky {
            Some(Sticky::Header(name)) => headers.get(name).map(HeaderValue::as_bytes),
            Some(Sticky::Param { index, .. }) => Pattern::param_at(path, *index).map(str::as_bytes),
            None => None,
        };
        let bucket = match key {
            Some(key) => fnv1a64(key) % self.total,
            None => self.next.fetch_add(1, Ordering::Relaxed) % self.total,
        };
        self.side_of(bucket)
    }

    fn side_of(&self, bucket: u64) -> UpstreamId {
        self.sides
            .iter()
            .find(|(end, _)| bucket < *end)
            .or(self.sides.last())
            .map(|&(_, id)| id)
            // A split has at least one side with a positive weight (validated), and
            // `bucket < total` = the last end.
            .unwrap_or(UpstreamId(0))
    }

    /// The stickiness key, if any.
    pub fn sticky(&self) -> Option<&Sticky> {
        self.sticky.as_ref()
    }
}

/// 64-bit FNV-1a: stable across processes, machines and releases, so every gateway
/// replica sends one key to the same side.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

// === impl Methods ===

impl Methods {
    /// Every method.
    pub const ANY: Self = Self(0);

    /// Parses a routes.yaml method name (case-insensitive). `GET` brings `HEAD` along.
    pub fn parse_one(name: &str) -> Option<Self> {
        let upper = name.to_ascii_uppercase();
        let bit = METHOD_BITS
            .iter()
            .find(|(m, _)| m.as_str() == upper)
            .map(|&(_, bit)| bit)?;
        Some(Self(if bit == 1 { bit | 1 << 1 } else { bit }))
    }

    /// The union of two sets.
    #[must_use]
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Methods in both sets (for two explicit sets).
    #[must_use]
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether the set holds GET or HEAD, the only methods ever shadowed.
    pub fn has_safe(self) -> bool {
        self.0 == 0 || self.0 & SAFE != 0
    }

    /// The names of the set's safe methods (GET, HEAD), in a fixed order.
    pub fn safe_names(self) -> impl Iterator<Item = &'static str> {
        let safe = if self.0 == 0 { SAFE } else { self.0 & SAFE };
        Self(safe).names()
    }

    /// Every standard method, one at a time (GET and HEAD apart).
    pub fn each() -> impl Iterator<Item = &'static Method> {
        METHOD_BITS.iter().map(|(m, _)| m)
    }

    /// Whether `method` is GET or HEAD.
    pub fn is_safe(method: &Method) -> bool {
        *method == Method::GET || *method == Method::HEAD
    }

    /// Whether this is the every-method set.
    pub fn is_any(self) -> bool {
        self.0 == 0
    }

    fn bit(method: &Method) -> u16 {
        METHOD_BITS
            .iter()
            .find(|(m, _)| m == method)
            .map_or(0, |&(_, bit)| bit)
    }

    fn admits(self, bit: u16) -> bool {
        self.0 == 0 || self.0 & bit != 0
    }

    /// The names in the set, in a fixed order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        METHOD_BITS
            .iter()
            .filter(move |(_, bit)| self.0 & bit != 0)
            .map(|(m, _)| m.as_str())
    }
}

impl fmt::Display for Methods {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_any() {
            return f.write_str("*");
        }
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}
