//! The OpenAPI specs client teams generate SDKs from, as plain data: no listener, proxy or
//! admin type appears here.
//!
//! - Each service's spec is generated from its code (`utoipa`) and checked in as
//!   `openapi/NAME.json`; so is the admin API's (`gateway-admin.json`) and the merged spec
//!   of `routes.yaml` (`gateway.json`). [`write()`] writes such specs, [`check()`] compares them
//!   with the checked-in files and [`stale_report`] says how to fix a difference; the
//!   `gateway openapi` command feeds them what the code generates.
//! - The gateway serves at `/openapi.json` one merged spec of what its active route table
//!   exposes ([`merge()`]), rebuilt on every table swap ([`served_bytes`]) from the
//!   checked-in service specs compiled into the binary ([`embedded`]), so it needs no
//!   upstream and no service crate to answer and is the same on every replica.
//! - [`compare`]: operations two specs share, and where they disagree.
//!
//! Files are pretty-printed JSON with keys in sorted order and a trailing newline, so a
//! regenerated file differs from the checked-in one only where the contract changed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::Value;

use crate::table::RouteTable;

pub mod compare;
pub mod merge;

pub use merge::merge;

/// Where the gateway (proxy listener) and the admin listener serve their specs.
pub const PATH: &str = "/openapi.json";

/// The upstreams whose specs are checked in, by the names routes files give them, in the
/// order the merged spec lists their paths. An upstream with another name contributes no
/// paths to the merged spec (the gateway cannot know what it serves).
pub const UPSTREAMS: [&str; 5] = ["users", "friends", "messages", "timeline", "monolith"];

/// The checked-in merged spec of `routes.yaml`.
pub const GATEWAY: &str = "gateway";
/// The checked-in spec of the admin API.
pub const GATEWAY_ADMIN: &str = "gateway-admin";

/// The command that rewrites every checked-in spec, for messages about stale ones.
pub const REGENERATE: &str = "cargo run -- openapi --write";

/// The service specs as checked in, compiled into the binary.
static EMBEDDED: LazyLock<Vec<(&'static str, Value)>> = LazyLock::new(|| {
    [
        ("users", include_str!("../openapi/users.json")),
        ("friends", include_str!("../openapi/friends.json")),
        ("messages", include_str!("../openapi/messages.json")),
        ("timeline", include_str!("../openapi/timeline.json")),
        ("monolith", include_str!("../openapi/monolith.json")),
    ]
    .into_iter()
    .filter_map(|(name, text)| match serde_json::from_str(text) {
        Ok(spec) => Some((name, spec)),
        Err(err) => {
            // The drift test parses every checked-in file, so this is a build of a broken
            // checkout; the merged spec then lacks this service's paths.
            tracing::error!(spec = name, %err, "checked-in spec is not JSON");
            None
        }
    })
    .collect()
});

/// A stale or missing checked-in spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stale {
    /// The file.
    pub file: PathBuf,
    /// What is wrong: missing, unreadable, or the first differing line.
    pub why: String,
}

// === the specs ===

/// The upstreams' specs as checked in and compiled into this binary.
pub fn embedded() -> &'static [(&'static str, Value)] {
    &EMBEDDED
}

/// The file text of a spec: pretty-printed, keys sorted, trailing newline.
pub fn render(spec: &Value) -> String {
    // A `Value` always serializes: its map keys are strings.
    let mut text = serde_json::to_string_pretty(spec).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every spec into `dir` as `NAME.json`; returns the files that changed.
pub fn write(dir: &Path, specs: &[(String, Value)]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut changed = Vec::new();
    for (name, spec) in specs {
        let file = dir.join(format!("{name}.json"));
        let text = render(spec);
        if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&file, text)?;
            changed.push(file);
        }
    }
    Ok(changed)
}

/// Compares every spec with its checked-in file in `dir`; returns the ones that differ.
pub fn check(dir: &Path, specs: &[(String, Value)]) -> Vec<Stale> {
    let mut stale = Vec::new();
    for (name, spec) in specs {
        let file = dir.join(format!("{name}.json"));
        let expected = render(spec);
        let why = match std::fs::read_to_string(&file) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => "missing".to_owned(),
            Err(err) => format!("unreadable: {err}"),
            Ok(actual) if actual == expected => continue,
            Ok(actual) => first_difference(&actual, &expected),
        };
        stale.push(Stale { file, why });
    }
    stale
}

/// A report of stale specs that ends with the command that fixes them.
pub fn stale_report(stale: &[Stale]) -> String {
    let mut out = String::new();
    for s in stale {
        let _ = writeln!(out, "{}: {}", s.file.display(), s.why);
    }
    let _ = writeln!(
        out,
        "{} spec(s) differ from what the code generates; regenerate them with `{REGENERATE}` \
         and commit the result",
        stale.len()
    );
    out
}

fn first_difference(actual: &str, expected: &str) -> String {
    let mut actual_lines = actual.lines();
    let mut expected_lines = expected.lines();
    for line in 1.. {
        match (actual_lines.next(), expected_lines.next()) {
            (Some(a), Some(e)) if a == e => {}
            (None, None) => break,
            (a, e) => {
                return format!(
                    "differs at line {line}: checked in `{}`, generated `{}`",
                    a.unwrap_or("<end of file>").trim(),
                    e.unwrap_or("<end of file>").trim()
                );
            }
        }
    }
    "differs (line endings or the final newline)".to_owned()
}

/// A utoipa spec as JSON.
pub fn to_value(spec: &utoipa::openapi::OpenApi) -> Value {
    // A spec is plain data with string keys; serializing it cannot fail.
    serde_json::to_value(spec).unwrap_or_default()
}

// === serving ===

/// The merged spec of `table` from the embedded service specs, as served.
pub fn served_bytes(table: &RouteTable) -> Bytes {
    let mut spec = merge(table, embedded());
    serve_relative(&mut spec);
    Bytes::from(render(&spec))
}

/// Makes `spec` (a checked-in or merged spec) the one a server serves: its `servers` the
/// relative `/` (`kit::openapi::served`), so clients call the server they read it from,
/// on whatever address it listens, while the checked-in file keeps the default address.
pub fn serve_relative(spec: &mut Value) {
    if let Value::Object(fields) = spec {
        fields.insert(
            "servers".to_owned(),
            serde_json::json!([{
                "url": kit::openapi::SERVED_SERVER_URL,
                "description": kit::openapi::SERVED_SERVER_DESCRIPTION,
            }]),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_line() {
        let why = first_difference("a\nb\nc\n", "a\nx\nc\n");
        assert_eq!(why, "differs at line 2: checked in `b`, generated `x`");
        let why = first_difference("a\n", "a\nb\n");
        assert!(why.contains("<end of file>"), "{why}");
        let why = first_difference("a", "a\n");
        assert!(why.contains("final newline"), "{why}");
    }

    #[test]
    fn render_sorts_keys_and_ends_with_a_newline() {
        let text = render(&serde_json::json!({"b": 1, "a": {"d": 2, "c": 3}}));
        assert_eq!(
            text,
            "{\n  \"a\": {\n    \"c\": 3,\n    \"d\": 2\n  },\n  \"b\": 1\n}\n"
        );
    }

    #[test]
    fn every_embedded_spec_parses() {
        let names: Vec<&str> = embedded().iter().map(|(name, _)| *name).collect();
        assert_eq!(names, UPSTREAMS);
    }
}
