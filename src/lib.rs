//! The Strangler-Fig gateway.

#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod routes;
