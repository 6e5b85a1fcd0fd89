//! The timeline's types and the join, as plain functions over plain data: no I/O.

mod compose;
mod lookup;
mod profile;
mod timeline;

pub use compose::{assemble, rank};
pub use lookup::Lookup;
pub use profile::Profile;
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, PerFriend, Timeline, TimelineLimit, TimelineParams,
};
