//! The route table: routes.yaml parsed ([`config`]), validated with every error at its
//! line and column ([`validate`], [`error`]), and compiled into an immutable
//! [`RouteTable`] ([`compiled`]) whose patterns ([`matcher`]) requests are matched against.
//! Upstream URLs can be replaced by name on the way in ([`overrides`]); each route's
//! response compression policy is in [`compression`].
//! Upstream URLs and issuers' key sources can be replaced by name on the way in
//! ([`overrides`]). Issuers, per-route auth and rate limits are described in [`edge`];
//! shadow traffic in [`shadow`].
//!
//! It knows nothing of sockets, clients or snapshots: everything above builds on it.

use std::path::Path;

use sha2::{Digest, Sha256};

pub mod compiled;
pub mod compression;
pub mod config;
pub mod edge;
pub mod error;
pub mod index;
pub mod matcher;
pub mod overrides;
pub mod shadow;
pub mod validate;

pub use compiled::{
    Methods, Resolution, Route, RouteTable, Settings, Sticky, Target, Upstream, UpstreamId,
};
pub use compression::{Coding, Compression};
pub use edge::{AuthMode, Issuer, KeySource, LimitBy, Owner, RateLimit, RouteAuth};
pub use error::{ConfigError, LoadErrors};
pub use matcher::{PathError, Pattern, check_path};
pub use overrides::{JwksOverride, Overrides, UpstreamOverride};
pub use shadow::{PointerPattern, Shadow};

/// A compiled table with the version of the text it came from.
#[derive(Debug)]
pub struct Loaded {
    /// The table.
    pub table: RouteTable,
    /// The first 12 hex digits of the SHA-256 of the file's bytes (as `sha256sum` prints).
    pub version: String,
}

/// Parses, validates and compiles routes.yaml text.
pub fn parse(text: &str, overrides: &Overrides) -> Result<Loaded, LoadErrors> {
    let file: config::RoutesFile = serde_saphyr::from_str(text).map_err(|err| {
        let (line, column) = err.location().map_or((0, 0), |at| (at.line(), at.column()));
        LoadErrors(vec![ConfigError::new(line, column, yaml_message(&err))])
    })?;
    let table = validate::compile(&file, overrides).map_err(LoadErrors)?;
    Ok(Loaded {
        table,
        version: version(text.as_bytes()),
    })
}

/// Reads and parses a routes file.
pub fn load_file(path: &Path, overrides: &Overrides) -> Result<Loaded, LoadErrors> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        LoadErrors(vec![ConfigError::new(
            0,
            0,
            format!("cannot read {}: {err}", path.display()),
        )])
    })?;
    parse(&text, overrides)
}

/// The content version of a routes file: 12 hex digits of its SHA-256.
pub fn version(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// serde-saphyr's message without its rendered source snippet (the location is reported
/// separately, in the `line:column:` form every other error uses).
fn yaml_message(err: &serde_saphyr::Error) -> String {
    let rendered = err.to_string();
    let first = rendered.lines().next().unwrap_or_default().trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // The location is reported as `line:column:` like every other error; drop the
    // renderer's own "line L column C: " lead.
    let bare = match first.strip_prefix("line ") {
        Some(rest) => rest.split_once(": ").map_or(first, |(_, message)| message),
        None => first,
    };
    bare.to_owned()
}

#[cfg(test)]
mod tests;
