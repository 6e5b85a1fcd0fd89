//! What a compiled table says about the edge: the issuers whose tokens it accepts, and per
//! route whether a token is needed, whose resource it is, and how fast a client may call.
//! Plain data: the key sets and limiter state these configure live in the snapshot.

use std::fmt;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use governor::Quota;
use http::Uri;
use jsonwebtoken::{Algorithm, Validation};

/// The algorithms an issuer may list: asymmetric only, so a verifier can never sign.
pub const ALGORITHMS: [(&str, Algorithm); 3] = [
    ("RS256", Algorithm::RS256),
    ("ES256", Algorithm::ES256),
    ("EdDSA", Algorithm::EdDSA),
];

/// One trusted token signer from `issuers:`.
#[derive(Debug)]
pub struct Issuer {
    /// Its name in routes.yaml.
    pub name: Box<str>,
    /// The `iss` claim its tokens carry.
    pub issuer: Box<str>,
    /// Accepted `aud` values.
    pub audiences: Box<[Box<str>]>,
    /// Accepted signature algorithms.
    pub algorithms: Box<[Algorithm]>,
    /// Where its JWKS document is.
    pub keys: KeySource,
    /// Line and column of `jwks_file` or `jwks_url`, for messages about the document.
    pub keys_at: (u64, u64),
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
    /// How often the key set is read again.
    pub refresh: Duration,
    /// Least time between two reads for an unknown `kid`.
    pub min_refetch_interval: Duration,
    /// The claim checks, built once.
    pub(crate) validation: Validation,
}

/// Where an issuer's JWKS document is read from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeySource {
    /// A file.
    File(PathBuf),
    /// An `http://` or `https://` URL.
    Url(Uri),
}

/// What a route asks of the caller's token.
#[derive(Debug, Clone)]
pub struct RouteAuth {
    /// Whether a token must be sent.
    pub mode: AuthMode,
    /// The path parameter the token's subject must equal, if any.
    pub owner: Option<Owner>,
}

/// `auth: required` or `auth: optional` (`none` compiles to no [`RouteAuth`] at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No valid token, no request: 401.
    Required,
    /// A token is verified when sent; without one the request goes on anonymously.
    Optional,
}

/// `owner: {param: NAME}`, compiled.
#[derive(Debug, Clone)]
pub struct Owner {
    /// The parameter's name.
    pub name: Box<str>,
    /// Its segment position in the path.
    pub index: usize,
}

/// `rate_limit:` of a route, compiled.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// What one client is.
    pub by: LimitBy,
    /// Requests per `per`.
    pub count: u32,
    /// The period of `count`.
    pub per: Duration,
    /// Requests at once before the rate applies.
    pub burst: u32,
}

/// How a rate-limited route tells clients apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitBy {
    /// The verified token subject (anonymous requests of an `auth: optional` route by
    /// address).
    Subject,
    /// The peer's IP address, IPv6 by its /64.
    Address,
}

// === impl Issuer ===

impl Issuer {
    /// The claim checks its tokens pass: signature algorithm, `iss`, `aud`, `exp`, `nbf`
    /// with the leeway, and `sub` present.
    pub fn validation(&self) -> &Validation {
        &self.validation
    }

    /// Whether tokens signed with `alg` are accepted.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// The algorithms by name, for messages.
    pub fn algorithm_names(&self) -> Vec<&'static str> {
        self.algorithms.iter().map(|a| algorithm_name(*a)).collect()
    }
}

/// The claim checks of an issuer.
pub(crate) fn validation(
    issuer: &str,
    audiences: &[Box<str>],
    algorithms: &[Algorithm],
    leeway: Duration,
) -> Validation {
    let mut validation = Validation::new(algorithms.first().copied().unwrap_or(Algorithm::EdDSA));
    validation.algorithms = algorithms.to_vec();
    validation.leeway = leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_issuer(&[issuer]);
    validation.set_audience(audiences);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

/// The JOSE name of `alg`.
pub fn algorithm_name(alg: Algorithm) -> &'static str {
    ALGORITHMS
        .iter()
        .find(|(_, a)| *a == alg)
        .map_or("?", |(name, _)| name)
}

// === impl KeySource ===

impl KeySource {
    /// A source from an override or config value: a URL when it starts with `http://` or
    /// `https://`, else a file path.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.starts_with("http://") || text.starts_with("https://") {
            let uri: Uri = text.parse().map_err(|_| format!("`{text}` is not a URL"))?;
            if uri.host().is_none_or(str::is_empty) {
                return Err(format!("`{text}` has no host"));
            }
            Ok(Self::Url(uri))
        } else if text.contains("://") {
            Err(format!("`{text}`: a JWKS URL must be http:// or https://"))
        } else if text.is_empty() {
            Err("an empty path".to_owned())
        } else {
            Ok(Self::File(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url(uri) => write!(f, "{uri}"),
        }
    }
}

// === impl RateLimit ===

impl RateLimit {
    /// The GCRA quota: one request replenished every `per / count`, `burst` at once.
    pub fn quota(&self) -> Quota {
        let count = self.count.max(1);
        let every = self.per / count;
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Quota::with_period(every.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }

    /// The window of the `RateLimit-Policy` header: the time an empty bucket takes to
    /// refill, in whole seconds (at least 1).
    pub fn window_secs(&self) -> u64 {
        let every = self.per.as_secs_f64() / f64::from(self.count.max(1));
        (every * f64::from(self.burst)).ceil().max(1.0) as u64
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by = match self.by {
            LimitBy::Subject => "subject",
            LimitBy::Address => "address",
        };
        write!(
            f,
            "{}/{} burst {} by {by}",
            self.count,
            humantime::format_duration(self.per),
            self.burst
        )
    }
}

impl fmt::Display for RouteAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            AuthMode::Required => f.write_str("auth required")?,
            AuthMode::Optional => f.write_str("auth optional")?,
        }
        if let Some(owner) = &self.owner {
            write!(f, ", owner {{{}}}", owner.name)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_sources_are_urls_or_paths() {
        assert!(matches!(
            KeySource::parse("https://idp.example/jwks.json"),
            Ok(KeySource::Url(_))
        ));
        assert!(matches!(
            KeySource::parse("data/jwks.json"),
            Ok(KeySource::File(_))
        ));
        assert!(KeySource::parse("ftp://idp.example/jwks").is_err());
        assert!(KeySource::parse("").is_err());
    }

    #[test]
    fn quotas_and_windows_follow_the_rate() {
        let limit = RateLimit {
            by: LimitBy::Address,
            count: 20,
            per: Duration::from_secs(1),
            burst: 40,
        };
        let quota = limit.quota();
        assert_eq!(quota.replenish_interval(), Duration::from_millis(50));
        assert_eq!(quota.burst_size().get(), 40);
        assert_eq!(limit.window_secs(), 2);
        let slow = RateLimit {
            count: 1,
            per: Duration::from_secs(60),
            burst: 1,
            ..limit
        };
        assert_eq!(slow.window_secs(), 60);
    }
}
