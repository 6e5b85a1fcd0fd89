use std::fmt;

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// A display name: 1 to 100 characters, not only whitespace, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserNameError {
    /// Empty or only whitespace.
    #[error("must not be empty or only whitespace")]
    Blank,
    /// Over the limit.
    #[error("must be at most {MAX_NAME_CHARS} characters, got {0}")]
    TooLong(usize),
    /// Contains a control character such as a newline.
    #[error("must not contain control characters")]
    Control,
}

// === impl UserName ===

impl UserName {
    /// Checks `name` against the rules, keeping it as given.
    pub fn parse(name: String) -> Result<Self, UserNameError> {
        let chars = name.chars().count();
        if name.trim().is_empty() {
            Err(UserNameError::Blank)
        } else if chars > MAX_NAME_CHARS {
            Err(UserNameError::TooLong(chars))
        } else if name.chars().any(char::is_control) {
            Err(UserNameError::Control)
        } else {
            Ok(Self(name))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_up_to_100_characters() {
        assert_eq!(UserName::parse("Ada".into()).unwrap().as_str(), "Ada");
        let hundred = "é".repeat(100);
        assert!(
            UserName::parse(hundred).is_ok(),
            "limit counts characters, not bytes"
        );
    }

    #[test]
    fn rejects_blank_long_and_control() {
        assert_eq!(UserName::parse(String::new()), Err(UserNameError::Blank));
        assert_eq!(UserName::parse("   ".into()), Err(UserNameError::Blank));
        assert_eq!(
            UserName::parse("x".repeat(101)),
            Err(UserNameError::TooLong(101))
        );
        assert_eq!(UserName::parse("a\nb".into()), Err(UserNameError::Control));
    }
}
