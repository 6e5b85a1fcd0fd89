//! Holding moved routes during the final catch-up of a hand-over.
//!
//! A table that moved routes is swapped in with a [`Hold`]: a request its routes send to
//! an upstream they moved to waits on the hold's [`Gate`] before it is dispatched, while
//! every other request is served at once. The reloader meanwhile waits for the requests
//! still running on the previous table to finish ([`drained`]) and for the new side to
//! apply the old side's feed up to its head after that, then opens the gate through its
//! [`Opener`], which also opens it when dropped: a reload that fails, panics or is
//! cancelled never leaves requests held.
//!
//! Once open, a gate stays open; a snapshot keeps its hold for its life, and a request on
//! a moved route then pays one atomic load. A snapshot swapped in without moving routes
//! has no hold, and its requests pay one `Option` check.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Pair;
use crate::table::{RouteTable, UpstreamId};

/// Time between two looks at whether the previous table's requests have finished.
pub const DRAIN_POLL: Duration = Duration::from_millis(1);

/// What held requests wait on: closed when made, opened once.
#[derive(Debug, Default)]
pub struct Gate {
    open: AtomicBool,
    opened: Notify,
}

/// Opens its gate when told to or when dropped, whichever comes first.
#[derive(Debug)]
pub struct Opener(Arc<Gate>);

/// The routes of one table that are held, and the gate they wait on.
#[derive(Debug)]
pub struct Hold {
    gate: Arc<Gate>,
    /// For each route (indexed like `table.routes()`), the upstreams it moved to; a
    /// request the route sends to one of them is held.
    routes: Box<[Box<[UpstreamId]>]>,
}

// === impl Gate ===

impl Gate {
    /// A closed gate and the only way to open it.
    pub fn closed() -> (Arc<Self>, Opener) {
        let gate = Arc::new(Self::default());
        (Arc::clone(&gate), Opener(gate))
    }

    /// Whether held requests may go on.
    pub fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Returns once the gate is open.
    pub async fn opened(&self) {
        let notified = self.opened.notified();
        tokio::pin!(notified);
        // Registered before the flag is read: an `open` in between still wakes it.
        notified.as_mut().enable();
        if self.is_open() {
            return;
        }
        notified.await;
    }

    fn open(&self) {
        self.open.store(true, Ordering::Release);
        self.opened.notify_waiters();
    }
}

// === impl Opener ===

impl Opener {
    /// Lets every held request go on.
    pub fn open(self) {
        // Dropping opens.
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        self.0.open();
    }
}

// === impl Hold ===

impl Hold {
    /// Holds, in `table`, each pair's routes where they send to the pair's new side;
    /// `None` when that holds nothing.
    pub fn new<'p>(
        gate: Arc<Gate>,
        table: &RouteTable,
        pairs: impl IntoIterator<Item = &'p Pair>,
    ) -> Option<Self> {
        let mut routes: Vec<Vec<UpstreamId>> = vec![Vec::new(); table.routes().len()];
        let mut any = false;
        for pair in pairs {
            let Some(to) = table
                .upstreams()
                .iter()
                .position(|u| *u.name == pair.to)
                .map(UpstreamId)
            else {
                continue;
            };
            for (index, route) in table.routes().iter().enumerate() {
                if pair.routes.iter().any(|p| p == route.pattern.source())
                    && !routes[index].contains(&to)
                {
                    routes[index].push(to);
                    any = true;
                }
            }
        }
        any.then(|| Self {
            gate,
            routes: routes.into_iter().map(Vec::into_boxed_slice).collect(),
        })
    }

    /// The gate a request of route `index` sent to `upstream` must wait on, if it is
    /// held and the gate is still closed.
    pub fn gate_for(&self, index: usize, upstream: UpstreamId) -> Option<&Gate> {
        if self.gate.is_open() {
            return None;
        }
        self.routes
            .get(index)
            .is_some_and(|to| to.contains(&upstream))
            .then_some(&*self.gate)
    }
}

/// Waits until `previous` is held by the caller alone (every request that loaded it has
/// finished), or `deadline`; true in the first case.
pub async fn drained<T>(previous: &Arc<T>, deadline: Instant) -> bool {
    loop {
        if Arc::strong_count(previous) <= 1 {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        tokio::time::sleep_until((now + DRAIN_POLL).min(deadline)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_gate_lets_waiters_go_when_opened_or_its_opener_is_dropped() {
        let (gate, opener) = Gate::closed();
        assert!(!gate.is_open());
        let waiting = tokio::spawn({
            let gate = Arc::clone(&gate);
            async move { gate.opened().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(opener);
        waiting.await.unwrap();
        assert!(gate.is_open());
        // Open already: returns at once.
        gate.opened().await;

        let (gate, opener) = Gate::closed();
        opener.open();
        assert!(gate.is_open());
    }

    #[tokio::test(start_paused = true)]
    async fn drained_waits_for_other_holders_and_gives_up_at_the_deadline() {
        let previous = Arc::new(());
        let held = Arc::clone(&previous);
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(!drained(&previous, deadline).await);
        assert!(Instant::now() >= deadline);

        let releasing = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(held);
        });
        let deadline = Instant::now() + Duration::from_secs(1);
        assert!(drained(&previous, deadline).await);
        assert!(Instant::now() < deadline);
        releasing.await.unwrap();
    }
}
