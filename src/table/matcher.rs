//! Request paths: the hygiene check every path passes before routing, and the patterns
//! (templates and prefixes) routes match with.
//!
//! Matching compares raw path bytes, segment by segment, without decoding: [`check_path`]
//! has already refused every encoding that could make two different byte strings mean the
//! same path to an upstream, so the path that matched is forwarded byte for byte.

use std::cmp::Ordering;
use std::fmt;

/// Why a request path is refused with 400 before any route is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Not an origin-form path (`*`, or a path that does not start with `/`).
    #[error("the request target must be a path starting with `/`")]
    NotAbsolute,
    /// A `.` or `..` segment (also `..;param`), which upstreams would resolve differently.
    #[error("the path contains a `.` or `..` segment; send the resolved path instead")]
    DotSegment,
    /// `//` inside the path.
    #[error("the path contains an empty segment (`//`)")]
    EmptySegment,
    /// `%2F` or `%5C`: a slash hidden from the router that an upstream may decode.
    #[error("the path contains an encoded slash or backslash (`%2F`, `%5C`)")]
    EncodedSeparator,
    /// A percent-encoded letter, digit, `-`, `.`, `_` or `~` (including `%2E`), which must
    /// be sent unencoded (RFC 3986 section 2.3).
    #[error(
        "the path percent-encodes a character that must be sent as is (letters, digits, `-._~`)"
    )]
    EncodedUnreserved,
    /// `%` not followed by two hex digits, or an encoded NUL.
    #[error("the path has a malformed percent-encoding or an encoded NUL")]
    BadEncoding,
    /// A raw backslash or control character.
    #[error("the path contains a backslash or a control character")]
    BadCharacter,
}

/// A compiled path template or prefix.
#[derive(Debug, Clone)]
pub struct Pattern {
    segments: Box<[Segment]>,
    tail: Tail,
    source: Box<str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(Box<str>),
    Param(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tail {
    /// The path ends where the segments end.
    Exact,
    /// `{*name}`: one or more further characters.
    CatchAll(Box<str>),
    /// A prefix route: anything further, or nothing.
    Prefix,
}

/// Checks the hygiene rules of `docs/gateway.md` ("Path normalization"): the path is
/// refused rather than rewritten, so what is matched is exactly what is forwarded.
pub fn check_path(path: &str) -> Result<(), PathError> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(PathError::NotAbsolute);
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        if segment.is_empty() && segments.peek().is_some() {
            return Err(PathError::EmptySegment);
        }
        let bare = segment.split(';').next().unwrap_or_default();
        if bare == "." || bare == ".." {
            return Err(PathError::DotSegment);
        }
        check_segment_bytes(segment.as_bytes())?;
    }
    Ok(())
}

fn check_segment_bytes(bytes: &[u8]) -> Result<(), PathError> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let decoded = match (bytes.get(i + 1), bytes.get(i + 2)) {
                    (Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h << 4 | l),
                    _ => None,
                };
                match decoded {
                    None | Some(0) => return Err(PathError::BadEncoding),
                    Some(b'/' | b'\\') => return Err(PathError::EncodedSeparator),
                    Some(b) if is_unreserved(b) => return Err(PathError::EncodedUnreserved),
                    Some(_) => i += 3,
                }
            }
            b'\\' => return Err(PathError::BadCharacter),
            b if b.is_ascii_control() => return Err(PathError::BadCharacter),
            _ => i += 1,
        }
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// The first segment of `path` as [`Pattern::matches`] reads it: `users` of `/users/1`,
/// the empty segment of `/`; `None` for a path without its leading `/`.
pub fn first_segment(path: &str) -> Option<&str> {
    let mut rest = path.strip_prefix('/');
    next_segment(&mut rest)
}

/// Takes the next `/`-separated segment off `rest`; `None` once the path has ended.
fn next_segment<'a>(rest: &mut Option<&'a str>) -> Option<&'a str> {
    let r = rest.take()?;
    match r.split_once('/') {
        Some((segment, after)) => {
            *rest = Some(after);
            Some(segment)
        }
        None => Some(r),
    }
}

// === impl Pattern ===

impl Pattern {
    /// Compiles a template: `/users/{id}/friends`, optionally ending in `{*rest}`.
    pub fn template(source: &str) -> Result<Self, String> {
        let rest = source
            .strip_prefix('/')
            .ok_or_else(|| format!("path `{source}` must start with `/`"))?;
        let mut segments = Vec::new();
        let mut tail = Tail::Exact;
        let mut names: Vec<Box<str>> = Vec::new();
        if !rest.is_empty() {
            let parts: Vec<&str> = rest.split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let segment = parse_template_segment(part, last, source)?;
                if let TemplateSegment::Plain(Segment::Param(name))
                | TemplateSegment::CatchAll(name) = &segment
                {
                    if names.contains(name) {
                        return Err(format!("path `{source}` uses the parameter `{name}` twice"));
                    }
                    names.push(name.clone());
                }
                match segment {
                    TemplateSegment::Plain(s) => segments.push(s),
                    TemplateSegment::CatchAll(n) => tail = Tail::CatchAll(n),
                }
            }
        }
        Ok(Self {
            segments: segments.into(),
            tail,
            source: source.into(),
        })
    }

    /// Compiles a prefix: literal segments, matching themselves and anything below.
    pub fn prefix(source: &str) -> Result<Self, String> {
        let rest = source
            .strip_prefix('/')
            .ok_or_else(|| format!("prefix `{source}` must start with `/`"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let mut segments = Vec::new();
        if !rest.is_empty() {
            for part in rest.split('/') {
                check_literal(part, source)?;
                segments.push(Segment::Literal(part.into()));
            }
        }
        Ok(Self {
            segments: segments.into(),
            tail: Tail::Prefix,
            source: source.into(),
        })
    }

    /// The text this pattern was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this is a prefix rather than a template.
    pub fn is_prefix(&self) -> bool {
        self.tail == Tail::Prefix
    }

    /// The literal the pattern starts with, if it starts with one: every path it matches
    /// has that first segment ([`first_segment`]).
    pub fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(literal)) => Some(literal),
            Some(Segment::Param(_)) | None => None,
        }
    }

    /// Whether `path` (which passed [`check_path`]) matches.
    pub fn matches(&self, path: &str) -> bool {
        let mut rest = path.strip_prefix('/');
        if self.segments.is_empty() && self.tail == Tail::Exact {
            return rest == Some("");
        }
        for segment in &*self.segments {
            let Some(actual) = next_segment(&mut rest) else {
                return false;
            };
            let ok = match segment {
                Segment::Literal(literal) => **literal == *actual,
                Segment::Param(_) => !actual.is_empty(),
            };
            if !ok {
                return false;
            }
        }
        match self.tail {
            Tail::Exact => rest.is_none(),
            Tail::CatchAll(_) => rest.is_some_and(|r| !r.is_empty()),
            Tail::Prefix => true,
        }
    }

    /// A path this pattern matches: its literals, `0` for each parameter and a catch-all;
    /// a prefix itself. Used to ask another table which route would serve the same
    /// requests.
    pub fn sample(&self) -> String {
        let mut path = String::new();
        for segment in &*self.segments {
            path.push('/');
            match segment {
                Segment::Literal(literal) => path.push_str(literal),
                Segment::Param(_) => path.push('0'),
            }
        }
        match self.tail {
            Tail::CatchAll(_) => path.push_str("/0"),
            Tail::Exact | Tail::Prefix if path.is_empty() => path.push('/'),
            Tail::Exact | Tail::Prefix => {}
        }
        path
    }

    /// The position of the single-segment parameter `name`, for [`param_at`](Self::param_at).
    pub fn param_index(&self, name: &str) -> Option<usize> {
        self.segments
            .iter()
            .position(|s| matches!(s, Segment::Param(n) if **n == *name))
    }

    /// Whether `name` is the catch-all parameter of this template.
    pub fn is_catch_all(&self, name: &str) -> bool {
        matches!(&self.tail, Tail::CatchAll(n) if **n == *name)
    }

    /// The raw value of segment `index` of a path this pattern matched.
    pub fn param_at(path: &str, index: usize) -> Option<&str> {
        let mut rest = path.strip_prefix('/');
        for _ in 0..index {
            next_segment(&mut rest)?;
        }
        next_segment(&mut rest)
    }

    /// Two patterns with the same shape match exactly the same paths.
    pub fn same_shape(&self, other: &Self) -> bool {
        self.segments.len() == other.segments.len()
            && self.tail_rank() == other.tail_rank()
            && self
                .segments
                .iter()
                .zip(&*other.segments)
                .all(|pair| match pair {
                    (Segment::Literal(a), Segment::Literal(b)) => a == b,
                    (Segment::Param(_), Segment::Param(_)) => true,
                    _ => false,
                })
    }

    /// Most specific first: compared segment by segment from the left, a literal beats a
    /// parameter; where one pattern ends, an exact end beats a catch-all, which beats a
    /// prefix's open end.
    pub fn specificity(&self, other: &Self) -> Ordering {
        let ranks = |p: &Self| {
            p.segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(_) => 0u8,
                    Segment::Param(_) => 1,
                })
                .chain(std::iter::once(p.tail_rank()))
                .collect::<Vec<u8>>()
        };
        ranks(self).cmp(&ranks(other))
    }

    fn tail_rank(&self) -> u8 {
        match self.tail {
            // Sorts before any further segment, so `/a` precedes `/a/{id}` (they never
            // match the same path) and `/a/{*rest}`.
            Tail::Exact => 0,
            Tail::CatchAll(_) => 2,
            Tail::Prefix => 3,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_prefix() {
            write!(f, "{}/**", self.source.trim_end_matches('/'))
        } else {
            f.write_str(&self.source)
        }
    }
}

enum TemplateSegment {
    Plain(Segment),
    CatchAll(Box<str>),
}

fn parse_template_segment(part: &str, last: bool, source: &str) -> Result<TemplateSegment, String> {
    let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else {
        if part.contains(['{', '}']) {
            return Err(format!(
                "path `{source}`: a parameter must be a whole segment, like `{{id}}`, not `{part}`"
            ));
        }
        check_literal(part, source)?;
        return Ok(TemplateSegment::Plain(Segment::Literal(part.into())));
    };
    let (catch_all, name) = match inner.strip_prefix('*') {
        Some(name) => (true, name),
        None => (false, inner),
    };
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!(
            "path `{source}`: `{part}` is not a parameter; names are letters, digits and `_`"
        ));
    }
    if catch_all && !last {
        return Err(format!(
            "path `{source}`: the catch-all `{part}` must be the last segment"
        ));
    }
    Ok(if catch_all {
        TemplateSegment::CatchAll(name.into())
    } else {
        TemplateSegment::Plain(Segment::Param(name.into()))
    })
}

fn check_literal(part: &str, source: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err(format!(
            "`{source}` has an empty segment (`//` or a trailing `/`)"
        ));
    }
    if part == "." || part == ".." {
        return Err(format!(
            "`{source}` has a `{part}` segment, which no request can carry"
        ));
    }
    if !part.bytes().all(is_unreserved) {
        return Err(format!(
            "`{source}`: segment `{part}` may hold only letters, digits and `-._~`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
