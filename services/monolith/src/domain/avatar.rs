/// The longest avatar URL, in bytes.
pub const MAX_AVATAR_URL_BYTES: usize = 2048;

/// Why an avatar URL was refused, in the words the API answers with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    /// Longer than [`MAX_AVATAR_URL_BYTES`].
    #[error("must be at most {MAX_AVATAR_URL_BYTES} bytes")]
    TooLong,
    /// Not an absolute URL.
    #[error("must be an absolute http(s) URL: {0}")]
    NotAUrl(url::ParseError),
    /// A URL of another scheme.
    #[error("must use http or https, not `{0}`")]
    Scheme(String),
    /// A URL that names no host.
    #[error("must name a host")]
    NoHost,
}

/// Whether `url` can be an avatar: at most 2048 bytes, an absolute `http` or `https` URL
/// that names a host. A URL that can is stored exactly as given.
pub fn check_avatar_url(url: &str) -> Result<(), AvatarError> {
    if url.len() > MAX_AVATAR_URL_BYTES {
        return Err(AvatarError::TooLong);
    }
    let parsed = url::Url::parse(url).map_err(AvatarError::NotAUrl)?;
    let scheme = parsed.scheme();
    if scheme != "http" && scheme != "https" {
        return Err(AvatarError::Scheme(scheme.to_owned()));
    }
    match parsed.host_str() {
        Some(host) if !host.is_empty() => Ok(()),
        _ => Err(AvatarError::NoHost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_with_a_host_are_avatars() {
        for url in ["https://a.example/x.png", "http://10.0.0.1:8080/a?b=c"] {
            assert_eq!(check_avatar_url(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn every_refusal_says_why() {
        let why = |url: &str| check_avatar_url(url).unwrap_err().to_string();
        assert_eq!(
            why("ftp://a.example/x"),
            "must use http or https, not `ftp`"
        );
        assert_eq!(
            why("javascript:alert(1)"),
            "must use http or https, not `javascript`"
        );
        assert_eq!(
            why("/relative.png"),
            "must be an absolute http(s) URL: relative URL without a base"
        );
        let long = format!("https://a.example/{}", "x".repeat(MAX_AVATAR_URL_BYTES));
        assert_eq!(why(&long), "must be at most 2048 bytes");
    }
}
