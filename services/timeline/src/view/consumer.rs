//! The view's side of a follower: each batch of a feed read into [`ViewChange`]s and
//! applied under the write lock, held for the batch and never across an await.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use kit::feed::{Consumer, Event};
use kit::ids::UserId;

use super::events;
use super::repair::Repairer;
use crate::domain::{Part, View, ViewChange};
use crate::metrics::{EventOutcome, Metrics};
use crate::profiles::Profiles;

/// Where a part of the view stands, shared by its consumer and the view's health.
#[derive(Debug, Default)]
pub(super) struct Progress(AtomicU8);

/// Applies one feed's batches to its part of the view.
#[derive(Debug)]
pub(super) struct PartConsumer {
    pub(super) part: Part,
    pub(super) view: Arc<RwLock<View>>,
    pub(super) progress: Arc<Progress>,
    pub(super) repairer: Repairer,
    /// For the users feed: the profile cache, told of every change.
    pub(super) profiles: Option<Profiles>,
    pub(super) metrics: Metrics,
}

/// Not yet at the feed's head since start, or since the first batch of a replay.
const BUILDING: u8 = 0;
/// At the feed's head at least once: the part may answer.
const CAUGHT_UP: u8 = 1;
/// Reset for a replay, which has applied nothing yet.
const REPLAYING: u8 = 2;

// === impl Progress ===

impl Progress {
    /// Whether the part may answer.
    pub(super) fn caught_up(&self) -> bool {
        self.0.load(Ordering::Acquire) == CAUGHT_UP
    }

    /// What the follower shows now: `current` (at its feed's head) with `applied` the last
    /// position applied. A part building becomes caught up when its follower is current; a
    /// part replaying only once it applied a batch, or when the feed it replays is empty
    /// (current at position 0), since before the replay the follower still shows the old
    /// position as current.
    pub(super) fn observe(&self, current: bool, applied: u64) {
        if !current {
            return;
        }
        let from = if applied == 0 {
            [BUILDING, REPLAYING].as_slice()
        } else {
            [BUILDING].as_slice()
        };
        for state in from {
            let _ = self
                .0
                .compare_exchange(*state, CAUGHT_UP, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    fn replaying(&self) {
        self.0.store(REPLAYING, Ordering::Release);
    }

    fn applied_a_batch(&self) {
        let _ = self
            .0
            .compare_exchange(REPLAYING, BUILDING, Ordering::AcqRel, Ordering::Acquire);
    }
}

// === impl PartConsumer ===

impl PartConsumer {
    /// The batch's changes; unreadable events are logged and skipped.
    fn read(&self, events: &[Event]) -> Vec<ViewChange> {
        let changes: Vec<ViewChange> = events
            .iter()
            .filter_map(|event| match events::change(self.part, event) {
                Ok(change) => Some(change),
                Err(skip) => {
                    tracing::warn!(source = self.part.source(), seq = event.seq,
                        subject = %event.subject, %skip, "skipping a feed event the view cannot read");
                    None
                }
            })
            .collect();
        let skipped = (events.len() - changes.len()) as u64;
        self.metrics
            .view_events(self.part, EventOutcome::Applied, changes.len() as u64);
        if skipped > 0 {
            self.metrics
                .view_events(self.part, EventOutcome::Skipped, skipped);
        }
        changes
    }

    fn tell_the_cache(&self, changes: &[ViewChange]) {
        let Some(profiles) = &self.profiles else {
            return;
        };
        for change in changes {
            match change {
                ViewChange::UserUpserted(profile) => {
                    profiles.learn(profile.id, Some(profile.clone()))
                }
                ViewChange::UserDeleted(id) => profiles.learn(*id, None),
                _ => {}
            }
        }
    }
}

impl Consumer for PartConsumer {
    /// The view lives in memory: every start replays the feed from 0.
    async fn position(&self) -> anyhow::Result<u64> {
        Ok(0)
    }

    async fn apply(&self, events: &[Event], _next_after: u64) -> anyhow::Result<()> {
        let changes = self.read(events);
        self.tell_the_cache(&changes);
        let (repairs, generation) = {
            let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
            let repairs: Vec<UserId> = changes.into_iter().filter_map(|c| view.apply(c)).collect();
            (repairs, view.repair_generation())
        };
        for author in repairs {
            self.repairer.start(author, generation);
        }
        self.progress.applied_a_batch();
        Ok(())
    }

    async fn reset(&self) -> anyhow::Result<()> {
        tracing::warn!(
            source = self.part.source(),
            "rebuilding this part of the view from 0"
        );
        let mut view = self.view.write().unwrap_or_else(PoisonError::into_inner);
        // Under the write lock: a reader that holds the read lock after this sees the part
        // is not caught up, and one before it read the part whole.
        self.progress.replaying();
        view.reset(self.part);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_caught_up_once_its_follower_is_current() {
        let progress = Progress::default();
        progress.observe(false, 10);
        assert!(!progress.caught_up());
        progress.observe(true, 10);
        assert!(progress.caught_up());
        progress.observe(false, 12);
        assert!(
            progress.caught_up(),
            "once caught up, lag is judged elsewhere"
        );
    }

    #[test]
    fn a_replaying_part_waits_for_its_first_batch() {
        let progress = Progress::default();
        progress.observe(true, 10);
        progress.replaying();
        progress.observe(true, 10);
        assert!(
            !progress.caught_up(),
            "the follower still shows the old position"
        );
        progress.applied_a_batch();
        progress.observe(false, 5);
        assert!(!progress.caught_up());
        progress.observe(true, 20);
        assert!(progress.caught_up());
    }

    #[test]
    fn an_empty_feed_replayed_is_caught_up_at_zero() {
        let progress = Progress::default();
        progress.observe(true, 3);
        progress.replaying();
        progress.observe(true, 0);
        assert!(progress.caught_up());
    }
}
