use kit::ids::UserId;

/// How many friend ids one page holds: 1 to 5000, 1000 when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u32);

/// Which page of a friend list to read: at most `limit` friends whose ids follow `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Only friends with a larger id; `None` starts at the first friend.
    pub after: Option<UserId>,
    /// The most friends to return.
    pub limit: Limit,
}

/// A paging parameter that is out of range or not a number; the message names the
/// parameter, what is allowed and what was given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// `limit` is not an integer in 1..=5000.
    #[error(
        "`limit` must be an integer from {min} to {max} (default {default}); got `{0}`",
        min = Limit::MIN,
        max = Limit::MAX,
        default = Limit::DEFAULT.get()
    )]
    Limit(String),
    /// `after` is not a positive 64-bit integer.
    #[error(
        "`after` must be a user id from 1 to {max}, the `next_after` of the previous page; \
         got `{0}`",
        max = i64::MAX
    )]
    After(String),
}

// === impl Limit ===

impl Limit {
    /// The smallest page.
    pub const MIN: u32 = 1;
    /// The largest page.
    pub const MAX: u32 = 5000;
    /// The page size when `limit` is not given.
    pub const DEFAULT: Self = Self(1000);

    /// Parses ASCII decimal digits in `MIN..=MAX`; no sign, spaces or fraction.
    pub fn parse(raw: &str) -> Result<Self, PageError> {
        let in_range = (!raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()))
            .then(|| raw.parse::<u32>().ok())
            .flatten()
            .filter(|n| (Self::MIN..=Self::MAX).contains(n));
        in_range
            .map(Self)
            .ok_or_else(|| PageError::Limit(raw.to_owned()))
    }

    /// The number of friends, always in `MIN..=MAX`.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

// === impl PageRequest ===

impl PageRequest {
    /// Parses the raw `limit` and `after` query values (absent: the defaults), reporting
    /// every bad one.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self, Vec<PageError>> {
        let limit = limit.map(Limit::parse).transpose();
        let after = after
            .map(|raw| {
                raw.parse::<UserId>()
                    .map_err(|_| PageError::After(raw.to_owned()))
            })
            .transpose();
        match (limit, after) {
            (Ok(limit), Ok(after)) => Ok(Self {
                after,
                limit: limit.unwrap_or_default(),
            }),
            (limit, after) => Err(limit.err().into_iter().chain(after.err()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_accepts_its_range_and_nothing_else() {
        assert_eq!(Limit::parse("1").unwrap().get(), 1);
        assert_eq!(Limit::parse("5000").unwrap().get(), 5000);
        assert_eq!(Limit::parse("0042").unwrap().get(), 42);
        for bad in [
            "0",
            "5001",
            "",
            "-1",
            "+5",
            " 5",
            "1.5",
            "abc",
            "1e3",
            "99999999999",
        ] {
            assert_eq!(Limit::parse(bad), Err(PageError::Limit(bad.to_owned())));
        }
    }

    #[test]
    fn defaults_apply_when_absent() {
        let page = PageRequest::parse(None, None).unwrap();
        assert_eq!(page.after, None);
        assert_eq!(page.limit, Limit::DEFAULT);
        assert_eq!(page.limit.get(), 1000);
    }

    #[test]
    fn after_is_a_positive_id() {
        let page = PageRequest::parse(Some("10"), Some("9223372036854775807")).unwrap();
        assert_eq!(page.after, Some(UserId::new(i64::MAX)));
        assert_eq!(page.limit.get(), 10);
        for bad in ["0", "-3", "x", "", "9223372036854775808"] {
            assert_eq!(
                PageRequest::parse(None, Some(bad)),
                Err(vec![PageError::After(bad.to_owned())])
            );
        }
    }

    #[test]
    fn every_bad_parameter_is_reported_with_its_range() {
        let errors = PageRequest::parse(Some("0"), Some("abc")).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages,
            [
                "`limit` must be an integer from 1 to 5000 (default 1000); got `0`",
                "`after` must be a user id from 1 to 9223372036854775807, the `next_after` of \
                 the previous page; got `abc`",
            ]
        );
    }
}
