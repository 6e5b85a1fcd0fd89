//! The three downstream services as this service reads them: tolerant views (unknown fields
//! ignored) behind one [`Downstream`] type per service.

mod call;
mod friends;
mod messages;
mod users;

pub use call::{CallError, Downstream, Propagate};
pub use friends::friend_ids;
pub use messages::{author_messages, latest_messages};
pub use users::{Answers, ProfileSource, UsersClient, users_by_ids};

use futures_util::StreamExt;
use kit::ids::UserId;

/// Runs `call` on chunks of at most `kit::ids::MAX_IDS` ids, `concurrency` at a time, and
/// returns each chunk with its result, in completion order.
pub async fn in_chunks<T, F, Fut>(
    ids: &[UserId],
    concurrency: usize,
    call: F,
) -> Vec<(Vec<UserId>, Result<T, CallError>)>
where
    F: Fn(Vec<UserId>) -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    futures_util::stream::iter(ids.chunks(kit::ids::MAX_IDS).map(<[UserId]>::to_vec))
        .map(|chunk| {
            let call = &call;
            async move {
                let result = call(chunk.clone()).await;
                (chunk, result)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// `1,2,3`, the id-list syntax of the bulk endpoints.
pub(crate) fn id_list(ids: &[UserId]) -> String {
    let mut out = String::with_capacity(ids.len() * 6);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out
}
