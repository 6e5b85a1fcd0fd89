use kit::ids::UserId;
use kit::params::{Bounded, BoundedError};

/// How many friend ids one page holds: 1 to 5000, 1000 when not given.
pub type Limit = Bounded<1, 5000, 1000>;

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
    #[error(transparent)]
    Limit(#[from] BoundedError),
    /// `after` is not a positive 64-bit integer.
    #[error(
        "`after` must be a user id from 1 to {max}, the `next_after` of the previous page; \
         got `{0}`",
        max = i64::MAX
    )]
    After(String),
}

// === impl PageRequest ===

impl PageRequest {
    /// Parses the raw `limit` and `after` query values (absent: the defaults), reporting
    /// every bad one.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self, Vec<PageError>> {
        let limit = Limit::parse("limit", limit).map_err(PageError::from);
        let after = after
            .map(|raw| {
                raw.parse::<UserId>()
                    .map_err(|_| PageError::After(raw.to_owned()))
            })
            .transpose();
        match (limit, after) {
            (Ok(limit), Ok(after)) => Ok(Self { after, limit }),
            (limit, after) => Err(limit.err().into_iter().chain(after.err()).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
