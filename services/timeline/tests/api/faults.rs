//! Downstream failures degrade the timeline, except the friends list.

use std::time::Duration;

use crate::stack::Stack;

const WORLD: &str = "users=200,friends=10,messages=5,seed=3";

#[tokio::test]
async fn messages_stopped_gives_friends_without_messages() {
    let mut stack = Stack::start(WORLD, &[]).await;
    let complete = stack.timeline_of(4, "").await;
    stack.stop_messages().await;
    let degraded = stack.timeline_of(4, "").await;
    assert_eq!(degraded["degraded"], serde_json::json!(["messages"]));
    let entries = degraded["entries"].as_array().unwrap();
    assert_eq!(entries.len(), complete["entries"].as_array().unwrap().len());
    assert!(
        entries
            .iter()
            .all(|e| e["messages"].as_array().unwrap().is_empty())
    );
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "without messages, friends by ascending id");
    assert!(entries.iter().all(|e| e["friend"]["name"].is_string()));
}

#[tokio::test]
async fn slow_users_answers_within_the_deadline_degraded() {
    let stack = Stack::start(WORLD, &["--deadline=300ms", "--cache-ttl=0s"]).await;
    stack.slow_users(Duration::from_secs(5));
    let timeline = stack.timeline_of(6, "").await;
    // Users would answer with every name after 5 s: the deadline cut it short.
    assert_eq!(timeline["degraded"], serde_json::json!(["users"]));
    let entries = timeline["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["friend"]["name"].is_null()),
        "no profile known"
    );
    assert!(
        entries
            .iter()
            .any(|e| !e["messages"].as_array().unwrap().is_empty())
    );
}

#[tokio::test]
async fn cached_profiles_stand_in_for_a_failing_users_service() {
    let stack = Stack::start(WORLD, &["--deadline=300ms", "--cache-ttl=50ms"]).await;
    let fresh = stack.timeline_of(8, "").await;
    stack.pass_time(Duration::from_millis(100)).await;
    stack.slow_users(Duration::from_secs(5));
    let stale = stack.timeline_of(8, "").await;
    assert_eq!(
        stale["degraded"],
        serde_json::json!(["users", "stale_profiles"])
    );
    assert_eq!(stale["entries"], fresh["entries"], "stale beats absent");
}

#[tokio::test]
async fn friends_stopped_is_503_with_retry_after() {
    let mut stack = Stack::start(WORLD, &[]).await;
    stack.stop_friends().await;
    let response = stack.get("/timeline/4").await;
    assert_eq!(response.headers()["retry-after"], "1");
    kit::test_util::assert_problem(response, 503, "unavailable").await;
    let served = stack.metric("timeline_served_total").await;
    assert_eq!(served, 1.0);
}
