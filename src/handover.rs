//! Hand-over at a swap: when a reload moves routes from one upstream to another, the new
//! side must have applied the old side's writes before it answers, so that a client that
//! wrote on the old side and reads on the new one sees its write.
//!
//! During the migration the monolith and the services replicate to each other over their
//! change feeds: each serves `GET /feeds` with its own feed's head and the position of each
//! follower it runs of another side's feed. A reload therefore works out which upstreams
//! lose requests to which others ([`diff`]: every (old, new) [`Pair`]), reads the old
//! side's head and polls the new side until its follower of that feed is there
//! ([`wait`]), bounded by `handover_timeout`. The old table serves every request
//! meanwhile; the swap happens whatever the [`Outcome`].
//!
//! Writes the old side acknowledges after its head was read (during that wait, or by
//! requests still running on the old table at the swap) are caught by a final catch-up
//! ([`hold`]): the new table is swapped in with its moved routes held, the requests of
//! the previous table are let finish, the old side's head is read again and the new side
//! waited for up to it; then the held requests go on. Both waits share the one bound.

use serde::Serialize;
use utoipa::ToSchema;

pub mod diff;
pub mod hold;
pub mod wait;

pub use diff::{Pair, pairs};
pub use hold::{Gate, Hold, Opener};
pub use wait::FeedClient;

/// How one hand-over ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = HandoverOutcome)]
pub enum Outcome {
    /// The new side's follower of the old side's feed reached the head read before the
    /// wait, and the head read again after the swap.
    CaughtUp,
    /// It had not reached one of them within `handover_timeout`, or the previous table's
    /// requests had not finished by then; the swap went ahead and held requests went on.
    TimedOut,
    /// Nothing to wait for: a side serves no `/feeds`, or the new side follows no feed of
    /// the old side's source.
    NotReplicated,
    /// A side's `/feeds` could not be read (refused, no answer, a server error).
    Unreachable,
}

/// One hand-over waited for before a swap: from which upstream to which, for which
/// routes, on which feed, and how it ended.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Handover {
    /// The upstream the routes left.
    pub from: String,
    /// The upstream they moved to.
    pub to: String,
    /// The patterns of the new table's routes that moved, as written in routes.yaml.
    pub routes: Vec<String>,
    /// The old side's feed (its `/feeds` `source`), when it was read.
    pub source: Option<String>,
    /// The old side's feed head when the wait began.
    pub head: Option<u64>,
    /// The old side's feed head read again after the swap, once the requests that started
    /// on the previous table had finished; null when there was no final catch-up (the
    /// first wait did not catch up, or the previous table's requests outlasted the
    /// timeout).
    pub final_head: Option<u64>,
    /// The highest position the new side's followers of `source` had reached when the
    /// wait ended.
    pub position: Option<u64>,
    /// Time spent waiting, before and after the swap, in milliseconds.
    pub waited_ms: u64,
    /// Of that, the time after the swap, when requests the moved routes sent to `to` were
    /// held, in milliseconds; 0 when nothing was held.
    pub held_ms: u64,
    /// The bound on the wait, in milliseconds.
    pub timeout_ms: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why there was nothing to wait for, what failed, or where the follower was when the
    /// wait timed out; null when caught up.
    pub detail: Option<String>,
}

// === impl Outcome ===

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 4] = [
        Self::CaughtUp,
        Self::TimedOut,
        Self::NotReplicated,
        Self::Unreachable,
    ];

    /// Its name, as serialized and as the `outcome` label of `gateway_handovers_total`.
    pub fn label(self) -> &'static str {
        match self {
            Self::CaughtUp => "caught_up",
            Self::TimedOut => "timed_out",
            Self::NotReplicated => "not_replicated",
            Self::Unreachable => "unreachable",
        }
    }
}
