//! Entity tags and `If-None-Match` (RFC 9110 §8.8.3, §13.1.2): a strong [`ETag`] computed
//! from a JSON answer's content, and the 304 a matching `If-None-Match` gets.
//!
//! The tag is the first 128 bits of the SHA-256 of the answer's canonical JSON (object keys
//! sorted, no white space), leaving out the top-level fields named as not part of the
//! content (`generated_at`): two answers with the same content have the same tag, whoever
//! computed them, and any change of content changes it.

use std::fmt;

use axum::response::{IntoResponse, IntoResponseParts, Response, ResponseParts};
use http::header::{CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, IF_NONE_MATCH, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A strong entity tag, `"…"` (32 lowercase hex digits between the quotes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag(String);

/// An [`ETag`] computed from canonical JSON written piece by piece: for a writer that
/// knows its document's shape and can write it with the keys sorted without building a
/// [`Value`] first. The same bytes give the same tag as [`ETag::of_json`].
#[derive(Debug, Clone, Default)]
pub struct TagWriter(Sha256);

/// A request's `If-None-Match`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch {
    /// `*`: any current representation matches.
    Any,
    /// The opaque tags listed (between their quotes; a `W/` prefix dropped, since the
    /// comparison is weak).
    Tags(Vec<String>),
}

/// The `If-None-Match` request header as an operation declares it (for its OpenAPI
/// description; [`IfNoneMatch::from_headers`] reads it).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfNoneMatchHeader {
    /// Entity tags of representations already held (a comma-separated list, `W/` allowed),
    /// or `*`: a 304 with no body when one is the current representation's.
    #[serde(rename = "If-None-Match")]
    #[param(rename = "If-None-Match", value_type = String, required = false, example = "\"3f2a9c0d1e4b5a6f7788990011223344\"")]
    pub if_none_match: Option<String>,
}

/// The headers a 304 keeps from the 200 it stands for (RFC 9110 §15.4.5).
const KEPT_BY_304: [http::HeaderName; 6] =
    [CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, VARY];

// === impl ETag ===

impl ETag {
    /// The tag of `value`'s JSON without the top-level fields `ignored`.
    pub fn of_json(value: &impl Serialize, ignored: &[&str]) -> Result<Self, serde_json::Error> {
        let mut value = serde_json::to_value(value)?;
        if let Value::Object(fields) = &mut value {
            for name in ignored {
                fields.remove(*name);
            }
        }
        let mut writer = TagWriter::new();
        canonical(&value, &mut writer.0)?;
        Ok(writer.finish())
    }

    /// The tag as the `ETag` header shows it, quotes included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The opaque tag: what the quotes enclose.
    pub fn opaque(&self) -> &str {
        self.0.trim_matches('"')
    }
}

impl fmt::Display for ETag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An answer carries its tag as `ETag`.
impl IntoResponseParts for ETag {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        // Quotes around hex digits: always a valid header value.
        if let Ok(value) = HeaderValue::from_str(&self.0) {
            res.headers_mut().insert(ETAG, value);
        }
        Ok(res)
    }
}

// === impl TagWriter ===

impl TagWriter {
    /// A tag of nothing yet.
    pub fn new() -> Self {
        Self(Sha256::new())
    }

    /// Appends `bytes` to the canonical JSON.
    pub fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The tag of everything written.
    pub fn finish(self) -> ETag {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digest = self.0.finalize();
        let mut tag = String::with_capacity(34);
        tag.push('"');
        for byte in &digest[..16] {
            tag.push(char::from(HEX[usize::from(byte >> 4)]));
            tag.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
        tag.push('"');
        ETag(tag)
    }
}

// === impl IfNoneMatch ===

impl IfNoneMatch {
    /// The `If-None-Match` of a request (every header line, each a comma-separated list);
    /// `None` when there is none, or when it is not a valid value (`*` alone, or a list
    /// of entity tags), which a server then ignores.
    pub fn from_headers(headers: &HeaderMap) -> Option<Self> {
        let mut tags = Vec::new();
        let mut any = false;
        let mut present = false;
        for value in headers.get_all(IF_NONE_MATCH) {
            present = true;
            let text = value.to_str().ok()?;
            if text.trim() == "*" {
                any = true;
            } else {
                tags.extend(parse_list(text)?);
            }
        }
        match (present, any, tags.is_empty()) {
            (false, _, _) => None,
            (true, true, true) => Some(Self::Any),
            // `*` mixed with tags is not a valid field value.
            (true, true, false) => None,
            (true, false, _) => Some(Self::Tags(tags)),
        }
    }

    /// Whether the current representation, tagged `etag`, matches: `*`, or a listed tag
    /// equal to it by the weak comparison (opaque tags equal, `W/` or not).
    pub fn matches(&self, etag: &ETag) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => tags.iter().any(|tag| tag == etag.opaque()),
        }
    }
}

/// `response`, answering a GET whose request had `request` headers: when it is a 200
/// tagged `etag` and the request's `If-None-Match` matches, a 304 instead, with no body
/// and only the headers a 304 keeps (`ETag`, `Cache-Control`, `Vary`, …).
pub fn conditional(request: &HeaderMap, etag: &ETag, response: Response) -> Response {
    let matched = IfNoneMatch::from_headers(request).is_some_and(|inm| inm.matches(etag));
    if response.status() != StatusCode::OK || !matched {
        return response;
    }
    let mut not_modified = (StatusCode::NOT_MODIFIED, etag.clone(), ()).into_response();
    for name in KEPT_BY_304 {
        for value in response.headers().get_all(&name) {
            if name != ETAG {
                not_modified
                    .headers_mut()
                    .append(name.clone(), value.clone());
            }
        }
    }
    not_modified
}

/// The entity tags of a comma-separated list (empty items allowed); `None` when an item is
/// not `"…"` or `W/"…"`.
fn parse_list(text: &str) -> Option<Vec<String>> {
    let mut tags = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return Some(tags);
        }
        let quoted = rest.strip_prefix("W/").unwrap_or(rest);
        let body = quoted.strip_prefix('"')?;
        let end = body.find('"')?;
        let opaque = &body[..end];
        // etagc: `!` and `#` to `~`, and obs-text; never a control character or space.
        if !opaque.bytes().all(|b| b == 0x21 || b >= 0x23 && b != 0x7f) {
            return None;
        }
        tags.push(opaque.to_owned());
        rest = body[end + 1..].trim_start_matches([' ', '\t']);
        if !(rest.is_empty() || rest.starts_with(',')) {
            return None;
        }
    }
}

/// Writes `value` as canonical JSON into `hasher`: object keys sorted, no white space.
fn canonical(value: &Value, hasher: &mut Sha256) -> Result<(), serde_json::Error> {
    match value {
        Value::Object(fields) => {
            let mut names: Vec<&String> = fields.keys().collect();
            names.sort();
            hasher.update(b"{");
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                hasher.update(serde_json::to_string(name)?.as_bytes());
                hasher.update(b":");
                if let Some(field) = fields.get(name) {
                    canonical(field, hasher)?;
                }
            }
            hasher.update(b"}");
        }
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                canonical(item, hasher)?;
            }
            hasher.update(b"]");
        }
        scalar => hasher.update(serde_json::to_string(scalar)?.as_bytes()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn inm(values: &[&str]) -> Option<IfNoneMatch> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(IF_NONE_MATCH, HeaderValue::from_str(value).unwrap());
        }
        IfNoneMatch::from_headers(&headers)
    }

    #[test]
    fn canonical_text_written_in_pieces_tags_as_its_json_does() {
        let value = json!({"b": [1, "two\"\n", null], "a": {"y": true, "x": -3}});
        let mut writer = TagWriter::new();
        for piece in [r#"{"a":{"x":-3,"y":true},"#, r#""b":[1,"two\"\n",null]}"#] {
            writer.write(piece.as_bytes());
        }
        assert_eq!(writer.finish(), ETag::of_json(&value, &[]).unwrap());
        let mut other = TagWriter::new();
        other.write(br#"{"a":{"x":-3,"y":true},"b":[1]}"#);
        assert_ne!(other.finish(), ETag::of_json(&value, &[]).unwrap());
    }

    #[test]
    fn the_tag_follows_the_content_not_the_ignored_fields_or_key_order() {
        let a = json!({"user_id": 1, "entries": [{"x": 1, "y": [2]}], "generated_at": "t1"});
        let b = json!({"entries": [{"y": [2], "x": 1}], "generated_at": "t2", "user_id": 1});
        let tag = ETag::of_json(&a, &["generated_at"]).unwrap();
        assert_eq!(tag, ETag::of_json(&b, &["generated_at"]).unwrap());
        assert_eq!(tag.as_str().len(), 34);
        assert!(tag.as_str().starts_with('"') && tag.as_str().ends_with('"'));
        let changed = json!({"user_id": 1, "entries": [{"x": 2, "y": [2]}], "generated_at": "t1"});
        assert_ne!(tag, ETag::of_json(&changed, &["generated_at"]).unwrap());
        // Not ignored, `generated_at` is content.
        assert_ne!(
            ETag::of_json(&a, &[]).unwrap(),
            ETag::of_json(&b, &[]).unwrap()
        );
    }

    #[test]
    fn the_tag_is_stable_across_builds() {
        // SHA-256 of `{"a":[1,"b"]}`, its first 16 bytes: a change here changes every
        // client's cached tags.
        let tag = ETag::of_json(&json!({"a": [1, "b"]}), &[]).unwrap();
        let digest = Sha256::digest(br#"{"a":[1,"b"]}"#);
        let want: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(tag.opaque(), want);
    }

    #[test]
    fn if_none_match_lists_star_and_weak_tags() {
        let tag = ETag(r#""abc""#.to_owned());
        assert_eq!(inm(&[]), None);
        assert_eq!(inm(&["*"]), Some(IfNoneMatch::Any));
        assert!(inm(&[" * "]).unwrap().matches(&tag));
        assert!(inm(&[r#""x", W/"abc""#]).unwrap().matches(&tag));
        assert!(inm(&[r#""x""#, r#""abc""#]).unwrap().matches(&tag));
        assert!(
            inm(&[r#""a,b", "abc""#]).unwrap().matches(&tag),
            "a comma inside a tag"
        );
        assert!(!inm(&[r#""abcd", "ab""#]).unwrap().matches(&tag));
        assert!(!inm(&[r#"W/"x""#]).unwrap().matches(&tag));
        assert_eq!(inm(&[", ,"]), Some(IfNoneMatch::Tags(Vec::new())));
        // Invalid values are ignored.
        for bad in ["abc", r#""abc"#, r#""abc" x"#, r#"*, "abc""#, r#"w/"abc""#] {
            assert_eq!(inm(&[bad]), None, "{bad}");
        }
        assert_eq!(inm(&["*", r#""abc""#]), None);
    }

    #[test]
    fn a_match_is_a_304_with_the_tag_and_caching_headers_and_no_body() {
        let tag = ETag::of_json(&json!({"a": 1}), &[]).unwrap();
        let ok = || {
            (
                tag.clone(),
                [
                    ("vary", "accept-encoding"),
                    ("cache-control", "no-cache"),
                    ("server-timing", "db;dur=1"),
                ],
                "body",
            )
                .into_response()
        };
        let mut request = HeaderMap::new();
        request.insert(IF_NONE_MATCH, HeaderValue::from_str(tag.as_str()).unwrap());
        let answer = conditional(&request, &tag, ok());
        assert_eq!(answer.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(answer.headers()[ETAG], tag.as_str());
        assert_eq!(answer.headers()[VARY], "accept-encoding");
        assert_eq!(answer.headers()[CACHE_CONTROL], "no-cache");
        assert!(answer.headers().get("server-timing").is_none());
        assert!(answer.headers().get(http::header::CONTENT_TYPE).is_none());

        request.insert(IF_NONE_MATCH, HeaderValue::from_static("\"other\""));
        assert_eq!(conditional(&request, &tag, ok()).status(), StatusCode::OK);
        assert_eq!(
            conditional(&HeaderMap::new(), &tag, ok()).status(),
            StatusCode::OK
        );
        // Only a 200 becomes a 304.
        request.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        let created = (StatusCode::CREATED, "x").into_response();
        assert_eq!(
            conditional(&request, &tag, created).status(),
            StatusCode::CREATED
        );
    }
}
