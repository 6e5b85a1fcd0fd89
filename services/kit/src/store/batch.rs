//! Group commit: writes that arrive while another is committing wait for it and then go to
//! the database together, in one transaction, as one multi-row statement per table.
//!
//! A transaction's fixed costs (`BEGIN`, the outbox's numbering, `COMMIT`, and on SQLite the
//! pages each table's b-tree writes to the WAL) are then paid once per batch instead of
//! once per write, which is what keeps a write's change event nearly free under load. A
//! lone write goes at once, alone: batching never waits for company, it only takes what is
//! already queued (up to a batch's maximum). A batch that fails fails every write in it,
//! and none of them is retried: nothing of a failed transaction was committed.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// Writes waiting for the writer, beyond which callers wait to queue.
const QUEUE: usize = 1024;

/// One write and where its answer goes.
type Queued<T, R> = (T, oneshot::Sender<Result<R, sqlx::Error>>);

/// A queue of writes of type `T` answered with `R`, applied in batches by one task. Cloning
/// is shallow; the task ends when the last clone is dropped.
#[derive(Debug)]
pub struct Batcher<T, R> {
    queue: mpsc::Sender<Queued<T, R>>,
}

impl<T, R> Clone for Batcher<T, R> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> Batcher<T, R> {
    /// Starts the task (call it inside a tokio runtime): it takes every queued write, up to
    /// `max` at a time, and hands them to `apply`, which must write them all in one
    /// transaction and answer one `R` per write, in order.
    pub fn spawn<F, Fut>(max: usize, apply: F) -> Self
    where
        F: Fn(Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Vec<R>, sqlx::Error>> + Send,
    {
        let (queue, mut writes) = mpsc::channel::<Queued<T, R>>(QUEUE);
        let max = max.max(1);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(max);
            while writes.recv_many(&mut batch, max).await > 0 {
                let (items, replies): (Vec<T>, Vec<_>) =
                    std::mem::take(&mut batch).into_iter().unzip();
                let count = items.len();
                match apply(items).await {
                    Ok(answers) if answers.len() == count => {
                        for (reply, answer) in replies.into_iter().zip(answers) {
                            let _ = reply.send(Ok(answer));
                        }
                    }
                    Ok(answers) => {
                        let err =
                            format!("a batch of {count} writes gave {} answers", answers.len());
                        for reply in replies {
                            let _ = reply.send(Err(sqlx::Error::Protocol(err.clone())));
                        }
                    }
                    Err(err) => {
                        let mut replies = replies.into_iter();
                        // The first write gets the error itself, the others a copy.
                        let first = replies.next();
                        for reply in replies {
                            let _ = reply.send(Err(copy(&err)));
                        }
                        if let Some(first) = first {
                            let _ = first.send(Err(err));
                        }
                    }
                }
            }
        });
        Self { queue }
    }

    /// Queues `item` and waits for its batch to commit. The write goes ahead even if this
    /// future is dropped once it is queued.
    pub async fn submit(&self, item: T) -> Result<R, sqlx::Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send((item, reply))
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        answer.await.map_err(|_| sqlx::Error::PoolClosed)?
    }
}

/// The same failure for another write of the batch (`sqlx::Error` is not `Clone`): the
/// kinds callers tell apart kept, the rest described.
fn copy(err: &sqlx::Error) -> sqlx::Error {
    match err {
        sqlx::Error::PoolTimedOut => sqlx::Error::PoolTimedOut,
        sqlx::Error::PoolClosed => sqlx::Error::PoolClosed,
        other => sqlx::Error::Protocol(format!("the batch this write was in failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn writes_queued_together_go_in_one_batch_and_each_gets_its_answer() {
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::spawn(8, move |items: Vec<u32>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(items.len());
                // Slow enough that the others queue behind the first.
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok(items.into_iter().map(|i| i * 10).collect())
            }
        });
        let answers = futures_util::future::join_all((0..20).map(|i| {
            let batcher = batcher.clone();
            async move { batcher.submit(i).await.unwrap() }
        }))
        .await;
        assert_eq!(answers, (0..20).map(|i| i * 10).collect::<Vec<_>>());
        let sizes = sizes.lock().unwrap().clone();
        assert_eq!(sizes.iter().sum::<usize>(), 20);
        assert!(sizes.iter().all(|s| *s <= 8), "{sizes:?}");
        // The first goes alone and at once; the rest queued behind it share batches.
        assert!(sizes.len() < 20, "{sizes:?}");
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_writes_once_and_retries_none() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let batcher = Batcher::spawn(4, move |items: Vec<u32>| {
            counted.fetch_add(items.len(), Ordering::SeqCst);
            async move {
                if items.contains(&3) {
                    Err(sqlx::Error::PoolTimedOut)
                } else {
                    Ok(items)
                }
            }
        });
        assert_eq!(batcher.submit(1).await.unwrap(), 1);
        assert!(matches!(
            batcher.submit(3).await,
            Err(sqlx::Error::PoolTimedOut)
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Still serving after a failure.
        assert_eq!(batcher.submit(4).await.unwrap(), 4);
    }

    #[tokio::test]
    async fn the_task_ends_with_the_last_clone() {
        let held = Arc::new(());
        let captured = held.clone();
        let batcher = Batcher::spawn(4, move |items: Vec<u32>| {
            let _keep = &captured;
            async move { Ok(items) }
        });
        let other = batcher.clone();
        drop(batcher);
        assert_eq!(other.submit(7).await.unwrap(), 7);
        drop(other);
        // The task, and the closure it owns, are gone once no clone is left.
        crate::test_util::eventually("the task to end", Duration::from_secs(2), || {
            let left = Arc::strong_count(&held);
            async move { (left == 1).then_some(()) }
        })
        .await;
    }
}
