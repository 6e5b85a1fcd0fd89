//! The thread shadow traffic runs on: a thread of its own with a single-threaded runtime,
//! at a lower scheduling priority than the proxy's workers ([`NICENESS`] above theirs on
//! Linux). A copy, its answer and their comparison use the CPU the client path leaves:
//! they never take a turn on a worker thread between two clients' requests, and when
//! the machine is busy the scheduler runs the workers first.
//!
//! Connections to shadow upstreams are opened from this thread, so their tasks live on
//! its runtime too. Started on first use, it lives as long as the process.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;

/// The shadow thread's name, as `ps -L` and `top -H` show it.
pub const THREAD_NAME: &str = "gateway-shadow";

/// How much nicer the shadow thread is than the thread that starts it on Linux (at most
/// 19): under contention it gets about a tenth of the CPU time a worker thread gets.
pub const NICENESS: i32 = 10;

static LANE: OnceLock<Option<Handle>> = OnceLock::new();

/// Runs `task` on the shadow thread; on the caller's runtime when that thread could not
/// be started.
pub fn spawn<F>(task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    match LANE.get_or_init(start) {
        Some(lane) => drop(lane.spawn(task)),
        None => drop(tokio::spawn(task)),
    }
}

fn start() -> Option<Handle> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::warn!(%err, "cannot build the shadow runtime; shadows run on the workers");
            return None;
        }
    };
    let handle = runtime.handle().clone();
    let spawned = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || {
            lower_priority();
            runtime.block_on(std::future::pending::<()>());
        });
    match spawned {
        Ok(_) => Some(handle),
        Err(err) => {
            tracing::warn!(%err, "cannot start the shadow thread; shadows run on the workers");
            None
        }
    }
}

/// Raises the calling thread's niceness by [`NICENESS`]: on Linux a thread id names that
/// thread alone. Raising one's own niceness needs no privilege.
#[cfg(target_os = "linux")]
fn lower_priority() {
    let thread = Some(rustix::thread::gettid());
    let lowered = rustix::process::getpriority_process(thread).and_then(|niceness| {
        rustix::process::setpriority_process(thread, (niceness + NICENESS).min(19))
    });
    if let Err(err) = lowered {
        tracing::warn!(%err, "cannot lower the shadow thread's priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shadows_run_on_their_own_thread_below_the_workers_priority() {
        #[cfg(target_os = "linux")]
        fn niceness() -> Option<i32> {
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok()
        }
        #[cfg(not(target_os = "linux"))]
        fn niceness() -> Option<i32> {
            None
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        spawn(async move {
            let name = std::thread::current().name().map(str::to_owned);
            let _ = tx.send((name, niceness()));
        });
        let (name, shadow) = rx.await.expect("the shadow task ran");
        assert_eq!(name.as_deref(), Some(THREAD_NAME));
        assert_ne!(std::thread::current().name(), Some(THREAD_NAME));
        if cfg!(target_os = "linux") {
            let worker = niceness().expect("the test thread's niceness");
            assert_eq!(shadow, Some((worker + NICENESS).min(19)));
        }
    }
}
