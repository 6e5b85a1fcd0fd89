//! A users service whose behaviour a test controls: which ids exist, whether it fails or
//! stalls, and how many ids it was asked for.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kit::test_util::TestServer;
use serde_json::json;

#[derive(Default)]
pub(crate) struct Behaviour {
    pub(crate) existing: Mutex<HashSet<i64>>,
    pub(crate) failing: AtomicBool,
    pub(crate) stall_ms: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) ids_asked: AtomicU64,
}

pub(crate) struct FakeUsers {
    pub(crate) server: TestServer,
    pub(crate) behaviour: Arc<Behaviour>,
}

impl FakeUsers {
    pub(crate) async fn start(existing: impl IntoIterator<Item = i64>) -> Self {
        let behaviour = Arc::new(Behaviour::default());
        behaviour.existing.lock().unwrap().extend(existing);
        let app = Router::new()
            .route("/users", get(bulk))
            .with_state(behaviour.clone());
        Self {
            server: TestServer::start(app).await,
            behaviour,
        }
    }

    pub(crate) fn url(&self) -> String {
        self.server.url("")
    }

    pub(crate) fn ids_asked(&self) -> u64 {
        self.behaviour.ids_asked.load(Ordering::SeqCst)
    }

    pub(crate) fn requests(&self) -> u64 {
        self.behaviour.requests.load(Ordering::SeqCst)
    }
}

#[derive(serde::Deserialize)]
struct Ids {
    ids: String,
}

async fn bulk(State(b): State<Arc<Behaviour>>, Query(q): Query<Ids>) -> Response {
    let ids: Vec<i64> = q.ids.split(',').map(|t| t.parse().unwrap()).collect();
    b.requests.fetch_add(1, Ordering::SeqCst);
    b.ids_asked.fetch_add(ids.len() as u64, Ordering::SeqCst);
    let stall = b.stall_ms.load(Ordering::SeqCst);
    if stall > 0 {
        tokio::time::sleep(Duration::from_millis(stall)).await;
    }
    if b.failing.load(Ordering::SeqCst) {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let existing = b.existing.lock().unwrap().clone();
    let (found, missing): (Vec<i64>, Vec<i64>) =
        ids.into_iter().partition(|id| existing.contains(id));
    let users: Vec<_> = found
        .iter()
        .map(|id| json!({"id": id, "name": format!("user {id}"), "avatar_url": null, "extra": "ignored"}))
        .collect();
    axum::Json(json!({"users": users, "missing": missing})).into_response()
}
