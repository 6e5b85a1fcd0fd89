//! What handlers share: cloning it per request costs refcount bumps.

use std::sync::Arc;

use anyhow::Context as _;
use kit::feed::nats::Bus;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::clients::{Downstream, UsersClient};
use crate::config::{Config, ViewMode};
use crate::engine::Engine;
use crate::metrics::{Metrics, Service};
use crate::profiles::{CacheConfig, Profiles};
use crate::timelines::Timelines;
use crate::view::{Feeds, LiveView, ViewOptions};

/// Handles shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The view and the composer.
    pub timelines: Arc<Timelines>,
    /// Metrics, also held by the clients and the view.
    pub metrics: Metrics,
    /// Stops the view's followers and repairs once the last clone of the state is gone.
    _stop: Arc<DropGuard>,
}

// === impl AppState ===

impl AppState {
    /// Builds the clients (once, here) and the cache from `config`, and starts the live
    /// view unless it is off (connecting to the feed bus first when one is configured).
    pub async fn start(config: &Config) -> anyhow::Result<Self> {
        let metrics = Metrics::new();
        let engine = engine(config, &metrics)?;
        let stop = CancellationToken::new();
        let view = match config.view {
            ViewMode::Off => None,
            ViewMode::On => {
                let options = view_options(config).await?;
                let messages = engine.messages.clone();
                Some(LiveView::start(
                    &options,
                    messages,
                    &engine.profiles,
                    &metrics,
                    &stop,
                ))
            }
        };
        let timelines = Timelines {
            engine,
            view,
            metrics: metrics.clone(),
        };
        Ok(Self {
            timelines: Arc::new(timelines),
            metrics,
            _stop: Arc::new(stop.drop_guard()),
        })
    }
}

fn engine(config: &Config, metrics: &Metrics) -> anyhow::Result<Engine> {
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
    Ok(Engine {
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
    })
}

async fn view_options(config: &Config) -> anyhow::Result<ViewOptions> {
    let feeds = match &config.feed_bus {
        Some(url) => Feeds::Nats(Bus::connect(url).await.context("the view's feed bus")?),
        None => Feeds::Http {
            client: reqwest::Client::builder()
                .connect_timeout(config.connect_timeout)
                .build()?,
            users: config.users_url.clone(),
            friends: config.friends_url.clone(),
            messages: config.messages_url.clone(),
        },
    };
    Ok(ViewOptions {
        feeds,
        consumer: config.view_consumer(),
        max_lag: config.max_view_lag,
        max_wait: config.max_wait_for_writes,
        call_timeout: config.call_timeout,
        kept_answers_bytes: config.view_kept_answers_mib.saturating_mul(1 << 20),
    })
}
