//! The monolith over real HTTP on ephemeral ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod authors;
mod cascade;
mod demo;
mod etag;
mod feed;
mod friends;
mod lifecycle;
mod messages;
mod timeline;
