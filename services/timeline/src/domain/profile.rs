use kit::ids::UserId;
use serde::Deserialize;

/// A user's profile as the timeline shows it: read straight from the users service's bulk
/// answer (unknown fields ignored), kept in the profile cache, and shown on an entry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Profile {
    /// The user's id.
    pub id: UserId,
    /// Display name.
    pub name: String,
    /// Avatar URL, if any.
    #[serde(default)]
    pub avatar_url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_users_answer_ignoring_unknown_fields() {
        let profile: Profile = serde_json::from_str(
            r#"{"id": 7, "name": "Grace", "avatar_url": "https://a.example/7.png", "bio": "x"}"#,
        )
        .unwrap();
        assert_eq!(profile.id, UserId::new(7));
        assert_eq!(profile.name, "Grace");
        assert_eq!(
            profile.avatar_url.as_deref(),
            Some("https://a.example/7.png")
        );
        let without_avatar: Profile = serde_json::from_str(r#"{"id": 8, "name": "Ada"}"#).unwrap();
        assert_eq!(without_avatar.avatar_url, None);
    }

    #[test]
    fn refuses_a_profile_without_a_name() {
        assert!(serde_json::from_str::<Profile>(r#"{"id": 7}"#).is_err());
        assert!(serde_json::from_str::<Profile>(r#"{"id": 0, "name": "zero"}"#).is_err());
    }
}
