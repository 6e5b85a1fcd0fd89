/// A part of the view, each built from one service's change feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Part {
    /// Profiles, from the users feed.
    Users,
    /// Friend sets, from the friends feed.
    Friends,
    /// Each author's newest messages, from the messages feed.
    Messages,
}

// === impl Part ===

impl Part {
    /// Every part, in the order the view is reported.
    pub const ALL: [Part; 3] = [Part::Users, Part::Friends, Part::Messages];

    /// The name of the feed the part is built from (its source, as in `users:42`).
    pub fn source(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Friends => "friends",
            Self::Messages => "messages",
        }
    }

    /// The entity type the part reads from its feed.
    pub fn entity(self) -> &'static str {
        match self {
            Self::Users => "user",
            Self::Friends => "friendship",
            Self::Messages => "message",
        }
    }

    /// The part built from the feed named `source`, if any.
    pub fn of_source(source: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|part| part.source() == source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_part_is_found_by_its_source_name_and_no_other() {
        for part in Part::ALL {
            assert_eq!(Part::of_source(part.source()), Some(part));
        }
        assert_eq!(Part::of_source("monolith"), None);
        assert_eq!(Part::of_source("Users"), None, "names are exact");
        assert_eq!(Part::of_source(""), None);
    }
}
