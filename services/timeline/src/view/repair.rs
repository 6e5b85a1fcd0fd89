//! Repairs: a trimmed author whose deletions left too few kept messages is read again from
//! the messages service (`GET /users/{id}/messages`, newest first) in the background, and
//! the answer merged into the view. Failures are retried with backoff until the answer is
//! merged or the messages part is rebuilt.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use kit::ids::UserId;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::clients::{Downstream, Propagate, author_messages};
use crate::domain::{KEEP, View};
use crate::metrics::{Metrics, RepairOutcome};

/// Repairs in flight at once.
const CONCURRENCY: usize = 4;

/// First and longest pause between failed attempts.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(10));

/// Starts repairs. Cloning is shallow.
#[derive(Debug, Clone)]
pub(super) struct Repairer {
    view: Arc<RwLock<View>>,
    messages: Downstream,
    call_timeout: Duration,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
    metrics: Metrics,
}

// === impl Repairer ===

impl Repairer {
    pub(super) fn new(
        view: Arc<RwLock<View>>,
        messages: Downstream,
        call_timeout: Duration,
        stop: CancellationToken,
        metrics: Metrics,
    ) -> Self {
        Self {
            view,
            messages,
            call_timeout,
            slots: Arc::new(Semaphore::new(CONCURRENCY)),
            stop,
            metrics,
        }
    }

    /// Repairs `author` (the view marked the repair as begun in `generation`).
    pub(super) fn start(&self, author: UserId, generation: u64) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = this.stop.cancelled() => {}
                () = this.run(author, generation) => {}
            }
        });
    }

    #[tracing::instrument(skip_all, fields(author_id = %author))]
    async fn run(&self, author: UserId, generation: u64) {
        let mut pause = BACKOFF.0;
        loop {
            match self.fetch(author).await {
                Ok(fetched) => {
                    self.metrics.view_repair(RepairOutcome::Merged);
                    let again = self
                        .view
                        .write()
                        .unwrap_or_else(PoisonError::into_inner)
                        .finish_repair(author, generation, fetched);
                    if again.is_none() {
                        return;
                    }
                    pause = BACKOFF.0;
                }
                Err(err) => {
                    self.metrics.view_repair(RepairOutcome::Failed);
                    tracing::debug!(%err, "cannot repair an author's messages; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(BACKOFF.1);
                    let view = self.view.read().unwrap_or_else(PoisonError::into_inner);
                    if view.repair_generation() != generation {
                        return;
                    }
                }
            }
        }
    }

    /// The author's newest `KEEP + 1` messages: one more than kept, to tell whether there
    /// are more.
    async fn fetch(
        &self,
        author: UserId,
    ) -> Result<Vec<crate::domain::EntryMessage>, crate::clients::CallError> {
        let _slot = self.slots.acquire().await;
        let deadline = Instant::now() + self.call_timeout;
        let limit = u32::try_from(KEEP + 1).unwrap_or(u32::MAX);
        author_messages(
            &self.messages,
            author,
            limit,
            &Propagate::default(),
            deadline,
        )
        .await
    }
}
