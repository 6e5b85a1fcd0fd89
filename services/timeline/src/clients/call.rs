use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use crate::metrics::{CallOutcome, Metrics, Service};

/// Why a downstream call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer within the call's budget (its timeout, or what is left of the deadline).
    #[error("timed out")]
    Timeout,
    /// Connection refused, reset or otherwise broken.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// Answered with a non-2xx status.
    #[error("answered {0}")]
    Status(u16),
    /// Answered 2xx with a body this service cannot read.
    #[error("unreadable answer: {0}")]
    Body(String),
}

/// Headers forwarded from the incoming request to every downstream call.
#[derive(Debug, Clone, Default)]
pub struct Propagate {
    /// `x-request-id`.
    pub request_id: Option<HeaderValue>,
    /// W3C `traceparent`.
    pub traceparent: Option<HeaderValue>,
    /// W3C `tracestate`.
    pub tracestate: Option<HeaderValue>,
}

/// One downstream service: its base URL and a pooled client built once. Cloning is shallow.
#[derive(Debug, Clone)]
pub struct Downstream {
    service: Service,
    base: Arc<str>,
    client: reqwest::Client,
    call_timeout: Duration,
    metrics: Metrics,
}

// === impl Downstream ===

impl Downstream {
    /// A client for `service` at `base_url` (`http://host:port`).
    pub fn new(
        service: Service,
        base_url: &str,
        connect_timeout: Duration,
        call_timeout: Duration,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        let base: Arc<str> = Arc::from(base_url.trim_end_matches('/'));
        anyhow::ensure!(
            base.starts_with("http://") || base.starts_with("https://"),
            "{service:?} URL `{base}` must start with http:// or https://"
        );
        Ok(Self {
            service,
            base,
            client,
            call_timeout,
            metrics,
        })
    }

    /// GETs `path` with `query` and reads the JSON answer, within the call timeout and the
    /// request's `deadline`, whichever comes first.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        propagate: &Propagate,
        deadline: Instant,
    ) -> Result<T, CallError> {
        let started = Instant::now();
        let budget = self
            .call_timeout
            .min(deadline.saturating_duration_since(started));
        let result = if budget.is_zero() {
            Err(CallError::Timeout)
        } else {
            let call = self.send::<T>(path, query, propagate, budget);
            tokio::time::timeout(budget, call)
                .await
                .unwrap_or(Err(CallError::Timeout))
        };
        let outcome = match &result {
            Ok(_) => CallOutcome::Ok,
            Err(CallError::Timeout) => CallOutcome::Timeout,
            Err(CallError::Unreachable(_)) => CallOutcome::Unreachable,
            Err(CallError::Status(_) | CallError::Body(_)) => CallOutcome::Error,
        };
        self.metrics.call(self.service, outcome, started.elapsed());
        if let Err(err) = &result {
            tracing::warn!(service = ?self.service, path, %err, "downstream call failed");
        }
        result
    }

    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        propagate: &Propagate,
        budget: Duration,
    ) -> Result<T, CallError> {
        let mut request = self
            .client
            .get(format!("{}{path}", self.base))
            .query(query)
            .timeout(budget);
        for (name, value) in [
            (kit::layers::REQUEST_ID.as_str(), &propagate.request_id),
            ("traceparent", &propagate.traceparent),
            ("tracestate", &propagate.tracestate),
        ] {
            if let Some(value) = value {
                request = request.header(name, value.clone());
            }
        }
        let response = request.send().await.map_err(|e| classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Status(status.as_u16()));
        }
        let body = response.bytes().await.map_err(|e| classify(&e))?;
        serde_json::from_slice(&body).map_err(|err| CallError::Body(err.to_string()))
    }
}

fn classify(err: &reqwest::Error) -> CallError {
    if err.is_timeout() {
        CallError::Timeout
    } else {
        CallError::Unreachable(err.to_string())
    }
}
