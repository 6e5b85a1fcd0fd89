//! One terminal for six parts: every log line prefixed with the part whose thread wrote
//! it, from the names the parts' runtimes give their threads.

use std::fmt;

use tracing::Subscriber;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Every name a log line can be prefixed with (the threads of each part's runtime carry
/// it), padded to the longest.
const NAMES: [&str; 6] = [
    "monolith", "users", "friends", "messages", "timeline", "gateway",
];

/// Prefixes each log line with the name of the part whose thread wrote it.
struct Prefixed<F>(F);

/// Logs to stdout, each line prefixed with the part that wrote it. `RUST_LOG` filters as
/// for every binary of the project.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,hyper=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let _already_set = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .event_format(Prefixed(tracing_subscriber::fmt::format()))
        .try_init();
}

// === impl Prefixed ===

impl<S, N, F> FormatEvent<S, N> for Prefixed<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let thread = std::thread::current();
        write!(writer, "{:<8} | ", part_of_thread(thread.name()))?;
        self.0.format_event(ctx, writer, event)
    }
}

/// The part a thread belongs to, from the names the runtimes give their threads; `up`
/// for the threads that belong to none (the command's own).
fn part_of_thread(thread: Option<&str>) -> &'static str {
    thread
        .and_then(|thread| {
            NAMES.into_iter().find(|name| {
                thread
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            })
        })
        .unwrap_or("up")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_are_named_after_their_part() {
        assert_eq!(part_of_thread(Some("timeline")), "timeline");
        assert_eq!(part_of_thread(Some("gateway-worker-3")), "gateway");
        assert_eq!(part_of_thread(Some("usersx")), "up");
        assert_eq!(part_of_thread(Some("main")), "up");
        assert_eq!(part_of_thread(None), "up");
    }
}
