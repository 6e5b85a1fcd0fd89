//! The rules of the edge settings: `issuers:`, `auth`, `owner` and `rate_limit`.

use std::time::Duration;

use jsonwebtoken::Algorithm;
use serde_saphyr::{Location, Spanned};

use super::{Checker, Level};
use crate::table::config::{IssuerConfig, RateLimitConfig, RouteConfig, RoutesFile};
use crate::table::edge::{
    self, ALGORITHMS, AuthMode, Issuer, KeySource, LimitBy, Owner, RateLimit, RouteAuth,
};
use crate::table::matcher::Pattern;
use crate::table::overrides::Overrides;

/// `auth:` as written at one level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AuthSetting {
    Required,
    Optional,
    None,
}

const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
const MAX_LEEWAY: Duration = Duration::from_secs(300);
const DEFAULT_REFRESH: Duration = Duration::from_secs(300);
const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);
const MAX_RATE: u64 = 1_000_000;

// === impl Checker ===

impl Checker {
    /// Parses an `auth:` value.
    pub(super) fn auth_setting(
        &mut self,
        field: &str,
        value: Option<&Spanned<String>>,
    ) -> Option<(AuthSetting, Location)> {
        let value = value?;
        let setting = match value.value.as_str() {
            "required" => AuthSetting::Required,
            "optional" => AuthSetting::Optional,
            "none" => AuthSetting::None,
            other => {
                self.error(
                    &value.referenced,
                    format!("{field}: `{other}` is not `required`, `optional` or `none`"),
                );
                return None;
            }
        };
        Some((setting, value.referenced))
    }

    /// A level that asks for tokens needs an issuer to verify them.
    pub(super) fn auth_needs_issuers(&mut self, level: &Level, issuers: &[Issuer]) {
        if let Some((setting, at)) = &level.auth
            && *setting != AuthSetting::None
            && issuers.is_empty()
        {
            self.error(
                at,
                "auth needs an issuer to verify tokens with; define one under `issuers:`",
            );
        }
    }

    /// Every valid issuer, with `overrides` replacing key sources.
    pub(super) fn issuers(&mut self, file: &RoutesFile, overrides: &Overrides) -> Vec<Issuer> {
        file.issuers
            .iter()
            .filter_map(|(name, config)| self.issuer(name, config, overrides))
            .collect()
    }

    fn issuer(
        &mut self,
        name: &str,
        config: &Spanned<IssuerConfig>,
        overrides: &Overrides,
    ) -> Option<Issuer> {
        let at = &config.referenced;
        let c = &config.value;
        let field = |f: &str| format!("issuers.{name}.{f}");
        let mut ok = true;
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_name {
            self.error(
                at,
                format!("issuer `{name}`: names may hold only a-z, 0-9, `-` and `_`"),
            );
            ok = false;
        }
        if c.issuer.value.trim().is_empty() {
            self.error(
                &c.issuer.referenced,
                format!("{}: must not be empty", field("issuer")),
            );
            ok = false;
        }
        let audiences: Vec<Box<str>> = c
            .audiences
            .value
            .iter()
            .filter_map(|a| {
                if a.value.trim().is_empty() {
                    self.error(
                        &a.referenced,
                        format!("{}: an audience must not be empty", field("audiences")),
                    );
                    ok = false;
                    None
                } else {
                    Some(a.value.as_str().into())
                }
            })
            .collect();
        if c.audiences.value.is_empty() {
            self.error(
                &c.audiences.referenced,
                format!(
                    "{}: list at least one: a token is accepted only for an audience named here",
                    field("audiences")
                ),
            );
            ok = false;
        }
        let algorithms = self.algorithms(&field("algorithms"), &c.algorithms);
        let keys = self.key_source(name, c, overrides);
        let leeway = self
            .duration(&field("leeway"), c.leeway.as_ref())
            .unwrap_or(DEFAULT_LEEWAY);
        if leeway > MAX_LEEWAY
            && let Some(v) = &c.leeway
        {
            self.error(
                &v.referenced,
                format!(
                    "{}: at most {}: a larger skew keeps expired tokens alive",
                    field("leeway"),
                    humantime::format_duration(MAX_LEEWAY)
                ),
            );
            ok = false;
        }
        let refresh = self
            .duration(&field("refresh"), c.refresh.as_ref())
            .unwrap_or(DEFAULT_REFRESH);
        let min_refetch_interval = self
            .duration(
                &field("min_refetch_interval"),
                c.min_refetch_interval.as_ref(),
            )
            .unwrap_or(DEFAULT_MIN_REFETCH);
        let keys_at = c
            .jwks_file
            .as_ref()
            .or(c.jwks_url.as_ref())
            .map_or((at.line(), at.column()), |v| {
                (v.referenced.line(), v.referenced.column())
            });
        let (algorithms, keys) = (algorithms?, keys?);
        if !ok {
            return None;
        }
        let validation = edge::validation(&c.issuer.value, &audiences, &algorithms, leeway);
        Some(Issuer {
            name: name.into(),
            issuer: c.issuer.value.as_str().into(),
            audiences: audiences.into(),
            algorithms: algorithms.into(),
            keys,
            keys_at,
            leeway,
            refresh,
            min_refetch_interval,
            validation,
        })
    }

    fn algorithms(
        &mut self,
        field: &str,
        list: &Spanned<Vec<Spanned<String>>>,
    ) -> Option<Vec<Algorithm>> {
        let allowed = ALGORITHMS.map(|(name, _)| name).join(", ");
        if list.value.is_empty() {
            self.error(
                &list.referenced,
                format!("{field}: list at least one of {allowed}"),
            );
            return None;
        }
        let mut algorithms = Vec::new();
        let mut ok = true;
        for entry in &list.value {
            let name = entry.value.as_str();
            match ALGORITHMS.iter().find(|(n, _)| *n == name) {
                Some((_, alg)) if algorithms.contains(alg) => {
                    self.error(
                        &entry.referenced,
                        format!("{field}: `{name}` is listed twice"),
                    );
                    ok = false;
                }
                Some((_, alg)) => algorithms.push(*alg),
                None if name.to_ascii_uppercase().starts_with("HS")
                    || name.eq_ignore_ascii_case("none") =>
                {
                    self.error(
                        &entry.referenced,
                        format!(
                            "{field}: `{name}` is refused: a shared secret (HS*) would let \
                             whoever verifies tokens sign them, and `none` is no signature; \
                             use {allowed}"
                        ),
                    );
                    ok = false;
                }
                None => {
                    self.error(
                        &entry.referenced,
                        format!("{field}: `{name}` is not supported; use {allowed}"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(algorithms)
    }

    fn key_source(
        &mut self,
        name: &str,
        c: &IssuerConfig,
        overrides: &Overrides,
    ) -> Option<KeySource> {
        let written = match (&c.jwks_file, &c.jwks_url) {
            (Some(file), None) => Some((file, "jwks_file")),
            (None, Some(url)) => Some((url, "jwks_url")),
            (Some(_), Some(url)) => {
                self.error(
                    &url.referenced,
                    format!("issuers.{name}: `jwks_file` or `jwks_url`, not both"),
                );
                None
            }
            (None, None) => None,
        };
        if let Some(source) = overrides.jwks(name) {
            return match KeySource::parse(source) {
                Ok(keys) => Some(keys),
                Err(why) => {
                    let at = written.map_or(Location::UNKNOWN, |(v, _)| v.referenced);
                    self.error(&at, format!("issuers.{name}: (overridden) {why}"));
                    None
                }
            };
        }
        let Some((value, key)) = written else {
            if c.jwks_file.is_none() {
                self.error(
                    &c.issuer.referenced,
                    format!("issuers.{name}: needs its keys: `jwks_file: PATH` or `jwks_url: URL`"),
                );
            }
            return None;
        };
        let parsed = KeySource::parse(&value.value);
        match parsed {
            Ok(KeySource::File(_)) if key == "jwks_url" => {
                self.error(
                    &value.referenced,
                    format!(
                        "issuers.{name}.jwks_url: `{}` is not an http:// or https:// URL",
                        value.value
                    ),
                );
                None
            }
            Ok(KeySource::Url(_)) if key == "jwks_file" => {
                self.error(
                    &value.referenced,
                    format!(
                        "issuers.{name}.jwks_file: `{}` is a URL; write it as `jwks_url`",
                        value.value
                    ),
                );
                None
            }
            Ok(keys) => Some(keys),
            Err(why) => {
                self.error(&value.referenced, format!("issuers.{name}.{key}: {why}"));
                None
            }
        }
    }

    /// The route's auth (`Some(None)`: no token looked at), or `None` after recording its
    /// errors.
    pub(super) fn route_auth(
        &mut self,
        r: &RouteConfig,
        auth: Option<&(AuthSetting, Location)>,
        pattern: Option<&Pattern>,
    ) -> Option<Option<RouteAuth>> {
        let mode = match auth.map(|(setting, _)| *setting) {
            Some(AuthSetting::Required) => Some(AuthMode::Required),
            Some(AuthSetting::Optional) => Some(AuthMode::Optional),
            Some(AuthSetting::None) | None => None,
        };
        let Some(owner) = &r.owner else {
            return Some(mode.map(|mode| RouteAuth { mode, owner: None }));
        };
        let param = &owner.value.param;
        if mode != Some(AuthMode::Required) {
            let now = match mode {
                Some(AuthMode::Optional) => "optional",
                _ => "none",
            };
            self.error(
                &owner.referenced,
                format!(
                    "`owner` needs `auth: required` (auth is `{now}` here): without a token \
                     there is no owner to compare"
                ),
            );
            return None;
        }
        let pattern = pattern?;
        let index = match pattern.param_index(&param.value) {
            Some(index) => index,
            None if pattern.is_catch_all(&param.value) => {
                self.error(
                    &param.referenced,
                    format!(
                        "owner.param: `{}` is a catch-all; use a single-segment parameter",
                        param.value
                    ),
                );
                return None;
            }
            None => {
                self.error(
                    &param.referenced,
                    format!(
                        "owner.param: `{}` is not a parameter of `{}`",
                        param.value,
                        pattern.source()
                    ),
                );
                return None;
            }
        };
        Some(Some(RouteAuth {
            mode: AuthMode::Required,
            owner: Some(Owner {
                name: param.value.as_str().into(),
                index,
            }),
        }))
    }

    /// The route's rate limit (`Some(None)`: unlimited), or `None` after recording its
    /// errors. `auth` is the route's compiled auth, `None` when it had errors.
    pub(super) fn rate_limit(
        &mut self,
        r: &RouteConfig,
        auth: Option<&Option<RouteAuth>>,
    ) -> Option<Option<RateLimit>> {
        let Some(config) = &r.rate_limit else {
            return Some(None);
        };
        let RateLimitConfig { by, rate, burst } = &config.value;
        let by_value = match by.value.as_str() {
            "subject" => Some(LimitBy::Subject),
            "address" => Some(LimitBy::Address),
            other => {
                self.error(
                    &by.referenced,
                    format!("rate_limit.by: `{other}` is not `subject` or `address`"),
                );
                None
            }
        };
        if by_value == Some(LimitBy::Subject) && matches!(auth, Some(None)) {
            self.error(
                &by.referenced,
                "rate_limit.by: `subject` needs `auth: required` or `optional` on the route \
                 (or under `all:`); without auth use `by: address`",
            );
            return None;
        }
        let parsed = self.rate(rate);
        let burst = match burst {
            Some(b) if b.value == 0 || b.value > MAX_RATE => {
                self.error(
                    &b.referenced,
                    format!("rate_limit.burst: {} is outside 1..={MAX_RATE}", b.value),
                );
                return None;
            }
            Some(b) => Some(u32::try_from(b.value).unwrap_or(u32::MAX)),
            None => None,
        };
        let (count, per) = parsed?;
        Some(Some(RateLimit {
            by: by_value?,
            count,
            per,
            burst: burst.unwrap_or(count),
        }))
    }

    /// `COUNT/UNIT`: `20/s`, `100/m`, `1000/h`, `5/10s`.
    fn rate(&mut self, rate: &Spanned<String>) -> Option<(u32, Duration)> {
        let bad = |why: &str| {
            format!(
                "rate_limit.rate: `{}` {why}; write COUNT/UNIT, e.g. `20/s`, `100/m`, `5/10s`",
                rate.value
            )
        };
        let Some((count, unit)) = rate.value.split_once('/') else {
            self.error(&rate.referenced, bad("has no `/`"));
            return None;
        };
        let count = match count.trim().parse::<u64>() {
            Ok(n) if (1..=MAX_RATE).contains(&n) => u32::try_from(n).unwrap_or(u32::MAX),
            _ => {
                self.error(
                    &rate.referenced,
                    bad(&format!("needs a COUNT from 1 to {MAX_RATE}")),
                );
                return None;
            }
        };
        let per = match unit.trim() {
            "s" => Some(Duration::from_secs(1)),
            "m" => Some(Duration::from_secs(60)),
            "h" => Some(Duration::from_secs(3600)),
            other => humantime::parse_duration(other).ok(),
        };
        match per {
            Some(per) if per >= Duration::from_millis(1) => Some((count, per)),
            _ => {
                self.error(&rate.referenced, bad("has no unit of at least 1ms"));
                None
            }
        }
    }
}
