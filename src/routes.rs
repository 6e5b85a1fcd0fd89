//! routes.yaml: parsed ([`config`]), validated with every error at its line and column
//! ([`validate`]), and compiled into an immutable [`RouteTable`] ([`table`]) whose patterns
//! ([`matcher`]) requests are matched against.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::Serialize;
use sha2::{Digest, Sha256};

pub mod config;
pub mod matcher;
pub mod table;
pub mod validate;

pub use matcher::{PathError, Pattern, check_path};
pub use table::{Methods, Resolution, Route, RouteTable, Settings, Sticky, Target, Upstream};

/// One problem in a routes file, at its line and column (both 1-based; 0 when the problem
/// is with the file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ConfigError {
    /// 1-based line, or 0.
    pub line: u64,
    /// 1-based column, or 0.
    pub column: u64,
    /// What is wrong and what is allowed.
    pub message: String,
}

/// Every problem found in a routes file; the table it described was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<ConfigError>);

/// A compiled table with the version of the text it came from.
#[derive(Debug)]
pub struct Loaded {
    /// The table.
    pub table: RouteTable,
    /// The first 12 hex digits of the SHA-256 of the file's bytes (as `sha256sum` prints).
    pub version: String,
}

/// Upstream URLs that replace those in every routes file loaded, by upstream name. Names a
/// file does not define are ignored, so one set fits every phase file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    urls: BTreeMap<String, String>,
}

/// One `NAME=URL` override, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamOverride {
    /// The upstream's name.
    pub name: String,
    /// Its base URL.
    pub url: String,
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

// === impl ConfigError ===

impl ConfigError {
    /// An error at `line`:`column`.
    pub fn new(line: u64, column: u64, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "{}:{}: {}", self.line, self.column, self.message)
        }
    }
}

// === impl LoadErrors ===

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

// === impl Overrides ===

impl Overrides {
    /// Replaces the URL of upstream `name`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.urls.insert(name.into(), url.into());
        self
    }

    /// The replacement URL for `name`, if any.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.urls.get(name).map(String::as_str)
    }

    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }

    /// The overrides, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.urls.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl FromIterator<UpstreamOverride> for Overrides {
    fn from_iter<I: IntoIterator<Item = UpstreamOverride>>(iter: I) -> Self {
        Self {
            urls: iter.into_iter().map(|o| (o.name, o.url)).collect(),
        }
    }
}

// === impl UpstreamOverride ===

impl FromStr for UpstreamOverride {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((name, url)) if !name.is_empty() && !url.is_empty() => Ok(Self {
                name: name.trim().to_owned(),
                url: url.trim().to_owned(),
            }),
            _ => Err(format!(
                "`{s}` is not NAME=URL, e.g. users=http://127.0.0.1:9001"
            )),
        }
    }
}

#[cfg(test)]
mod tests;
