//! A users service in-process, as a [`ProfileSource`] whose behaviour a test controls: which
//! ids exist, whether it fails or stalls, and how many requests and ids it was asked for.
//! Its stalls are tokio sleeps, so under paused time they take virtual time only.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use kit::ids::UserId;
use timeline::clients::{Answers, CallError, ProfileSource, Propagate};
use timeline::domain::Profile;
use tokio::time::Instant;

#[derive(Default)]
pub(crate) struct FakeUsers {
    existing: Mutex<HashSet<i64>>,
    failing: AtomicBool,
    stall_ms: AtomicU64,
    requests: AtomicU64,
    ids_asked: AtomicU64,
}

impl FakeUsers {
    pub(crate) fn new(existing: impl IntoIterator<Item = i64>) -> Self {
        let users = Self::default();
        users.existing.lock().unwrap().extend(existing);
        users
    }

    /// Answers 500 from now on.
    pub(crate) fn fail(&self) {
        self.failing.store(true, Ordering::SeqCst);
    }

    /// Answers only after `stall` from now on.
    pub(crate) fn stall(&self, stall: Duration) {
        self.stall_ms
            .store(stall.as_millis() as u64, Ordering::SeqCst);
    }

    pub(crate) fn ids_asked(&self) -> u64 {
        self.ids_asked.load(Ordering::SeqCst)
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    async fn answer(&self, ids: &[UserId]) -> Result<Answers, CallError> {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.ids_asked.fetch_add(ids.len() as u64, Ordering::SeqCst);
        let stall = self.stall_ms.load(Ordering::SeqCst);
        if stall > 0 {
            tokio::time::sleep(Duration::from_millis(stall)).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(CallError::Status(500));
        }
        let existing = self.existing.lock().unwrap();
        Ok(ids
            .iter()
            .map(|id| {
                let profile = existing.contains(&id.get()).then(|| Profile {
                    id: *id,
                    name: format!("user {id}"),
                    avatar_url: None,
                });
                (*id, profile)
            })
            .collect())
    }
}

impl ProfileSource for FakeUsers {
    fn profiles<'a>(
        &'a self,
        ids: &'a [UserId],
        _propagate: &'a Propagate,
        _deadline: Instant,
    ) -> BoxFuture<'a, Result<Answers, CallError>> {
        self.answer(ids).boxed()
    }
}
