use kit::ids::{IdError, MessageId, UserId};
use kit::params::{Bounded, BoundedError};

/// Friend ids on one page of a friend list: 1 to 5000, 1000 when not given.
pub type FriendsPerPage = Bounded<1, 5000, 1000>;

/// Messages on one page of an author's messages: 1 to 500, 50 when not given.
pub type MessagesPerPage = Bounded<1, 500, 50>;

/// Newest messages per author in the bulk read: 1 to 10, 1 when not given.
pub type LatestPerAuthor = Bounded<1, 10, 1>;

/// Messages per friend on a timeline: 1 to 10, 1 when not given.
pub type PerFriend = Bounded<1, 10, 1>;

/// Entries (friends) on a timeline: 1 to 500, 50 when not given.
pub type TimelineLimit = Bounded<1, 500, 50>;

/// Which page of a friend list to read: at most `limit` friends with ids above `after`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FriendsPage {
    /// Only friends with a larger id; `None` from the first friend on.
    pub after: Option<UserId>,
    /// The most friends on the page.
    pub limit: FriendsPerPage,
}

/// The query of a timeline, checked; the default is what a query without parameters gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimelineParams {
    /// Messages per friend.
    pub per_friend: PerFriend,
    /// Entries at most.
    pub limit: TimelineLimit,
}

// === impl FriendsPage ===

impl FriendsPage {
    /// From the raw `limit` and `after` query values (absent: the defaults). Every bad one
    /// is named, `limit` first, in one detail.
    pub fn parse(limit: Option<&str>, after: Option<&str>) -> Result<Self, String> {
        let limit = FriendsPerPage::parse("limit", limit).map_err(|err| err.to_string());
        let after = after.map(after_cursor).transpose();
        match (limit, after) {
            (Ok(limit), Ok(after)) => Ok(Self { after, limit }),
            (limit, after) => {
                let refused: Vec<String> =
                    [limit.err(), after.err()].into_iter().flatten().collect();
                Err(refused.join("; "))
            }
        }
    }
}

// === impl TimelineParams ===

impl TimelineParams {
    /// From the raw `per_friend` and `limit` query values (absent: the defaults); the first
    /// bad one, `per_friend` before `limit`, is the error.
    pub fn parse(per_friend: Option<&str>, limit: Option<&str>) -> Result<Self, BoundedError> {
        let per_friend = PerFriend::parse("per_friend", per_friend)?;
        let limit = TimelineLimit::parse("limit", limit)?;
        Ok(Self { per_friend, limit })
    }
}

/// A page read one row past its end (`limit + 1` rows asked for): the rows to show, and
/// whether more follow them.
pub fn split_lookahead<T>(mut rows: Vec<T>, limit: u32) -> (Vec<T>, bool) {
    let shown = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > shown;
    rows.truncate(shown);
    (rows, more)
}

/// The `before` cursor of an author's messages: the id of the message the page starts
/// below.
pub fn before_cursor(raw: &str) -> Result<MessageId, String> {
    raw.parse().map_err(|err: IdError| {
        format!(
            "`before` must be a message id, an integer from 1 to {}: {err}",
            i64::MAX
        )
    })
}

fn after_cursor(raw: &str) -> Result<UserId, String> {
    raw.parse().map_err(|_| {
        format!(
            "`after` must be a user id from 1 to {}, the `next_after` of the previous page; \
             got `{raw}`",
            i64::MAX
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_values_are_the_defaults() {
        assert_eq!(FriendsPage::parse(None, None), Ok(FriendsPage::default()));
        assert_eq!(FriendsPage::default().limit.get(), 1000);
        assert_eq!(
            TimelineParams::parse(None, None),
            Ok(TimelineParams::default())
        );
        let defaults = TimelineParams::default();
        assert_eq!((defaults.per_friend.get(), defaults.limit.get()), (1, 50));
        let most = FriendsPage::parse(Some("5000"), Some("9223372036854775807")).unwrap();
        assert_eq!(
            (most.after, most.limit.get()),
            (Some(UserId::new(i64::MAX)), 5000)
        );
        let most = TimelineParams::parse(Some("10"), Some("500")).unwrap();
        assert_eq!((most.per_friend.get(), most.limit.get()), (10, 500));
    }

    #[test]
    fn per_friend_is_named_before_limit() {
        let refused = |per_friend, limit| {
            TimelineParams::parse(per_friend, limit)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(Some("11"), Some("0")),
            "`per_friend` must be an integer from 1 to 10 (default 1); got `11`"
        );
        assert_eq!(
            refused(Some("2"), Some("abc")),
            "`limit` must be an integer from 1 to 500 (default 50); got `abc`"
        );
    }

    #[test]
    fn every_bad_friends_parameter_is_named_limit_first() {
        assert_eq!(
            FriendsPage::parse(Some("0"), Some("abc")).unwrap_err(),
            "`limit` must be an integer from 1 to 5000 (default 1000); got `0`; `after` must be \
             a user id from 1 to 9223372036854775807, the `next_after` of the previous page; \
             got `abc`"
        );
        for bad in ["0", "-3", "x", "", "9223372036854775808"] {
            let detail = FriendsPage::parse(None, Some(bad)).unwrap_err();
            assert!(detail.starts_with("`after` must be a user id"), "{detail}");
            assert!(detail.ends_with(&format!("got `{bad}`")), "{detail}");
        }
    }

    #[test]
    fn a_page_shows_up_to_its_limit_and_says_whether_more_follow() {
        assert_eq!(split_lookahead(vec![9, 8, 7], 2), (vec![9, 8], true));
        assert_eq!(split_lookahead(vec![9, 8], 2), (vec![9, 8], false));
        assert_eq!(split_lookahead(Vec::<u8>::new(), 2), (vec![], false));
    }

    #[test]
    fn before_names_the_parameter_the_range_and_the_value() {
        assert_eq!(before_cursor("12"), Ok(MessageId::new(12)));
        for bad in ["0", "abc", "-1", "", "9223372036854775808"] {
            let detail = before_cursor(bad).unwrap_err();
            assert!(
                detail.starts_with(
                    "`before` must be a message id, an integer from 1 to 9223372036854775807: "
                ),
                "{detail}"
            );
            assert!(detail.contains(&format!("`{bad}`")), "{detail}");
        }
    }
}
