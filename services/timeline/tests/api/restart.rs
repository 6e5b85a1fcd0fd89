//! The timeline service as its own process, killed (SIGKILL) while its view replays the
//! feeds: nothing of the view survives it, and a new process rebuilds the view from the
//! feeds, composing meanwhile, until it answers from the view what the services hold.

use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::stack::{Stack, eventually, without_generated_at};
use kit::test_util::metric_sum as metric;

/// 2,000 users with about 10 friends and 20 messages each (user 1 about 110 friends): a
/// messages feed of 40,000 events, 40 pages of a replay.
const WORLD: &str = "users=2000,friends=10,messages=20,seed=11,celebrities=1,celebrity_friends=100";

/// 2026-06-01T00:00:00Z: newer than every demo message.
const LATER: i64 = 1_780_272_000_000_000;

/// Users and queries compared.
const USERS: [i64; 4] = [1, 7, 500, 1999];
const QUERIES: [&str; 3] = ["", "per_friend=10", "per_friend=3&limit=500"];

/// A timeline binary with its view on, reading the stack's services; killed if still
/// running when dropped.
struct Process {
    child: Child,
    base: String,
}

// === impl Process ===

impl Process {
    /// Starts the binary and waits for its `listening addr=…` log line.
    async fn spawn(stack: &Stack) -> Self {
        let friends = stack.friends.as_ref().unwrap();
        let messages = stack.messages.as_ref().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_timeline"))
            .args([
                "--listen=127.0.0.1:0".to_owned(),
                format!("--users-url={}", stack.users.url("")),
                format!("--friends-url={}", friends.url("")),
                format!("--messages-url={}", messages.url("")),
                "--cache-ttl=0s".to_owned(),
            ])
            .env("RUST_LOG", "info")
            .env_remove("LOG_FORMAT")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the timeline binary");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next_line().await.unwrap();
            let line = line.expect("the timeline exited without logging its address");
            let addr = line
                .split("addr=")
                .nth(1)
                .filter(|_| line.contains("listening"));
            if let Some(rest) = addr {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading, so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self {
            child,
            base: format!("http://{addr}"),
        }
    }

    async fn metrics(&self, stack: &Stack) -> String {
        let url = format!("{}/metrics", self.base);
        let response = stack.client.get(url).send().await.unwrap();
        response.text().await.unwrap()
    }

    /// The timeline of `user` with `query`: where it came from, its `ETag` and its body
    /// without `generated_at`, asserting a 200.
    async fn answer(&self, stack: &Stack, user: i64, query: &str) -> (String, String, Value) {
        let url = format!("{}/timeline/{user}?{query}", self.base);
        let response = stack.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "timeline of {user}?{query}");
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        let (source, etag) = (header("x-timeline-source"), header("etag"));
        let body = without_generated_at(response.json().await.unwrap());
        (source, etag, body)
    }
}

fn building(metrics: &str) -> bool {
    metric(metrics, "timeline_view_state", "state=\"building\"") == 1.0
}

/// The view's state lines, for a failure's message.
fn states(metrics: &str) -> Vec<&str> {
    let states = metrics
        .lines()
        .filter(|l| l.starts_with("timeline_view_state{"));
    states.collect()
}

/// How far the view's follower of the messages feed got.
fn messages_position(metrics: &str) -> f64 {
    let labels = "source=\"messages\"";
    metric(metrics, "timeline_feed_consumer_position", labels)
}

/// The composed timeline (the stack's own timeline composes every answer): its `ETag` and
/// body.
async fn composed(stack: &Stack, user: i64, query: &str) -> (String, Value) {
    let response = stack.get(&format!("/timeline/{user}?{query}")).await;
    assert_eq!(response.status(), 200, "timeline of {user}?{query}");
    assert_eq!(response.headers()["x-timeline-source"], "composed");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (etag, without_generated_at(response.json().await.unwrap()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_killed_mid_replay_is_rebuilt_whole_by_the_next_process() {
    let started = std::time::Instant::now();
    let stack = Stack::live(WORLD, &["--view=off", "--cache-ttl=0s"]).await;
    let built = started.elapsed();
    let messages_gate = &stack.feeds().messages_gate;
    // Every page of the messages feed answers late: the replay takes seconds.
    messages_gate.delay(Duration::from_millis(50));
    let mut first = Process::spawn(&stack).await;

    // Some pages replayed, then the feed held: the view is mid-replay when it is killed.
    let (first_ref, stack_ref) = (&first, &stack);
    eventually(
        "the view to replay part of the messages feed",
        move || async move {
            let metrics = first_ref.metrics(stack_ref).await;
            (messages_position(&metrics) >= 2000.0).then_some(())
        },
    )
    .await;
    messages_gate.hold();
    let metrics = first.metrics(&stack).await;
    let replayed = messages_position(&metrics);
    let head = stack.feeds().messages.head() as f64;
    assert!(building(&metrics), "{:?}", states(&metrics));
    assert!(replayed < head, "mid-replay: {replayed} of {head}");
    // Meanwhile answers are composed, and right.
    for user in USERS {
        let (source, etag, body) = first.answer(&stack, user, "").await;
        assert_eq!(source, "composed", "timeline of {user} while building");
        assert_eq!((etag, body), composed(&stack, user, "").await, "{user}");
    }
    first.child.start_kill().unwrap();
    let status = first.child.wait().await.unwrap();
    assert_eq!(status.signal(), Some(9), "killed: {status}");

    // A write while no timeline runs, then a new process.
    let friend = stack.timeline_of(1, "").await["entries"][0]["friend"]["id"]
        .as_i64()
        .unwrap();
    let (written, _) = stack.write_message(friend, "while down", LATER).await;
    messages_gate.open();
    let restarted = std::time::Instant::now();
    let second = Process::spawn(&stack).await;
    let metrics = second.metrics(&stack).await;
    assert!(
        building(&metrics),
        "a new view builds: {:?}",
        states(&metrics)
    );
    let (source, etag, body) = second.answer(&stack, 1, "").await;
    assert_eq!(source, "composed", "while building");
    assert_eq!((etag, body), composed(&stack, 1, "").await);

    let (second_ref, stack_ref) = (&second, &stack);
    eventually("the new view to be current", move || async move {
        let metrics = second_ref.metrics(stack_ref).await;
        let current = metric(&metrics, "timeline_view_state", "state=\"current\"") == 1.0;
        current.then_some(())
    })
    .await;
    let rebuilt = restarted.elapsed();
    for user in USERS {
        for query in QUERIES {
            let (source, etag, body) = second.answer(&stack, user, query).await;
            assert_eq!(source, "view", "timeline of {user}?{query}");
            let expected = composed(&stack, user, query).await;
            assert_eq!((etag, body), expected, "timeline of {user}?{query}");
        }
    }
    let (_, _, timeline) = second.answer(&stack, 1, "").await;
    assert_eq!(timeline["entries"][0]["messages"][0]["id"], written);
    // From 0: every event of every feed applied again.
    let metrics = second.metrics(&stack).await;
    let feeds = stack.feeds();
    for (source, feed) in [
        ("users", &feeds.users),
        ("friends", &feeds.friends),
        ("messages", &feeds.messages),
    ] {
        let labels = format!("source=\"{source}\",outcome=\"applied\"");
        let applied = metric(&metrics, "timeline_view_events_total", &labels);
        let size = feed.size().await.unwrap() as f64;
        assert!(
            applied >= size,
            "the whole {source} feed: {applied} of {size}"
        );
    }
    eprintln!(
        "stack up in {built:.1?}; killed at messages {replayed} of {head}; the new view \
         current {rebuilt:.1?} after its start"
    );
}
