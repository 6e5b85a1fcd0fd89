//! Replication between two sides that hold the same entities (the monolith and a service
//! during a migration): each follows the other's feed and applies its changes through its
//! own store, so a write made on either side reaches the other whichever of them serves it.
//!
//! - [`Replica`]: what a store does with one change from the other side: write the entity
//!   (or delete it, with whatever its own rules cascade) in the given transaction.
//! - [`Replicator`]: the [`Consumer`] that decides which changes win and records them. Each
//!   batch is one transaction: the rows, the applied changes' events in this side's feed
//!   (with the other side's origin and version, see [`Change::replicated`]), and the
//!   position reached.
//!
//! The rules, the same on both sides, so both end in the same state:
//!
//! - An event whose `origin` is this side is skipped: it is this side's own write coming
//!   back, so nothing loops.
//! - Last writer wins: an event applies only when its `(version, origin)` is greater than
//!   that of the entity's latest event here (versions are hybrid-logical-clock readings,
//!   observed by both sides; equal versions are ordered by origin name). Applying an event
//!   twice, or an older one late, changes nothing.
//! - A deletion of an entity whose ids are never reused (a user, a message) is final: it
//!   beats every upsert of that entity, older or newer, on both sides, so a late or
//!   concurrent update never brings a deleted user back. A friendship can be made again
//!   after it ended, so for it the versions decide.

use std::collections::HashMap;
use std::future::Future;

use sqlx::AnyConnection;

use super::outbox::Stamp;
use super::{Change, Consumer, Event, Feed};

/// Subjects per `SELECT … IN (…)` of the stamps a batch competes with.
const SUBJECTS_PER_STATEMENT: usize = 400;

/// A store that takes changes made on another side.
pub trait Replica: Send + Sync + 'static {
    /// The entity types it holds and takes from the other side, e.g. `["user"]`.
    const ENTITIES: &'static [&'static str];

    /// The entity types whose deletion is final (their keys are never used again).
    const FINAL_DELETES: &'static [&'static str];

    /// The store's change feed.
    fn replica_feed(&self) -> &Feed;

    /// Writes `event` (an upsert with its `data`, or a deletion) in `conn`'s transaction.
    /// Returns the changes of this side's own that it caused (a cascade's deletions), or
    /// `None` when the event names something this side holds deleted (a message of a
    /// deleted user): it is then dropped, and recorded nowhere. An error leaves the batch
    /// to be retried.
    fn apply<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        event: &'a Event,
    ) -> impl Future<Output = anyhow::Result<Option<Vec<Change>>>> + Send + 'a;
}

/// The consumer that applies another side's feed to a [`Replica`].
#[derive(Debug, Clone)]
pub struct Replicator<R> {
    replica: R,
    consumer: String,
}

/// What the rules say of one event against the entity's latest event here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// It is newer: apply it.
    Apply,
    /// It is this side's own write, already here, or older than what is here.
    Skip,
}

/// Decides one event against `here`, the latest event of its entity on this side.
pub fn judge(event: &Event, here: Option<&Stamp>, local: &str, final_delete: bool) -> Verdict {
    if event.origin == local {
        return Verdict::Skip;
    }
    let Some(here) = here else {
        return Verdict::Apply;
    };
    if final_delete && here.deleted != event.is_deletion() {
        // Deletion is final: it beats every upsert, older or newer.
        return if event.is_deletion() {
            Verdict::Apply
        } else {
            Verdict::Skip
        };
    }
    if (event.version, event.origin.as_str()) > (here.version, here.origin.as_str()) {
        Verdict::Apply
    } else {
        Verdict::Skip
    }
}

// === impl Replicator ===

impl<R: Replica> Replicator<R> {
    /// Applies the feed it follows to `replica`, storing its position as `consumer`.
    pub fn new(replica: R, consumer: impl Into<String>) -> Self {
        Self {
            replica,
            consumer: consumer.into(),
        }
    }

    /// The stamps of the entities `events` name, as `conn`'s transaction sees them.
    async fn stamps(
        &self,
        conn: &mut AnyConnection,
        events: &[&Event],
    ) -> Result<HashMap<(String, String), Stamp>, sqlx::Error> {
        let mut by_entity: HashMap<&str, Vec<&str>> = HashMap::new();
        for event in events {
            by_entity
                .entry(event.entity())
                .or_default()
                .push(&event.subject);
        }
        let mut stamps = HashMap::new();
        for (entity, subjects) in by_entity {
            for chunk in subjects.chunks(SUBJECTS_PER_STATEMENT) {
                let sql = format!(
                    "SELECT subject, version, origin, \
                     CAST(CASE WHEN data IS NULL THEN 1 ELSE 0 END AS BIGINT) \
                     FROM feed_events WHERE entity = $1 AND subject IN ({})",
                    crate::store::placeholders(2, chunk.len())
                );
                let mut query =
                    sqlx::query_as::<_, (String, i64, String, i64)>(sqlx::AssertSqlSafe(sql))
                        .bind(entity.to_owned());
                for subject in chunk {
                    query = query.bind((*subject).to_owned());
                }
                for (subject, version, origin, deleted) in query.fetch_all(&mut *conn).await? {
                    let stamp = Stamp {
                        version,
                        origin,
                        deleted: deleted == 1,
                    };
                    stamps.insert((entity.to_owned(), subject), stamp);
                }
            }
        }
        Ok(stamps)
    }
}

impl<R: Replica> Consumer for Replicator<R> {
    async fn position(&self) -> anyhow::Result<u64> {
        Ok(self.replica.replica_feed().position(&self.consumer).await?)
    }

    async fn apply(&self, events: &[Event], next_after: u64) -> anyhow::Result<()> {
        let feed = self.replica.replica_feed();
        // Each entity's last event of the batch is the one that competes.
        let mut last: HashMap<(&str, &str), &Event> = HashMap::new();
        for event in events {
            if R::ENTITIES.contains(&event.entity()) {
                last.insert((event.entity(), &event.subject), event);
            }
        }
        let mut candidates: Vec<&Event> = last.into_values().collect();
        candidates.sort_unstable_by_key(|e| e.seq);

        let mut tx = feed.begin().await?;
        let stamps = self.stamps(&mut tx, &candidates).await?;
        let mut changes = Vec::new();
        let (mut applied, mut dropped) = (0_usize, 0_usize);
        for event in candidates {
            let key = (event.entity().to_owned(), event.subject.clone());
            let final_delete = R::FINAL_DELETES.contains(&event.entity());
            if judge(event, stamps.get(&key), feed.source(), final_delete) == Verdict::Skip {
                continue;
            }
            let Some(cascaded) = self.replica.apply(&mut tx, event).await? else {
                dropped += 1;
                continue;
            };
            applied += 1;
            changes.extend(cascaded);
            if let Some(change) = replicated(event, R::ENTITIES) {
                changes.push(change);
            }
        }
        feed.save_position(&mut tx, &self.consumer, next_after)
            .await?;
        let position = feed.commit(tx, &changes).await?;
        if applied + dropped > 0 {
            tracing::debug!(consumer = %self.consumer, applied, dropped,
                position = ?position, "replicated");
        }
        Ok(())
    }

    async fn reset(&self) -> anyhow::Result<()> {
        // Nothing here is built from the other side alone: a replay from 0 meets every
        // entity's latest event again, and the rules apply only what is newer.
        let feed = self.replica.replica_feed();
        let mut tx = feed.begin().await?;
        feed.save_position(&mut tx, &self.consumer, 0).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `event` as a change of this side's feed, keeping its origin and version; `None` for an
/// entity type this build does not know.
fn replicated(event: &Event, entities: &[&'static str]) -> Option<Change> {
    Change::from_event(event, entities).map(|c| c.replicated(event.origin.clone(), event.version))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rules {
    use super::*;

    fn event(kind: &str, version: i64, origin: &str) -> Event {
        serde_json::from_value(serde_json::json!({
            "specversion": "1.0", "id": "x", "source": "other", "type": kind,
            "subject": "7", "time": "2026-01-01T00:00:00Z", "seq": 1, "version": version,
            "origin": origin
        }))
        .unwrap()
    }

    fn stamp(version: i64, origin: &str, deleted: bool) -> Stamp {
        Stamp {
            version,
            origin: origin.to_owned(),
            deleted,
        }
    }

    #[test]
    fn the_last_writer_wins_and_ties_go_by_origin() {
        let here = stamp(100, "monolith", false);
        let verdict = |e: &Event| judge(e, Some(&here), "monolith", true);
        assert_eq!(
            verdict(&event("user.upserted", 101, "users")),
            Verdict::Apply
        );
        assert_eq!(verdict(&event("user.upserted", 99, "users")), Verdict::Skip);
        // Same version: the greater origin name wins, on both sides alike.
        assert_eq!(
            verdict(&event("user.upserted", 100, "users")),
            Verdict::Apply
        );
        let here = stamp(100, "users", false);
        assert_eq!(
            judge(
                &event("user.upserted", 100, "monolith"),
                Some(&here),
                "users",
                true
            ),
            Verdict::Skip
        );
        // Unknown here: apply.
        assert_eq!(
            judge(&event("user.upserted", 1, "users"), None, "monolith", true),
            Verdict::Apply
        );
    }

    #[test]
    fn own_writes_coming_back_and_repeats_are_skipped() {
        let here = stamp(100, "users", false);
        assert_eq!(
            judge(
                &event("user.upserted", 500, "monolith"),
                Some(&here),
                "monolith",
                true
            ),
            Verdict::Skip
        );
        assert_eq!(
            judge(
                &event("user.upserted", 100, "users"),
                Some(&here),
                "monolith",
                true
            ),
            Verdict::Skip
        );
    }

    #[test]
    fn a_final_deletion_is_never_undone() {
        let gone = stamp(100, "monolith", true);
        let late = event("user.upserted", 90, "users");
        let concurrent = event("user.upserted", 120, "users");
        assert_eq!(judge(&late, Some(&gone), "monolith", true), Verdict::Skip);
        assert_eq!(
            judge(&concurrent, Some(&gone), "monolith", true),
            Verdict::Skip
        );
        // A newer deletion still wins (its tombstone replaces the older one).
        let again = event("user.deleted", 120, "users");
        assert_eq!(judge(&again, Some(&gone), "monolith", true), Verdict::Apply);
        // A friendship may be made again after it ended: the versions decide.
        assert_eq!(judge(&late, Some(&gone), "monolith", false), Verdict::Skip);
        assert_eq!(
            judge(&concurrent, Some(&gone), "monolith", false),
            Verdict::Apply
        );
        // And a deletion wins over an upsert, older or newer, where deletion is final.
        let alive = stamp(100, "monolith", false);
        let deletion = event("user.deleted", 150, "users");
        assert_eq!(
            judge(&deletion, Some(&alive), "monolith", true),
            Verdict::Apply
        );
        let early = event("user.deleted", 50, "users");
        assert_eq!(
            judge(&early, Some(&alive), "monolith", true),
            Verdict::Apply
        );
        assert_eq!(
            judge(&early, Some(&alive), "monolith", false),
            Verdict::Skip
        );
    }
}
