use std::collections::{HashMap, HashSet};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kit::ids::UserId;
use serde::Deserialize;
use tokio::time::Instant;

use super::{CallError, Downstream, Propagate, id_list};
use crate::domain::Profile;

/// What a source says of the ids it was asked about: each one's profile, or `None` when
/// there is no such user. Ids it gave no answer about are absent.
pub type Answers = HashMap<UserId, Option<Profile>>;

/// Where the profile cache loads profiles from: the users service ([`UsersClient`]), or a
/// stand-in in tests.
pub trait ProfileSource: Send + Sync {
    /// What the source says of `ids`, at most `kit::ids::MAX_IDS` of them, within
    /// `deadline`.
    fn profiles<'a>(
        &'a self,
        ids: &'a [UserId],
        propagate: &'a Propagate,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Answers, CallError>>;
}

/// The users service over HTTP. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct UsersClient(pub Downstream);

/// The bulk read's answer.
#[derive(Debug, Deserialize)]
struct UsersView {
    users: Vec<Profile>,
    #[serde(default)]
    missing: Vec<UserId>,
}

/// `GET /users?ids=…` for at most 500 ids.
pub async fn users_by_ids(
    users: &Downstream,
    ids: &[UserId],
    propagate: &Propagate,
    deadline: Instant,
) -> Result<Answers, CallError> {
    let view: UsersView = users
        .get_json("/users", &[("ids", id_list(ids))], propagate, deadline)
        .await?;
    Ok(answers(view, ids))
}

/// A tolerant reader keeps only what it asked about.
fn answers(view: UsersView, asked: &[UserId]) -> Answers {
    let asked: HashSet<&UserId> = asked.iter().collect();
    let mut answers = HashMap::with_capacity(asked.len());
    for profile in view.users.into_iter().filter(|p| asked.contains(&p.id)) {
        answers.insert(profile.id, Some(profile));
    }
    for id in view.missing.into_iter().filter(|id| asked.contains(id)) {
        answers.insert(id, None);
    }
    answers
}

// === impl UsersClient ===

impl ProfileSource for UsersClient {
    fn profiles<'a>(
        &'a self,
        ids: &'a [UserId],
        propagate: &'a Propagate,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Answers, CallError>> {
        users_by_ids(&self.0, ids, propagate, deadline).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, asked: &[i64]) -> Answers {
        let asked: Vec<UserId> = asked.iter().copied().map(UserId::new).collect();
        answers(serde_json::from_str(json).unwrap(), &asked)
    }

    #[test]
    fn found_and_missing_ids_are_answered() {
        let answers = read(
            r#"{"users": [{"id": 1, "name": "one", "avatar_url": null, "extra": 1}],
                "missing": [2], "next": null}"#,
            &[1, 2, 3],
        );
        assert_eq!(answers.len(), 2, "3 got no answer: {answers:?}");
        assert_eq!(answers[&UserId::new(1)].as_ref().unwrap().name, "one");
        assert_eq!(answers[&UserId::new(2)], None);
    }

    #[test]
    fn ids_not_asked_about_are_ignored() {
        let answers = read(
            r#"{"users": [{"id": 9, "name": "nine"}], "missing": [8]}"#,
            &[1],
        );
        assert!(answers.is_empty(), "{answers:?}");
    }

    #[test]
    fn an_answer_without_missing_is_read() {
        assert_eq!(read(r#"{"users": []}"#, &[1]).len(), 0);
        assert!(serde_json::from_str::<UsersView>(r#"{"missing": [1]}"#).is_err());
    }
}
