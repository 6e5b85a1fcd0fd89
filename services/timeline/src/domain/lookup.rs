use std::sync::Arc;

use super::Profile;

/// What is known of a user's profile when a timeline is joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The profile, shared with the cache.
    Found(Arc<Profile>),
    /// The users service says there is no such user (deleted a moment ago).
    Missing,
    /// Unknown: the users service failed and nothing is cached.
    Unknown,
}

// === impl Lookup ===

impl Lookup {
    /// What an answer of the users service about one id means: its profile, or `None` when
    /// the service says there is no such user.
    pub fn answered(profile: Option<Arc<Profile>>) -> Self {
        profile.map_or(Self::Missing, Self::Found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::ids::UserId;

    #[test]
    fn an_answer_is_found_or_missing_never_unknown() {
        let profile = Arc::new(Profile {
            id: UserId::new(1),
            name: "one".into(),
            avatar_url: None,
        });
        assert_eq!(
            Lookup::answered(Some(profile.clone())),
            Lookup::Found(profile)
        );
        assert_eq!(Lookup::answered(None), Lookup::Missing);
    }
}
