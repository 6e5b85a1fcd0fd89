//! The timeline's types, the join, and the live view, as plain functions over plain data:
//! no I/O.
//!
//! - The join: [`rank`], [`next_round`] (for [`Plan::Shown`]) and [`assemble`], over what
//!   the reads found ([`Latest`], [`Resolved`]).
//! - The view: [`View`] holds [`Friendships`], profiles and [`Authors`] (each author's
//!   [`Kept`] messages), applies [`ViewChange`]s and answers a [`ViewRead`] with the same
//!   join.

mod authors;
mod compose;
mod friendships;
mod kept;
mod latest;
mod lookup;
mod part;
mod plan;
mod profile;
mod render;
mod resolved;
mod timeline;
mod view;
mod view_change;
mod view_read;
mod view_size;

pub use authors::Authors;
pub use compose::{assemble, degraded, distinct_friends, rank, rank_key};
pub use friendships::Friendships;
pub use kept::{KEEP, Kept, REPAIR_BELOW};
pub use latest::Latest;
pub use lookup::Lookup;
pub use part::Part;
pub use plan::{Plan, next_round};
pub use profile::Profile;
pub use render::{EntryRef, Frame, Rendered, render};
pub use resolved::Resolved;
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, PerFriend, Timeline, TimelineLimit, TimelineParams,
};
pub use view::{Version, View};
pub use view_change::ViewChange;
pub use view_read::ViewRead;
pub use view_size::ViewSize;
