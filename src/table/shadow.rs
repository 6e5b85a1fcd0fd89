//! What a compiled table says about shadow traffic: per route, the upstream that gets a
//! copy of its safe requests, how many, and how its answers are compared with the
//! primary's ([`Shadow`]); and the JSON pointer patterns of `ignore` ([`PointerPattern`]).
//! Plain data: the counters, the in-flight bound and the clients live in the snapshot.

use std::fmt;
use std::time::Duration;

use super::compiled::UpstreamId;

/// Default `shadow.percent`: every safe request.
pub const DEFAULT_PERCENT: u8 = 100;
/// Default `shadow.timeout`: time for the shadow's whole answer, head and body.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default `shadow.max_in_flight`: shadow requests of one route at once.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;
/// Default `shadow.noise_sample`: percent of compared requests also sent to the primary a
/// second time, to learn which fields differ between two answers of the same upstream.
pub const DEFAULT_NOISE_SAMPLE: u8 = 10;

/// A route's `shadow:`, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadow {
    /// The upstream that gets the copies.
    pub upstream: UpstreamId,
    /// Percent of the route's safe requests copied (0..=100).
    pub percent: u8,
    /// Whether the shadow's answers are compared with the primary's (else only sent).
    pub compare: bool,
    /// Parts of JSON bodies never compared.
    pub ignore: Box<[PointerPattern]>,
    /// Time allowed for the shadow's answer, head and body.
    pub timeout: Duration,
    /// Shadow requests of this route in flight at once; more are dropped, never queued.
    pub max_in_flight: usize,
    /// Percent of compared requests sent to the primary a second time to learn noise.
    pub noise_sample: u8,
}

/// A JSON pointer (RFC 6901) where a segment `*` stands for any array index or object
/// key. It matches a pointer that starts with it, segment by segment: `/meta` covers
/// `/meta/etag` too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PointerPattern {
    source: Box<str>,
    segments: Box<[Segment]>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Any,
    /// Unescaped (`~1` → `/`, `~0` → `~`).
    Exact(Box<str>),
}

// === impl PointerPattern ===

impl PointerPattern {
    /// Parses a pattern: `""` is refused (it would ignore the whole body), as is a pointer
    /// not starting with `/` or with a `~` not followed by `0` or `1`.
    pub fn parse(source: &str) -> Result<Self, String> {
        if source.is_empty() {
            return Err(
                "`\"\"` would ignore the whole body; set `compare: false` instead".to_owned(),
            );
        }
        let Some(rest) = source.strip_prefix('/') else {
            return Err(format!(
                "`{source}` is not a JSON pointer: it must start with `/` (e.g. `/generated_at`)"
            ));
        };
        let segments = rest
            .split('/')
            .map(|raw| {
                if raw == "*" {
                    return Ok(Segment::Any);
                }
                unescape(raw).map(|s| Segment::Exact(s.into())).ok_or_else(|| {
                    format!(
                        "`{source}` is not a JSON pointer: `~` must be followed by `0` (for `~`) or `1` (for `/`)"
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            source: source.into(),
            segments: segments.into(),
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pointer made of `path` (unescaped segments) is this pattern or below it.
    pub fn covers<S: AsRef<str>>(&self, path: &[S]) -> bool {
        path.len() >= self.segments.len()
            && self
                .segments
                .iter()
                .zip(path)
                .all(|(pattern, segment)| match pattern {
                    Segment::Any => true,
                    Segment::Exact(key) => **key == *segment.as_ref(),
                })
    }
}

impl fmt::Display for PointerPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// One pointer segment unescaped, or `None` for a `~` not followed by `0` or `1`.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// `segment` escaped for a pointer: `~` → `~0`, `/` → `~1`.
pub fn escape(segment: &str) -> std::borrow::Cow<'_, str> {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1").into()
    } else {
        segment.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PointerPattern {
        PointerPattern::parse(s).unwrap()
    }

    #[test]
    fn a_pattern_covers_itself_and_below() {
        assert!(p("/generated_at").covers(&["generated_at"]));
        assert!(p("/meta").covers(&["meta", "etag"]));
        assert!(!p("/meta/etag").covers(&["meta"]));
        assert!(!p("/generated_at").covers(&["generated"]));
    }

    #[test]
    fn a_star_is_any_index_or_key() {
        let pattern = p("/entries/*/at");
        assert!(pattern.covers(&["entries", "0", "at"]));
        assert!(pattern.covers(&["entries", "17", "at"]));
        assert!(pattern.covers(&["entries", "x", "at"]));
        assert!(!pattern.covers(&["entries", "0", "name"]));
        assert!(!pattern.covers(&["entries"]));
    }

    #[test]
    fn escapes_are_unescaped() {
        assert!(p("/a~1b/c~0d").covers(&["a/b", "c~d"]));
        assert_eq!(escape("a/b~c"), "a~1b~0c");
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn bad_pointers_are_refused() {
        assert!(PointerPattern::parse("").is_err());
        assert!(PointerPattern::parse("generated_at").is_err());
        assert!(PointerPattern::parse("/a~2").is_err());
        assert!(PointerPattern::parse("/a~").is_err());
    }
}
