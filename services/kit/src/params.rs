//! Bounded integer query parameters: a count the client picks within `MIN..=MAX`, and
//! `DEFAULT` when it does not (`limit`, `per_author`, `per_friend`, …).
//!
//! Every service parses them with [`Bounded::parse`], so a bad value gets the same 400
//! answer, with the same wording, whichever service (or the monolith) answers it:
//!
//! ```text
//! `limit` must be an integer from 1 to 500 (default 50); got `abc`
//! ```
//!
//! Query structs keep such a parameter as `Option<String>` and publish it with
//! `#[param(value_type = Option<u32>, minimum = …, maximum = …, default = …)]`: a number that
//! serde failed to read would answer with serde's wording instead.

use crate::problem::Problem;

/// A count a client may choose within `MIN..=MAX`, `DEFAULT` when it does not.
///
/// Name each use with a type alias, such as `type PageLimit = Bounded<1, 500, 50>;`. A
/// `DEFAULT` outside `MIN..=MAX` fails to compile where the alias is parsed:
///
/// ```compile_fail
/// type Broken = kit::params::Bounded<1, 10, 11>;
/// let _ = Broken::parse("per_friend", None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bounded<const MIN: u32, const MAX: u32, const DEFAULT: u32>(u32);

/// A value of a bounded parameter that is not plain decimal digits within its range.
///
/// Its message names the parameter, the range, the default and what was given. It becomes a
/// 400 `bad-request` problem with that message as `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` must be an integer from {min} to {max} (default {default}); got `{given}`")]
pub struct BoundedError {
    name: &'static str,
    given: String,
    min: u32,
    max: u32,
    default: u32,
}

// === impl Bounded ===

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> Bounded<MIN, MAX, DEFAULT> {
    /// The smallest accepted value.
    pub const MIN: u32 = MIN;
    /// The largest accepted value.
    pub const MAX: u32 = MAX;
    /// The value when none is given.
    pub const DEFAULT: Self = {
        assert!(
            MIN <= DEFAULT && DEFAULT <= MAX,
            "a bounded parameter's default must lie within its range"
        );
        Self(DEFAULT)
    };

    /// Parses the value of the query parameter `name`: absent gives the default; otherwise
    /// only plain ASCII digits within `MIN..=MAX` (leading zeros allowed; no sign, spaces,
    /// fraction or exponent, and not empty). A number too large for `u32` is an error like
    /// any other value out of range.
    pub fn parse(name: &'static str, given: Option<&str>) -> Result<Self, BoundedError> {
        let Some(text) = given else {
            return Ok(Self::DEFAULT);
        };
        let plain_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        plain_digits
            .then(|| text.parse::<u32>().ok())
            .flatten()
            .filter(|n| (MIN..=MAX).contains(n))
            .map(Self)
            .ok_or_else(|| BoundedError {
                name,
                given: text.to_owned(),
                min: MIN,
                max: MAX,
                default: DEFAULT,
            })
    }

    /// The count, always within `MIN..=MAX`.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl<const MIN: u32, const MAX: u32, const DEFAULT: u32> Default for Bounded<MIN, MAX, DEFAULT> {
    fn default() -> Self {
        Self::DEFAULT
    }
}

// === impl BoundedError ===

impl BoundedError {
    /// The parameter's name, as the client spells it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value the client sent.
    pub fn given(&self) -> &str {
        &self.given
    }
}

impl From<BoundedError> for Problem {
    fn from(err: BoundedError) -> Self {
        Problem::bad_request(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Small = Bounded<1, 10, 1>;
    type Page = Bounded<1, 500, 50>;
    type FromZero = Bounded<0, { u32::MAX }, 7>;

    #[test]
    fn the_default_when_absent() {
        assert_eq!(Small::parse("per_friend", None).unwrap().get(), 1);
        assert_eq!(Page::parse("limit", None).unwrap().get(), 50);
        assert_eq!(Page::default(), Page::DEFAULT);
        assert_eq!((Page::MIN, Page::MAX), (1, 500));
    }

    #[test]
    fn both_bounds_are_inclusive() {
        for (text, value) in [("1", 1), ("10", 10), ("5", 5), ("0007", 7)] {
            assert_eq!(
                Small::parse("n", Some(text)).unwrap().get(),
                value,
                "{text}"
            );
        }
        assert_eq!(FromZero::parse("n", Some("0")).unwrap().get(), 0);
        assert_eq!(
            FromZero::parse("n", Some("4294967295")).unwrap().get(),
            u32::MAX
        );
    }

    #[test]
    fn every_malformed_or_out_of_range_value_names_the_parameter_range_and_value() {
        for bad in [
            "0", "11", "", "-1", "+5", "-0", " 5", "5 ", "5.0", "1.5", "1e1", "0x5", "abc", "５",
            "1_0", "1,2",
        ] {
            let err = Small::parse("per_friend", Some(bad)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("`per_friend` must be an integer from 1 to 10 (default 1); got `{bad}`")
            );
            assert_eq!((err.name(), err.given()), ("per_friend", bad));
        }
    }

    #[test]
    fn huge_numbers_are_out_of_range_not_a_panic() {
        let huge = "9".repeat(400);
        for bad in ["501", "4294967295", "4294967296", "99999999999", &huge] {
            let err = Page::parse("limit", Some(bad)).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("`limit` must be an integer from 1 to 500 (default 50); got `{bad}`")
            );
        }
        assert!(FromZero::parse("n", Some("4294967296")).is_err());
        // Leading zeros do not overflow.
        let padded = format!("{}42", "0".repeat(400));
        assert_eq!(Page::parse("limit", Some(&padded)).unwrap().get(), 42);
    }

    #[test]
    fn the_error_is_a_400_bad_request_problem() {
        let problem = Problem::from(Page::parse("limit", Some("abc")).unwrap_err());
        assert_eq!(problem.status, 400);
        assert_eq!(problem.type_uri, "/problems/bad-request");
        assert_eq!(problem.title, "Bad request");
        assert_eq!(problem.code, "bad-request");
        assert_eq!(
            problem.detail.as_deref(),
            Some("`limit` must be an integer from 1 to 500 (default 50); got `abc`")
        );
    }
}
