//! Checks a parsed routes.yaml against every rule and compiles it, collecting all errors
//! (each at its line and column) rather than stopping at the first.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use http::uri::{Authority, Scheme};
use http::{HeaderName, HeaderValue, Uri};
use ipnet::IpNet;
use serde_saphyr::{Location, Spanned};

use super::compiled::{
    Methods, Route, RouteTable, Settings, Split, Sticky, Target, Upstream, UpstreamId,
};
use super::compression::Partial;
use super::config::{Defaults, Merge, RouteConfig, RoutesFile, StickyConfig, UpstreamConfig};
use super::error::ConfigError;
use super::index::RouteIndex;
use super::matcher::Pattern;
use super::overrides::Overrides;

mod edge;
mod shadow;

use self::edge::AuthSetting;

/// Defaults where neither `all:` nor an upstream or route says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// See [`DEFAULT_CONNECT_TIMEOUT`].
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`DEFAULT_CONNECT_TIMEOUT`].
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// See [`DEFAULT_CONNECT_TIMEOUT`].
pub const DEFAULT_MAX_HEADER_BYTES: u64 = 16 * 1024;
/// See [`DEFAULT_CONNECT_TIMEOUT`].
pub const DEFAULT_HANDOVER_TIMEOUT: Duration = Duration::from_secs(2);

/// The longest `handover_timeout` a file may set: loads are serialized, so a swap that
/// waits holds back every later one.
pub const MAX_HANDOVER_TIMEOUT: Duration = Duration::from_secs(60);

/// The highest `settings.max_header_bytes` a file may set. The proxy listener sizes its
/// read buffer above it, so every over-limit head is answered by the gateway's own 431
/// problem rather than by the HTTP library.
pub const MAX_HEADER_BYTES_LIMIT: u64 = 64 * 1024;
const MAX_HEADER_BYTES_RANGE: std::ops::RangeInclusive<u64> = 1024..=MAX_HEADER_BYTES_LIMIT;
const MAX_WEIGHT: u64 = 1_000_000;

/// The overridable settings of one level (`all:`, an upstream, a route), parsed; `None`
/// where that level does not say.
#[derive(Debug, Clone, Default)]
struct Level {
    connect_timeout: Option<Duration>,
    request_timeout: Option<Duration>,
    max_body_bytes: Option<u64>,
    compression: Partial,
    /// With where it was written, for messages about what it conflicts with.
    auth: Option<(AuthSetting, Location)>,
}

/// Collects errors while compiling.
struct Checker {
    errors: Vec<ConfigError>,
    /// Every route whose pattern and methods are valid, even if the rest is not, so
    /// duplicates are reported together with the other errors.
    shapes: Vec<(Pattern, Methods, u64)>,
}

/// Compiles `file`, with `overrides` replacing upstream URLs, or returns every error.
pub fn compile(file: &RoutesFile, overrides: &Overrides) -> Result<RouteTable, Vec<ConfigError>> {
    let mut c = Checker {
        errors: Vec::new(),
        shapes: Vec::new(),
    };
    let settings = c.settings(file);
    let issuers = c.issuers(file, overrides);
    let all = c.level("all", &file.all);
    c.auth_needs_issuers(&all, &issuers);
    let upstreams: Vec<Upstream> = file
        .upstreams
        .iter()
        .filter_map(|(name, config)| c.upstream(name, config, &all, overrides))
        .collect();
    let names: Vec<&str> = file.upstreams.keys().map(String::as_str).collect();
    let mut routes: Vec<Route> = file
        .routes
        .iter()
        .filter_map(|route| c.route(route, &all, &names, &upstreams, &issuers))
        .collect();
    c.overlaps();
    if !c.errors.is_empty() {
        c.errors.sort_by_key(|e| (e.line, e.column));
        return Err(c.errors);
    }
    // Stable: routes of equal specificity (which never match the same request) keep file order.
    routes.sort_by(|a, b| {
        a.pattern
            .specificity(&b.pattern)
            .then_with(|| a.methods.is_any().cmp(&b.methods.is_any()))
    });
    let index = RouteIndex::new(routes.iter().map(|route| &route.pattern));
    Ok(RouteTable {
        upstreams: upstreams.into(),
        routes: routes.into(),
        index,
        settings,
        issuers: issuers.into(),
    })
}

// === impl Level ===

impl Merge for Level {
    fn merge(self, fallback: &Self) -> Self {
        Self {
            connect_timeout: self.connect_timeout.or(fallback.connect_timeout),
            request_timeout: self.request_timeout.or(fallback.request_timeout),
            max_body_bytes: self.max_body_bytes.or(fallback.max_body_bytes),
            compression: self.compression.merge(&fallback.compression),
            auth: self.auth.or(fallback.auth),
        }
    }
}

// === impl Checker ===

impl Checker {
    fn error(&mut self, at: &Location, message: impl Into<String>) {
        self.errors
            .push(ConfigError::new(at.line(), at.column(), message));
    }

    fn settings(&mut self, file: &RoutesFile) -> Settings {
        let s = &file.settings;
        let mut trusted_proxies = Vec::new();
        for entry in s.trusted_proxies.iter().flatten() {
            let parsed = entry
                .value
                .parse::<IpNet>()
                .or_else(|_| entry.value.parse::<IpAddr>().map(IpNet::from));
            match parsed {
                Ok(net) => trusted_proxies.push(net),
                Err(_) => self.error(
                    &entry.referenced,
                    format!(
                        "settings.trusted_proxies: `{}` is not an IP address or CIDR block (e.g. 10.0.0.0/8)",
                        entry.value
                    ),
                ),
            }
        }
        let max_header_bytes = match &s.max_header_bytes {
            Some(v) if !MAX_HEADER_BYTES_RANGE.contains(&v.value) => {
                self.error(
                    &v.referenced,
                    format!(
                        "settings.max_header_bytes: {} is outside {}..={}",
                        v.value,
                        MAX_HEADER_BYTES_RANGE.start(),
                        MAX_HEADER_BYTES_RANGE.end()
                    ),
                );
                DEFAULT_MAX_HEADER_BYTES
            }
            Some(v) => v.value,
            None => DEFAULT_MAX_HEADER_BYTES,
        };
        let handover_timeout = self
            .handover_timeout("settings.handover_timeout", s.handover_timeout.as_ref())
            .unwrap_or(DEFAULT_HANDOVER_TIMEOUT);
        Settings {
            upstream_header: s.upstream_header.unwrap_or(true),
            trusted_proxies,
            max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
            handover_timeout,
        }
    }

    /// A hand-over bound: a duration up to [`MAX_HANDOVER_TIMEOUT`], where `0s` is
    /// allowed (it turns the wait off).
    fn handover_timeout(
        &mut self,
        field: &str,
        value: Option<&Spanned<String>>,
    ) -> Option<Duration> {
        let value = value?;
        match humantime::parse_duration(&value.value) {
            Ok(d) if d > MAX_HANDOVER_TIMEOUT => {
                self.error(
                    &value.referenced,
                    format!(
                        "{field}: `{}` is over {}: a swap waits at most that long",
                        value.value,
                        humantime::format_duration(MAX_HANDOVER_TIMEOUT)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(err) => {
                self.error(
                    &value.referenced,
                    format!(
                        "{field}: `{}` is not a duration ({err}); write e.g. `500ms`, `2s`, or `0s` to never wait",
                        value.value
                    ),
                );
                None
            }
        }
    }

    /// Parses one level's overridable settings, `prefix` naming it in messages.
    fn level(&mut self, prefix: &str, config: &Defaults) -> Level {
        Level {
            connect_timeout: self.duration(
                &format!("{prefix}.connect_timeout"),
                config.connect_timeout.as_ref(),
            ),
            request_timeout: self.duration(
                &format!("{prefix}.request_timeout"),
                config.request_timeout.as_ref(),
            ),
            max_body_bytes: config.max_body_bytes.as_ref().map(|v| v.value),
            compression: Partial::parse(
                &format!("{prefix}.compression"),
                config.compression.as_ref(),
                &mut self.errors,
            ),
            auth: self.auth_setting(&format!("{prefix}.auth"), config.auth.as_ref()),
        }
    }

    fn duration(&mut self, field: &str, value: Option<&Spanned<String>>) -> Option<Duration> {
        let value = value?;
        match humantime::parse_duration(&value.value) {
            Ok(d) if d.is_zero() => {
                self.error(&value.referenced, format!("{field}: must be more than 0"));
                None
            }
            Ok(d) => Some(d),
            Err(err) => {
                self.error(
                    &value.referenced,
                    format!(
                        "{field}: `{}` is not a duration ({err}); write e.g. `250ms`, `2s`, `1m`",
                        value.value
                    ),
                );
                None
            }
        }
    }

    fn upstream(
        &mut self,
        name: &str,
        config: &Spanned<UpstreamConfig>,
        all: &Level,
        overrides: &Overrides,
    ) -> Option<Upstream> {
        let at = &config.referenced;
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name {
            self.error(
                at,
                format!("upstream `{name}`: names may hold only a-z, 0-9, `-` and `_`"),
            );
        }
        let own = Defaults {
            connect_timeout: config.value.connect_timeout.clone(),
            request_timeout: config.value.request_timeout.clone(),
            max_body_bytes: None,
            compression: None,
            auth: None,
        };
        let field = |f: &str| format!("upstreams.{name}.{f}");
        let level = self.level(&format!("upstreams.{name}"), &own).merge(all);
        let connect_timeout = level.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let request_timeout = level.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        let url_at = &config.value.url.referenced;
        let (url, source) = match overrides.url(name) {
            Some(url) => (url, "(overridden) "),
            None => (config.value.url.value.as_str(), ""),
        };
        let base = match parse_base_url(url) {
            Ok(base) => Some(base),
            Err(why) => {
                self.error(url_at, format!("{}: {source}`{url}` {why}", field("url")));
                None
            }
        };
        let (scheme, authority) = base?;
        if !valid_name {
            return None;
        }
        Some(Upstream {
            name: name.into(),
            url: url.into(),
            scheme,
            host: HeaderValue::from_str(authority.as_str()).ok()?,
            name_header: HeaderValue::from_str(name).ok()?,
            authority,
            connect_timeout,
            request_timeout,
        })
    }

    fn route(
        &mut self,
        route: &Spanned<RouteConfig>,
        all: &Level,
        names: &[&str],
        upstreams: &[Upstream],
        issuers: &[super::edge::Issuer],
    ) -> Option<Route> {
        let at = &route.referenced;
        let r = &route.value;
        let pattern = match (&r.path, &r.prefix) {
            (Some(path), None) => self.pattern(path, Pattern::template),
            (None, Some(prefix)) => self.pattern(prefix, Pattern::prefix),
            (Some(_), Some(prefix)) => {
                self.error(
                    &prefix.referenced,
                    "a route has `path` or `prefix`, not both",
                );
                None
            }
            (None, None) => {
                self.error(at, "a route needs `path` (a template) or `prefix`");
                None
            }
        };
        let methods = self.methods(r.methods.as_deref(), at);
        if let (Some(p), Some(m)) = (&pattern, methods) {
            self.shapes.push((p.clone(), m, at.line()));
        }
        let target = self.target(route, names, upstreams, pattern.as_ref());
        let shadow = self.shadow(
            r.shadow.as_ref(),
            methods,
            target.as_ref(),
            names,
            upstreams,
        );
        // The upstream level sits between `all` and the route for timeouts, so a route's
        // own timeout is kept apart and applied over the chosen upstream's at request time.
        let own = Defaults {
            connect_timeout: None,
            request_timeout: r.request_timeout.clone(),
            max_body_bytes: r.max_body_bytes.clone(),
            compression: r.compression.clone(),
            auth: r.auth.clone(),
        };
        let level = self.level("routes[]", &own);
        let request_timeout = level.request_timeout;
        if level.auth.is_some() {
            self.auth_needs_issuers(&level, issuers);
        }
        let merged = level.merge(all);
        let max_body_bytes = merged.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES);
        let compression = merged.compression.finish();
        let auth = self.route_auth(r, merged.auth.as_ref(), pattern.as_ref());
        let rate_limit = self.rate_limit(r, auth.as_ref());
        let handover_timeout =
            self.handover_timeout("routes[].handover_timeout", r.handover_timeout.as_ref());
        Some(Route {
            pattern: pattern?,
            methods: methods?,
            target: target?,
            request_timeout,
            max_body_bytes,
            compression,
            auth: auth?,
            rate_limit: rate_limit?,
            shadow: shadow?,
            handover_timeout,
            line: at.line(),
        })
    }

    fn pattern(
        &mut self,
        source: &Spanned<String>,
        compile: fn(&str) -> Result<Pattern, String>,
    ) -> Option<Pattern> {
        compile(&source.value)
            .map_err(|why| self.error(&source.referenced, why))
            .ok()
    }

    fn methods(&mut self, methods: Option<&[Spanned<String>]>, at: &Location) -> Option<Methods> {
        let Some(list) = methods else {
            return Some(Methods::ANY);
        };
        let mut set = Methods::ANY;
        let mut ok = true;
        if list.is_empty() {
            self.error(
                at,
                "`methods: []` serves nothing; leave `methods` out to serve every method",
            );
            return None;
        }
        for m in list {
            match Methods::parse_one(&m.value) {
                Some(bit) if !set.intersection(bit).is_any() => {
                    self.error(
                        &m.referenced,
                        format!("method `{}` is listed twice", m.value),
                    );
                    ok = false;
                }
                Some(bit) => set = set.union(bit),
                None => {
                    self.error(
                        &m.referenced,
                        format!(
                            "`{}` is not a method; use GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS or TRACE",
                            m.value
                        ),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(set)
    }

    fn target(
        &mut self,
        route: &Spanned<RouteConfig>,
        names: &[&str],
        upstreams: &[Upstream],
        pattern: Option<&Pattern>,
    ) -> Option<Target> {
        let r = &route.value;
        let known = |name: &str| {
            upstreams
                .iter()
                .position(|u| &*u.name == name)
                .map(UpstreamId)
        };
        match (&r.to, &r.split) {
            (Some(to), None) => {
                if let Some(sticky) = &r.sticky {
                    self.error(&sticky.referenced, "`sticky` applies only to a `split`");
                }
                if !names.contains(&to.value.as_str()) {
                    self.error(&to.referenced, unknown_upstream(&to.value, names));
                    return None;
                }
                known(&to.value).map(Target::One)
            }
            (None, Some(split)) => {
                let sticky = r.sticky.as_ref().map(|s| self.sticky(s, pattern));
                let split = self.split(split, names, upstreams)?;
                match sticky {
                    Some(None) => None,
                    Some(Some(sticky)) => Some(Target::Split(Split {
                        sticky: Some(sticky),
                        ..split
                    })),
                    None => Some(Target::Split(split)),
                }
            }
            (Some(_), Some(split)) => {
                self.error(&split.referenced, "a route has `to` or `split`, not both");
                None
            }
            (None, None) => {
                self.error(
                    &route.referenced,
                    "a route needs `to: UPSTREAM` or `split: {UPSTREAM: WEIGHT, …}`",
                );
                None
            }
        }
    }

    /// The sides of a split (without stickiness), or `None` after recording its errors.
    fn split(
        &mut self,
        split: &Spanned<BTreeMap<String, Spanned<u64>>>,
        names: &[&str],
        upstreams: &[Upstream],
    ) -> Option<Split> {
        let mut sides = Vec::new();
        let mut total: u64 = 0;
        let mut ok = true;
        for (name, weight) in &split.value {
            if !names.contains(&name.as_str()) {
                self.error(&weight.referenced, unknown_upstream(name, names));
                ok = false;
            } else if weight.value > MAX_WEIGHT {
                let message = format!(
                    "split weight {} of `{name}` is over {MAX_WEIGHT}",
                    weight.value
                );
                self.error(&weight.referenced, message);
                ok = false;
            } else if weight.value > 0 {
                total += weight.value;
                // Absent only when the upstream itself was invalid, already reported.
                match upstreams.iter().position(|u| *u.name == **name) {
                    Some(id) => sides.push((total, UpstreamId(id))),
                    None => ok = false,
                }
            }
        }
        if ok && total == 0 {
            self.error(
                &split.referenced,
                "split weights sum to 0, so no upstream could serve; give one a positive weight",
            );
            return None;
        }
        ok.then(|| Split {
            sides: sides.into(),
            total,
            sticky: None,
            next: AtomicU64::new(0),
        })
    }

    fn sticky(
        &mut self,
        sticky: &Spanned<StickyConfig>,
        pattern: Option<&Pattern>,
    ) -> Option<Sticky> {
        match (&sticky.value.header, &sticky.value.param) {
            (Some(header), None) => match HeaderName::from_bytes(header.value.as_bytes()) {
                Ok(name) => Some(Sticky::Header(name)),
                Err(_) => {
                    self.error(
                        &header.referenced,
                        format!("sticky.header: `{}` is not a header name", header.value),
                    );
                    None
                }
            },
            (None, Some(param)) => {
                let pattern = pattern?;
                match pattern.param_index(&param.value) {
                    Some(index) => Some(Sticky::Param {
                        name: param.value.as_str().into(),
                        index,
                    }),
                    None if pattern.is_catch_all(&param.value) => {
                        self.error(
                            &param.referenced,
                            format!(
                                "sticky.param: `{}` is a catch-all; use a single-segment parameter",
                                param.value
                            ),
                        );
                        None
                    }
                    None => {
                        self.error(
                            &param.referenced,
                            format!(
                                "sticky.param: `{}` is not a parameter of `{}`",
                                param.value,
                                pattern.source()
                            ),
                        );
                        None
                    }
                }
            }
            _ => {
                self.error(
                    &sticky.referenced,
                    "sticky needs exactly one of `header` or `param`",
                );
                None
            }
        }
    }

    /// Duplicate routes, and routes whose methods another route of the same shape already
    /// serves (so one of them could never be reached).
    fn overlaps(&mut self) {
        let mut found = Vec::new();
        for (j, (pattern, methods, line)) in self.shapes.iter().enumerate() {
            for (earlier, earlier_methods, earlier_line) in &self.shapes[..j] {
                if !earlier.same_shape(pattern) {
                    continue;
                }
                let shared = earlier_methods.intersection(*methods);
                if earlier_methods == methods {
                    found.push(ConfigError::new(
                        *line,
                        1,
                        format!(
                            "duplicate route: `{pattern}` ({methods}) is already routed at line {earlier_line}"
                        ),
                    ));
                } else if !earlier_methods.is_any() && !methods.is_any() && !shared.is_any() {
                    found.push(ConfigError::new(
                        *line,
                        1,
                        format!(
                            "shadowed route: {shared} `{pattern}` is already routed at line {earlier_line}"
                        ),
                    ));
                }
            }
        }
        self.errors.extend(found);
    }
}

fn unknown_upstream(name: &str, names: &[&str]) -> String {
    let defined = if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    };
    format!("unknown upstream `{name}`; defined upstreams: {defined}")
}

/// Parses a base URL: `http://host[:port]` with at most a trailing `/`.
fn parse_base_url(url: &str) -> Result<(Scheme, Authority), &'static str> {
    let uri: Uri = url.parse().map_err(|_| "is not a URL")?;
    let scheme = uri.scheme().ok_or("needs a scheme, `http://`")?;
    if *scheme != Scheme::HTTP {
        return Err("must be http:// (upstreams are reached over plain HTTP)");
    }
    let authority = uri.authority().ok_or("has no host")?;
    if authority.as_str().contains('@') {
        return Err("must not carry credentials");
    }
    if authority.host().is_empty() {
        return Err("has no host");
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err("must not have a path or query: routes forward the request's own path");
    }
    Ok((scheme.clone(), authority.clone()))
}
