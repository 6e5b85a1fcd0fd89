//! The gateway on real sockets, with test upstreams behind it that answer with their own
//! name: routing by phase file, header hygiene, path tricks, failures and limits, the
//! concurrency bound, live reloads through every path, swaps under load, bearer tokens,
//! owners and rate limits, metrics and the migration page, shadow traffic and its
//! comparisons, and the hand-over at a swap that moves routes between replicating sides.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod browser;
mod cli;
mod compression;
mod failures;
mod handover;
mod hygiene;
mod limits;
mod messages;
mod metrics;
mod overload;
mod reload;
mod routing;
mod shadow;
mod support;
mod swap;
mod tokens;
