use kit::ids::UserId;

/// Default and bounds of `limit` for a friend list page.
pub const FRIENDS_LIMIT: (u32, u32, u32) = (1000, 1, 5000);
/// Default and bounds of `limit` for a page of an author's messages.
pub const MESSAGES_LIMIT: (u32, u32, u32) = (50, 1, 500);
/// Default and bounds of `per_author` for the latest messages of many authors.
pub const PER_AUTHOR: (u32, u32, u32) = (1, 1, 10);

/// A query parameter out of its bounds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` must be between {min} and {max}, got {value}")]
pub struct OutOfRange {
    /// The parameter's name.
    pub name: &'static str,
    /// Lowest allowed.
    pub min: u32,
    /// Highest allowed.
    pub max: u32,
    /// What was given.
    pub value: u32,
}

/// A page of a user's friends: ids above `after`, ascending, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FriendPage {
    /// Friends with a higher id than this one; `None` from the lowest.
    pub after: Option<UserId>,
    /// Most ids in the page.
    pub limit: u32,
}

/// `value`, or `default` when absent, checked against `min..=max`.
pub fn bounded(
    name: &'static str,
    value: Option<u32>,
    (default, min, max): (u32, u32, u32),
) -> Result<u32, OutOfRange> {
    let value = value.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(OutOfRange {
            name,
            min,
            max,
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_applies_and_bounds_are_inclusive() {
        assert_eq!(bounded("limit", None, FRIENDS_LIMIT), Ok(1000));
        assert_eq!(bounded("limit", Some(1), FRIENDS_LIMIT), Ok(1));
        assert_eq!(bounded("limit", Some(5000), FRIENDS_LIMIT), Ok(5000));
    }

    #[test]
    fn out_of_range_names_the_parameter_and_range() {
        let err = bounded("per_author", Some(11), PER_AUTHOR).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`per_author` must be between 1 and 10, got 11"
        );
        assert!(bounded("limit", Some(0), MESSAGES_LIMIT).is_err());
        assert!(bounded("limit", Some(501), MESSAGES_LIMIT).is_err());
    }
}
