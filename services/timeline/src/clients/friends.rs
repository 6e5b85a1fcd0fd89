use kit::ids::UserId;
use serde::Deserialize;
use tokio::time::Instant;

use super::{CallError, Downstream, Propagate};

/// Friends per page asked for: the friends service's maximum.
const PAGE: u32 = 5000;

#[derive(Debug, Deserialize)]
struct FriendListView {
    friend_ids: Vec<UserId>,
    #[serde(default)]
    next_after: Option<UserId>,
}

/// Every friend of `user`, following `next_after` across pages.
pub async fn friend_ids(
    friends: &Downstream,
    user: UserId,
    propagate: &Propagate,
    deadline: Instant,
) -> Result<Vec<UserId>, CallError> {
    let path = format!("/users/{user}/friends");
    let mut all = Vec::new();
    let mut after: Option<UserId> = None;
    loop {
        let mut query = vec![("limit", PAGE.to_string())];
        if let Some(after) = after {
            query.push(("after", after.to_string()));
        }
        let page: FriendListView = friends.get_json(&path, &query, propagate, deadline).await?;
        all.extend(page.friend_ids);
        match page.next_after {
            // A cursor that does not advance would loop forever: stop instead.
            Some(next) if after.is_none_or(|a| next > a) => after = Some(next),
            _ => return Ok(all),
        }
    }
}
