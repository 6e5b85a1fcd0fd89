use std::fmt;

/// Longest accepted avatar URL, in bytes.
pub const MAX_URL_LEN: usize = 2048;

/// An absolute `http` or `https` URL with a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarUrl(String);

/// Why an avatar URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarUrlError {
    /// Not a URL at all.
    #[error("must be an absolute http(s) URL: {0}")]
    Malformed(String),
    /// A URL, but not http or https.
    #[error("must use http or https, not `{0}`")]
    Scheme(String),
    /// A URL without a host, such as `http:///x`.
    #[error("must name a host")]
    NoHost,
    /// Over the limit.
    #[error("must be at most {MAX_URL_LEN} bytes")]
    TooLong,
}

// === impl AvatarUrl ===

impl AvatarUrl {
    /// Checks `url`, keeping it exactly as given.
    pub fn parse(url: String) -> Result<Self, AvatarUrlError> {
        if url.len() > MAX_URL_LEN {
            return Err(AvatarUrlError::TooLong);
        }
        let parsed =
            url::Url::parse(&url).map_err(|err| AvatarUrlError::Malformed(err.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(AvatarUrlError::Scheme(parsed.scheme().to_owned()));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(AvatarUrlError::NoHost);
        }
        Ok(Self(url))
    }

    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AvatarUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_http_and_https() {
        for ok in ["https://a.example/x.png", "http://10.0.0.1:8080/a?b=c"] {
            assert_eq!(AvatarUrl::parse(ok.into()).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_other_schemes_relative_and_huge() {
        assert!(matches!(
            AvatarUrl::parse("ftp://a.example/x".into()),
            Err(AvatarUrlError::Scheme(s)) if s == "ftp"
        ));
        assert!(matches!(
            AvatarUrl::parse("javascript:alert(1)".into()),
            Err(AvatarUrlError::Scheme(_))
        ));
        assert!(matches!(
            AvatarUrl::parse("/relative.png".into()),
            Err(AvatarUrlError::Malformed(_))
        ));
        let long = format!("https://a.example/{}", "x".repeat(MAX_URL_LEN));
        assert_eq!(AvatarUrl::parse(long), Err(AvatarUrlError::TooLong));
    }
}
