//! Response compression as routes.yaml sets it: the `compression:` block of `all:` and of
//! each route, parsed ([`CompressionConfig`]), checked with every error at its line and
//! column, merged field by field (route over `all` over the defaults) and compiled into
//! the [`Compression`] policy each route carries.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::config::Merge;
use super::error::ConfigError;

/// Responses smaller than this (by `Content-Length`) are sent as they are (default).
pub const DEFAULT_MIN_BYTES: u64 = 1024;

/// The codings in the gateway's order of preference (default), used where a client rates
/// several equally.
pub const DEFAULT_ALGORITHMS: [Coding; 3] = [Coding::Zstd, Coding::Brotli, Coding::Gzip];

/// The media types compressed by default: text formats; the binary ones (images, video,
/// archives, fonts) are compressed already.
pub const DEFAULT_CONTENT_TYPES: [&str; 9] = [
    "text/*",
    "application/json",
    "application/*+json",
    "application/x-ndjson",
    "application/javascript",
    "application/xml",
    "application/*+xml",
    "image/svg+xml",
    "application/wasm",
];

/// A `compression:` block as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressionConfig {
    /// Compress responses at all (default `true`).
    pub enabled: Option<bool>,
    /// Smallest `Content-Length` compressed, in bytes (default 1024); a response of unknown
    /// length is compressed.
    pub min_bytes: Option<Spanned<u64>>,
    /// The codings offered, most preferred first: any of `zstd`, `br`, `gzip` (default all
    /// three, in that order).
    pub algorithms: Option<Spanned<Vec<Spanned<String>>>>,
    /// The media types compressed: `type/subtype`, `type/*` or `type/*+suffix`.
    pub content_types: Option<Spanned<Vec<Spanned<String>>>>,
}

/// A content coding the gateway can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// Zstandard (RFC 8878), `zstd`.
    Zstd,
    /// Brotli (RFC 7932), `br`.
    Brotli,
    /// gzip (RFC 1952), `gzip`.
    Gzip,
}

/// A media range a response's `Content-Type` is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaRange {
    /// `type/subtype`.
    Exact(Box<str>),
    /// `type/*`: the type, with its `/`.
    AnySubtype(Box<str>),
    /// `type/*+suffix`: the type with its `/`, and the suffix with its `+`.
    Suffix(Box<str>, Box<str>),
}

/// The compression policy of one route, every default applied.
#[derive(Debug, Clone)]
pub struct Compression {
    /// Whether responses on this route are compressed.
    pub enabled: bool,
    /// Smallest known length compressed.
    pub min_bytes: u64,
    /// Codings offered, most preferred first; never empty.
    pub algorithms: Box<[Coding]>,
    /// Media types compressed; never empty.
    pub content_types: Box<[MediaRange]>,
}

/// One level's settings (`all:` or a route), parsed; `None` where it does not say.
#[derive(Debug, Clone, Default)]
pub struct Partial {
    enabled: Option<bool>,
    min_bytes: Option<u64>,
    algorithms: Option<Box<[Coding]>>,
    content_types: Option<Box<[MediaRange]>>,
}

// === impl Coding ===

impl Coding {
    /// The content-coding token, as in `Content-Encoding`.
    pub fn token(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    fn parse(token: &str) -> Option<Self> {
        match token {
            "zstd" => Some(Self::Zstd),
            "br" => Some(Self::Brotli),
            "gzip" => Some(Self::Gzip),
            _ => None,
        }
    }
}

// === impl MediaRange ===

impl MediaRange {
    /// Parses `type/subtype`, `type/*` or `type/*+suffix` (lowercase tokens, no parameters).
    pub fn parse(text: &str) -> Option<Self> {
        let token = |t: &str| {
            !t.is_empty()
                && t.bytes().all(|b| {
                    b.is_ascii_lowercase()
                        || b.is_ascii_digit()
                        || matches!(b, b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.')
                })
        };
        let (ty, sub) = text.split_once('/')?;
        if !token(ty) {
            return None;
        }
        let prefix = format!("{ty}/").into_boxed_str();
        if sub == "*" {
            return Some(Self::AnySubtype(prefix));
        }
        if let Some(suffix) = sub.strip_prefix("*+") {
            return token(suffix).then(|| Self::Suffix(prefix, format!("+{suffix}").into()));
        }
        let whole = sub.split('+').all(token);
        whole.then(|| Self::Exact(text.into()))
    }

    /// Whether `essence` (a media type without parameters, lowercase) is in this range.
    pub fn matches(&self, essence: &str) -> bool {
        match self {
            Self::Exact(t) => essence == &**t,
            Self::AnySubtype(ty) => essence.len() > ty.len() && essence.starts_with(&**ty),
            Self::Suffix(ty, suffix) => {
                essence.starts_with(&**ty)
                    && essence.ends_with(&**suffix)
                    && essence.len() > ty.len() + suffix.len()
            }
        }
    }
}

impl std::fmt::Display for MediaRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(t) => f.write_str(t),
            Self::AnySubtype(ty) => write!(f, "{ty}*"),
            Self::Suffix(ty, suffix) => write!(f, "{ty}*{suffix}"),
        }
    }
}

// === impl Compression ===

impl Default for Compression {
    fn default() -> Self {
        Partial::default().finish()
    }
}

impl Compression {
    /// Whether a response of media type `essence` is compressed under this policy.
    pub fn compresses(&self, essence: &str) -> bool {
        self.content_types
            .iter()
            .any(|range| range.matches(essence))
    }
}

// === impl Partial ===

impl Partial {
    /// Parses `config` (the block at `field`, e.g. `all.compression`), adding each problem
    /// to `errors`; what is wrong is left unset.
    pub fn parse(
        field: &str,
        config: Option<&CompressionConfig>,
        errors: &mut Vec<ConfigError>,
    ) -> Self {
        let Some(config) = config else {
            return Self::default();
        };
        let mut error = |at: &serde_saphyr::Location, message: String| {
            errors.push(ConfigError::new(at.line(), at.column(), message));
        };
        let algorithms = config.algorithms.as_ref().and_then(|list| {
            let mut codings = Vec::new();
            let mut ok = true;
            for name in &list.value {
                match Coding::parse(&name.value) {
                    Some(c) if codings.contains(&c) => {
                        error(
                            &name.referenced,
                            format!("{field}.algorithms: `{}` is listed twice", name.value),
                        );
                        ok = false;
                    }
                    Some(c) => codings.push(c),
                    None => {
                        error(
                            &name.referenced,
                            format!(
                                "{field}.algorithms: `{}` is not a coding the gateway makes; use zstd, br or gzip",
                                name.value
                            ),
                        );
                        ok = false;
                    }
                }
            }
            if list.value.is_empty() {
                error(
                    &list.referenced,
                    format!(
                        "{field}.algorithms: an empty list compresses nothing; write `enabled: false` instead"
                    ),
                );
                ok = false;
            }
            ok.then(|| codings.into_boxed_slice())
        });
        let content_types = config.content_types.as_ref().and_then(|list| {
            let mut ranges = Vec::new();
            let mut ok = true;
            for entry in &list.value {
                match MediaRange::parse(&entry.value) {
                    Some(range) => ranges.push(range),
                    None => {
                        error(
                            &entry.referenced,
                            format!(
                                "{field}.content_types: `{}` is not a media range; write `type/subtype`, `type/*` or `type/*+suffix` in lowercase, without parameters",
                                entry.value
                            ),
                        );
                        ok = false;
                    }
                }
            }
            if list.value.is_empty() {
                error(
                    &list.referenced,
                    format!(
                        "{field}.content_types: an empty list compresses nothing; write `enabled: false` instead"
                    ),
                );
                ok = false;
            }
            ok.then(|| ranges.into_boxed_slice())
        });
        Self {
            enabled: config.enabled,
            min_bytes: config.min_bytes.as_ref().map(|v| v.value),
            algorithms,
            content_types,
        }
    }

    /// The policy, with the built-in default wherever no level said.
    pub fn finish(self) -> Compression {
        Compression {
            enabled: self.enabled.unwrap_or(true),
            min_bytes: self.min_bytes.unwrap_or(DEFAULT_MIN_BYTES),
            algorithms: self.algorithms.unwrap_or_else(|| DEFAULT_ALGORITHMS.into()),
            content_types: self.content_types.unwrap_or_else(|| {
                DEFAULT_CONTENT_TYPES
                    .iter()
                    .filter_map(|t| MediaRange::parse(t))
                    .collect()
            }),
        }
    }
}

impl Merge for Partial {
    fn merge(self, fallback: &Self) -> Self {
        Self {
            enabled: self.enabled.or(fallback.enabled),
            min_bytes: self.min_bytes.or(fallback.min_bytes),
            algorithms: self.algorithms.or_else(|| fallback.algorithms.clone()),
            content_types: self
                .content_types
                .or_else(|| fallback.content_types.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_ranges_parse_and_match() {
        let json = MediaRange::parse("application/json").unwrap();
        assert!(json.matches("application/json"));
        assert!(!json.matches("application/jsonx"));
        let text = MediaRange::parse("text/*").unwrap();
        assert!(text.matches("text/html") && !text.matches("text/") && !text.matches("image/png"));
        let plus = MediaRange::parse("application/*+json").unwrap();
        assert!(plus.matches("application/problem+json"));
        assert!(!plus.matches("application/+json") && !plus.matches("application/json"));
        assert_eq!(plus.to_string(), "application/*+json");
        for bad in [
            "json",
            "Text/*",
            "text/html; charset=utf-8",
            "*/*",
            "text/",
            "/json",
            "a/*+",
        ] {
            assert_eq!(MediaRange::parse(bad), None, "{bad}");
        }
        for default in DEFAULT_CONTENT_TYPES {
            assert!(MediaRange::parse(default).is_some(), "{default}");
        }
    }

    #[test]
    fn the_defaults_compress_text_formats_only() {
        let c = Compression::default();
        assert!(c.enabled);
        assert_eq!(c.min_bytes, 1024);
        assert_eq!(&*c.algorithms, DEFAULT_ALGORITHMS);
        for yes in [
            "application/json",
            "application/problem+json",
            "text/html",
            "image/svg+xml",
        ] {
            assert!(c.compresses(yes), "{yes}");
        }
        for no in [
            "image/png",
            "application/octet-stream",
            "application/zip",
            "video/mp4",
        ] {
            assert!(!c.compresses(no), "{no}");
        }
    }
}
