/// What a free-text column accepts: something besides white space, at most `max_chars`
/// characters (Unicode scalar values, as both databases count them), and none of the
/// characters the column refuses. A name and a message text differ only in these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextRule {
    /// The most characters.
    pub max_chars: usize,
    /// The characters that may not appear.
    pub forbidden: Forbidden,
}

/// Characters a text column refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// Control characters (`char::is_control`), line breaks among them: a name is one line.
    Control,
    /// U+0000, which PostgreSQL cannot store in `TEXT`.
    Nul,
}

/// The first rule a text breaks, in the words the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but white space, or nothing at all.
    #[error("must not be empty or only whitespace")]
    Blank,
    /// More characters than the rule allows.
    #[error("must be at most {max} characters, got {got}")]
    TooLong {
        /// The rule's limit.
        max: usize,
        /// The text's length, in characters.
        got: usize,
    },
    /// A refused character.
    #[error("must not contain {}", .0.described())]
    Forbidden(Forbidden),
}

/// A user's display name: up to 100 characters on one line.
pub const NAME: TextRule = TextRule {
    max_chars: 100,
    forbidden: Forbidden::Control,
};

/// A message's text: up to 1000 characters, line breaks kept.
pub const MESSAGE_TEXT: TextRule = TextRule {
    max_chars: 1000,
    forbidden: Forbidden::Nul,
};

// === impl TextRule ===

impl TextRule {
    /// Whether `text` keeps the rule, checked in this order: blank, length, characters. A
    /// text that keeps it is stored exactly as given.
    pub fn check(self, text: &str) -> Result<(), TextError> {
        let got = text.chars().count();
        if text.trim().is_empty() {
            return Err(TextError::Blank);
        }
        if got > self.max_chars {
            return Err(TextError::TooLong {
                max: self.max_chars,
                got,
            });
        }
        match text.chars().find(|&c| self.forbidden.refuses(c)) {
            Some(_) => Err(TextError::Forbidden(self.forbidden)),
            None => Ok(()),
        }
    }
}

// === impl Forbidden ===

impl Forbidden {
    fn refuses(self, c: char) -> bool {
        match self {
            Self::Control => c.is_control(),
            Self::Nul => c == '\0',
        }
    }

    fn described(self) -> &'static str {
        match self {
            Self::Control => "control characters",
            Self::Nul => "the NUL character (U+0000)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(rule: TextRule, text: &str) -> String {
        rule.check(text).unwrap_err().to_string()
    }

    #[test]
    fn the_limits_count_characters_not_bytes() {
        assert_eq!(NAME.check(&"é".repeat(100)), Ok(()));
        assert_eq!(
            message(NAME, &"x".repeat(101)),
            "must be at most 100 characters, got 101"
        );
        for one in ["x", "é", "🦀"] {
            assert_eq!(MESSAGE_TEXT.check(&one.repeat(1000)), Ok(()), "{one}");
            assert_eq!(
                message(MESSAGE_TEXT, &one.repeat(1001)),
                "must be at most 1000 characters, got 1001"
            );
        }
    }

    #[test]
    fn blank_comes_first_then_length_then_characters() {
        for blank in ["", " ", "\n\t ", "\u{3000}"] {
            for rule in [NAME, MESSAGE_TEXT] {
                assert_eq!(rule.check(blank), Err(TextError::Blank), "{blank:?}");
            }
        }
        assert_eq!(
            message(NAME, &format!("{}\n", "x".repeat(100))),
            "must be at most 100 characters, got 101"
        );
        assert_eq!(message(NAME, "a\nb"), "must not contain control characters");
        assert_eq!(
            message(MESSAGE_TEXT, "a\0b"),
            "must not contain the NUL character (U+0000)"
        );
    }

    #[test]
    fn a_message_keeps_its_line_breaks_a_name_does_not() {
        assert_eq!(MESSAGE_TEXT.check(" two\nlines "), Ok(()));
        assert!(NAME.check("two\nlines").is_err());
        assert_eq!(NAME.check("Ada Okafor"), Ok(()));
    }
}
