//! Upstream URLs replaced by name in every routes file loaded (`--upstream NAME=URL`), so
//! the shipped files serve against upstreams elsewhere (test servers, `gateway up`).

use std::collections::BTreeMap;
use std::str::FromStr;

/// Upstream URLs that replace those in every routes file loaded, by upstream name. Names a
/// file does not define are ignored, so one set fits every phase file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    urls: BTreeMap<String, String>,
    jwks: BTreeMap<String, String>,
}

/// One `ISSUER=FILE|URL` override of an issuer's key source, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksOverride {
    /// The issuer's name.
    pub name: String,
    /// A JWKS file path or URL.
    pub source: String,
}

/// One `NAME=URL` override, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamOverride {
    /// The upstream's name.
    pub name: String,
    /// Its base URL.
    pub url: String,
}

// === impl Overrides ===

impl Overrides {
    /// Replaces the URL of upstream `name`.
    #[must_use]
    pub fn with(mut self, name: impl Into<String>, url: impl Into<String>) -> Self {
        self.urls.insert(name.into(), url.into());
        self
    }

    /// Replaces the key source (a JWKS file or URL) of issuer `name`.
    #[must_use]
    pub fn with_jwks(mut self, name: impl Into<String>, source: impl Into<String>) -> Self {
        self.jwks.insert(name.into(), source.into());
        self
    }

    /// The replacement key source of issuer `name`, if any.
    pub fn jwks(&self, name: &str) -> Option<&str> {
        self.jwks.get(name).map(String::as_str)
    }

    /// Adds every override of `other`, its entries winning.
    #[must_use]
    pub fn and(mut self, other: Self) -> Self {
        self.urls.extend(other.urls);
        self.jwks.extend(other.jwks);
        self
    }

    /// The replacement URL for `name`, if any.
    pub fn url(&self, name: &str) -> Option<&str> {
        self.urls.get(name).map(String::as_str)
    }

    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.urls.is_empty() && self.jwks.is_empty()
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
            jwks: BTreeMap::new(),
        }
    }
}

impl FromIterator<JwksOverride> for Overrides {
    fn from_iter<I: IntoIterator<Item = JwksOverride>>(iter: I) -> Self {
        Self {
            urls: BTreeMap::new(),
            jwks: iter.into_iter().map(|o| (o.name, o.source)).collect(),
        }
    }
}

// === impl JwksOverride ===

impl FromStr for JwksOverride {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('=') {
            Some((name, source)) if !name.trim().is_empty() && !source.trim().is_empty() => {
                Ok(Self {
                    name: name.trim().to_owned(),
                    source: source.trim().to_owned(),
                })
            }
            _ => Err(format!(
                "`{s}` is not ISSUER=FILE|URL, e.g. demo=data/jwks.json"
            )),
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
