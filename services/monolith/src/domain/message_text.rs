use std::fmt;

/// Longest message, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// A message's text: 1 to 1000 characters, not only whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageTextError {
    /// Empty or only whitespace.
    #[error("must not be empty or only whitespace")]
    Blank,
    /// Over the limit.
    #[error("must be at most {MAX_TEXT_CHARS} characters, got {0}")]
    TooLong(usize),
}

// === impl MessageText ===

impl MessageText {
    /// Checks `text` against the rules, keeping it as given.
    pub fn parse(text: String) -> Result<Self, MessageTextError> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Err(MessageTextError::Blank)
        } else if chars > MAX_TEXT_CHARS {
            Err(MessageTextError::TooLong(chars))
        } else {
            Ok(Self(text))
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MessageText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_up_to_1000_characters_with_line_breaks() {
        assert!(MessageText::parse("line one\nline two".into()).is_ok());
        assert!(
            MessageText::parse("ü".repeat(1000)).is_ok(),
            "limit counts characters, not bytes"
        );
    }

    #[test]
    fn rejects_blank_and_long() {
        assert_eq!(
            MessageText::parse(String::new()),
            Err(MessageTextError::Blank)
        );
        assert_eq!(
            MessageText::parse(" \n\t".into()),
            Err(MessageTextError::Blank)
        );
        assert_eq!(
            MessageText::parse("x".repeat(1001)),
            Err(MessageTextError::TooLong(1001))
        );
    }
}
