use std::fmt;

/// Longest message, in characters (Unicode scalar values, as both databases count them).
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
    /// Contains U+0000, which PostgreSQL cannot store in text.
    #[error("must not contain the NUL character (U+0000)")]
    Nul,
}

// === impl MessageText ===

impl MessageText {
    /// Checks `text` against the rules, keeping it exactly as given (line breaks included).
    pub fn parse(text: String) -> Result<Self, MessageTextError> {
        let chars = text.chars().count();
        if text.trim().is_empty() {
            Err(MessageTextError::Blank)
        } else if chars > MAX_TEXT_CHARS {
            Err(MessageTextError::TooLong(chars))
        } else if text.contains('\0') {
            Err(MessageTextError::Nul)
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
    fn accepts_up_to_1000_characters_counting_characters_not_bytes() {
        assert_eq!(MessageText::parse("hi".into()).unwrap().as_str(), "hi");
        for one in ["x", "é", "🦀"] {
            assert!(MessageText::parse(one.repeat(1000)).is_ok(), "{one}");
            assert_eq!(
                MessageText::parse(one.repeat(1001)),
                Err(MessageTextError::TooLong(1001))
            );
        }
        let kept = " two\nlines ".to_owned();
        assert_eq!(MessageText::parse(kept.clone()).unwrap().as_str(), kept);
    }

    #[test]
    fn rejects_blank_and_nul() {
        for blank in ["", " ", "\n\t ", "\u{3000}"] {
            assert_eq!(
                MessageText::parse(blank.into()),
                Err(MessageTextError::Blank),
                "{blank:?}"
            );
        }
        assert_eq!(
            MessageText::parse("a\0b".into()),
            Err(MessageTextError::Nul)
        );
    }
}
