//! What handlers share: cloning it per request costs refcount bumps.

use std::sync::Arc;

use crate::clients::{Downstream, UsersClient};
use crate::config::Config;
use crate::engine::Engine;
use crate::metrics::{Metrics, Service};
use crate::profiles::{CacheConfig, Profiles};

/// Handles shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The composer.
    pub engine: Arc<Engine>,
    /// Metrics, also held by the engine.
    pub metrics: Metrics,
}

impl AppState {
    /// Builds the clients (once, here) and the cache from `config`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let client = |service, url: &str| {
            Downstream::new(
                service,
                url,
                config.connect_timeout,
                config.call_timeout,
                metrics.clone(),
            )
        };
        let cache = CacheConfig {
            capacity: config.cache_capacity,
            ttl: config.cache_ttl,
            stale_for: config.cache_stale_for,
        };
        let engine = Engine {
            friends: client(Service::Friends, &config.friends_url)?,
            messages: client(Service::Messages, &config.messages_url)?,
            profiles: Profiles::new(
                cache,
                Arc::new(UsersClient(client(Service::Users, &config.users_url)?)),
                config.fanout_concurrency,
                metrics.clone(),
            ),
            concurrency: config.fanout_concurrency,
            deadline: config.deadline,
            strategy: config.profiles,
            metrics: metrics.clone(),
        };
        Ok(Self {
            engine: Arc::new(engine),
            metrics,
        })
    }
}
