//! The timeline's types and the join, as plain functions over plain data: no I/O.

mod compose;
mod latest;
mod lookup;
mod plan;
mod profile;
mod resolved;
mod timeline;

pub use compose::{assemble, degraded, distinct_friends, rank};
pub use latest::Latest;
pub use lookup::Lookup;
pub use plan::{Plan, next_round};
pub use profile::Profile;
pub use resolved::Resolved;
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, PerFriend, Timeline, TimelineLimit, TimelineParams,
};
