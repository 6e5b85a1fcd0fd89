//! How two answers to one request are compared: status, content type, and the body,
//! structurally for JSON (object key order never matters, arrays compared index by index,
//! `ignore` patterns skipped) and byte for byte otherwise.

use bytes::Bytes;
use http::HeaderValue;
use serde_json::Value;

use crate::table::PointerPattern;
use crate::table::shadow::escape;

/// Pointers reported per comparison at most; a comparison that finds more is cut there.
pub const MAX_POINTERS: usize = 32;

/// One side's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Its status.
    pub status: u16,
    /// Its `Content-Type`, if any.
    pub content_type: Option<HeaderValue>,
    /// Its whole body.
    pub body: Bytes,
}

/// What differs between two answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    /// The statuses differ.
    pub status: bool,
    /// The content types differ.
    pub content_type: bool,
    /// The JSON pointers whose values differ (`""` for a whole non-JSON body).
    pub pointers: Vec<String>,
    /// More than [`MAX_POINTERS`] differ; `pointers` holds the first.
    pub truncated: bool,
}

// === impl Comparison ===

impl Comparison {
    /// Whether nothing differs.
    pub fn is_equal(&self) -> bool {
        !self.status && !self.content_type && self.pointers.is_empty()
    }
}

/// Compares `a` with `b`, skipping what `ignore` covers.
pub fn compare(a: &Answer, b: &Answer, ignore: &[PointerPattern]) -> Comparison {
    let content_type = !same_content_type(a.content_type.as_ref(), b.content_type.as_ref());
    let mut comparison = Comparison {
        status: a.status != b.status,
        content_type,
        ..Comparison::default()
    };
    let json = is_json(a.content_type.as_ref()) && is_json(b.content_type.as_ref());
    let parsed = json
        .then(|| {
            let left = serde_json::from_slice::<Value>(&a.body).ok()?;
            let right = serde_json::from_slice::<Value>(&b.body).ok()?;
            Some((left, right))
        })
        .flatten();
    match parsed {
        Some((left, right)) => {
            let mut diff = Diff {
                ignore,
                path: Vec::new(),
                found: &mut comparison,
            };
            diff.values(&left, &right);
        }
        None if a.body != b.body => comparison.pointers.push(String::new()),
        None => {}
    }
    comparison
}

/// The pointers at which `a` and `b` differ, skipping what `ignore` covers.
pub fn diff(a: &Value, b: &Value, ignore: &[PointerPattern]) -> Comparison {
    let mut comparison = Comparison::default();
    Diff {
        ignore,
        path: Vec::new(),
        found: &mut comparison,
    }
    .values(a, b);
    comparison
}

struct Diff<'a> {
    ignore: &'a [PointerPattern],
    /// The unescaped segments of the pointer being compared.
    path: Vec<String>,
    found: &'a mut Comparison,
}

impl Diff<'_> {
    fn values(&mut self, a: &Value, b: &Value) {
        // Equal subtrees (the common case) cost one walk without a single allocation.
        if a == b || self.found.truncated || self.ignored() {
            return;
        }
        match (a, b) {
            (Value::Object(left), Value::Object(right)) => {
                for (key, value) in left {
                    self.path.push(key.clone());
                    match right.get(key) {
                        Some(other) => self.values(value, other),
                        None => self.report(),
                    }
                    self.path.pop();
                }
                for key in right.keys().filter(|k| !left.contains_key(*k)) {
                    self.path.push(key.clone());
                    self.report();
                    self.path.pop();
                }
            }
            (Value::Array(left), Value::Array(right)) => {
                for i in 0..left.len().max(right.len()) {
                    self.path.push(i.to_string());
                    match (left.get(i), right.get(i)) {
                        (Some(x), Some(y)) => self.values(x, y),
                        _ => self.report(),
                    }
                    self.path.pop();
                }
            }
            _ => self.report(),
        }
    }

    fn ignored(&self) -> bool {
        !self.path.is_empty() && self.ignore.iter().any(|p| p.covers(&self.path))
    }

    fn report(&mut self) {
        if self.ignored() || self.found.truncated {
            return;
        }
        if self.found.pointers.len() == MAX_POINTERS {
            self.found.truncated = true;
            return;
        }
        let mut pointer = String::new();
        for segment in &self.path {
            pointer.push('/');
            pointer.push_str(&escape(segment));
        }
        self.found.pointers.push(pointer);
    }
}

/// `application/json` or any `+json` type, parameters aside.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(media) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = media.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
        || essence.to_ascii_lowercase().ends_with("+json")
}

fn same_content_type(a: Option<&HeaderValue>, b: Option<&HeaderValue>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let normal = |v: &HeaderValue| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(';')
                    .map(|part| part.trim().to_ascii_lowercase())
                    .collect::<Vec<_>>()
            };
            normal(a) == normal(b)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
