//! The users service over real HTTP on ephemeral ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod bulk;
mod crud;
mod demo;
mod errors;
mod feed;
mod lifecycle;
