//! The messages service over real HTTP on ephemeral ports.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod authors;
mod crud;
mod demo;
mod errors;
mod feed;
mod latest;
mod lifecycle;
mod paging;
mod spec;
