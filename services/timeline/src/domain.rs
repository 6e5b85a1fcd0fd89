//! The timeline's types and the join, as plain functions over plain data: no I/O.

mod compose;
mod timeline;

pub use compose::{Lookup, assemble, rank};
pub use timeline::{
    Degradation, Entry, EntryMessage, Friend, PerFriend, Timeline, TimelineLimit, TimelineParams,
};
