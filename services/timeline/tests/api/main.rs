//! The timeline service over real HTTP on ephemeral ports (composing, and from its live
//! view of the services' feeds), and its profile cache against an in-process users service
//! under virtual time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fakes;
mod stack;

mod cache;
mod composition;
mod etag;
mod faults;
mod races;
mod restart;
mod view;
