/// A count a client may choose within `MIN..=MAX`, `DEFAULT` when it does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bounded<const MIN: u32, const MAX: u32, const DEFAULT: u32>(u32);

/// Messages per page of an author's messages: 1 to 500, 50 by default.
pub type PageLimit = Bounded<1, 500, 50>;

/// Latest messages per author in the bulk read: 1 to 10, 1 by default.
pub type PerAuthor = Bounded<1, 10, 1>;

/// A count that is not a whole number within its range; the caller names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be an integer from {min} to {max}, got `{given}`")]
pub struct BoundedError {
    /// What was given.
    pub given: String,
    /// The smallest accepted value.
    pub min: u32,
    /// The largest accepted value.
    pub max: u32,
}

// === impl Bounded ===

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> Bounded<MIN, MAX, DEFAULT> {
    /// The smallest accepted value.
    pub const MIN: u32 = MIN;
    /// The largest accepted value.
    pub const MAX: u32 = MAX;
    /// The value when none is given.
    pub const DEFAULT: Self = Self(DEFAULT);

    /// Parses plain ASCII digits within the range; `None` gives the default.
    pub fn parse(given: Option<&str>) -> Result<Self, BoundedError> {
        let Some(text) = given else {
            return Ok(Self::DEFAULT);
        };
        let value = text
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| text.parse::<u32>().ok())
            .flatten()
            .filter(|n| (MIN..=MAX).contains(n));
        value.map(Self).ok_or_else(|| BoundedError {
            given: text.to_owned(),
            min: MIN,
            max: MAX,
        })
    }

    /// The count.
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_when_absent_and_bounds_inclusive() {
        assert_eq!(PageLimit::parse(None).unwrap().get(), 50);
        assert_eq!(PerAuthor::parse(None).unwrap().get(), 1);
        assert_eq!(PageLimit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(PageLimit::parse(Some("500")).unwrap().get(), 500);
        assert_eq!(PerAuthor::parse(Some("10")).unwrap().get(), 10);
    }

    #[test]
    fn rejects_out_of_range_and_non_numbers_naming_the_range() {
        for bad in [
            "0",
            "501",
            "",
            "-1",
            "+5",
            " 5",
            "5.0",
            "abc",
            "99999999999",
        ] {
            let err = PageLimit::parse(Some(bad)).unwrap_err();
            assert_eq!(err.given, bad);
            assert_eq!(
                err.to_string(),
                format!("must be an integer from 1 to 500, got `{bad}`")
            );
        }
        assert!(PerAuthor::parse(Some("11")).is_err());
    }
}
