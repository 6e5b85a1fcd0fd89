//! The friends service over real HTTP on ephemeral ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod demo;
mod errors;
mod feed;
mod friends;
mod lifecycle;
