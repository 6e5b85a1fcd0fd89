//! The timeline against real services: content, order, parameters, chunking, headers.

use crate::stack::{Stack, without_generated_at};

const WORLD: &str = "users=400,friends=12,messages=6,seed=5";

#[tokio::test]
async fn matches_what_the_services_hold_for_many_users() {
    let stack = Stack::start(WORLD, &[]).await;
    for user in (1..=400).step_by(37) {
        let got = without_generated_at(stack.timeline_of(user, "").await);
        let want = stack.expected(user, 1, 50).await;
        assert_eq!(got, want, "timeline of user {user}");
        assert!(
            !got["entries"].as_array().unwrap().is_empty(),
            "user {user} has friends"
        );
    }
}

#[tokio::test]
async fn per_friend_and_limit_shape_the_answer() {
    let stack = Stack::start(WORLD, &[]).await;
    for (per_friend, limit) in [(1, 50), (3, 5), (10, 1), (10, 500)] {
        let got = stack
            .timeline_of(7, &format!("per_friend={per_friend}&limit={limit}"))
            .await;
        let entries = got["entries"].as_array().unwrap();
        assert!(entries.len() <= limit);
        assert!(
            entries
                .iter()
                .all(|e| e["messages"].as_array().unwrap().len() <= per_friend)
        );
        assert_eq!(
            without_generated_at(got),
            stack.expected(7, per_friend, limit).await,
            "per_friend={per_friend} limit={limit}"
        );
    }
}

#[tokio::test]
async fn more_than_500_friends_are_read_in_chunks() {
    let stack = Stack::start(
        "users=1500,friends=2,messages=2,seed=9,celebrities=1,celebrity_friends=1200",
        &["--profiles=all"],
    )
    .await;
    let got = stack.timeline_of(1, "limit=500&per_friend=2").await;
    assert_eq!(without_generated_at(got), stack.expected(1, 2, 500).await);
    // 1200+ friends and the owner: three chunks of at most 500 ids each, per service.
    let calls = |service: &'static str| {
        let stack = &stack;
        async move {
            stack
                .metric_where(
                    "timeline_downstream_requests_total",
                    &format!("service=\"{service}\",outcome=\"ok\""),
                )
                .await
        }
    };
    assert_eq!(
        calls("friends").await,
        1.0,
        "one page of up to 5000 friends"
    );
    assert_eq!(calls("users").await, 3.0);
    assert_eq!(calls("messages").await, 3.0);
}

#[tokio::test]
async fn the_shown_strategy_gives_the_same_entries() {
    let all = Stack::start(WORLD, &["--profiles=all"]).await;
    let shown = Stack::start(WORLD, &["--profiles=shown"]).await;
    for user in [3, 50, 333] {
        let a = without_generated_at(all.timeline_of(user, "limit=5").await);
        let b = without_generated_at(shown.timeline_of(user, "limit=5").await);
        assert_eq!(a["entries"], b["entries"], "user {user}");
    }
    // Shown reads only the profiles of the friends it shows (and the owner's).
    let before = shown.metric("timeline_profile_loads_total").await;
    shown.timeline_of(100, "limit=3").await;
    let loaded = shown.metric("timeline_profile_loads_total").await - before;
    assert!(loaded <= 4.0, "{loaded} profiles loaded for 3 entries");
    // The owner is still looked up when there is no friend to show.
    kit::test_util::assert_problem(shown.get("/timeline/99999").await, 404, "not-found").await;
}

#[tokio::test]
async fn auto_reads_every_profile_for_small_lists_and_only_the_shown_for_large_ones() {
    let stack = Stack::start(WORLD, &[]).await;
    let loads = || stack.metric("timeline_profile_loads_total");
    let users_calls = || {
        stack.metric_where(
            "timeline_downstream_requests_total",
            "service=\"users\",outcome=\"ok\"",
        )
    };
    // Every friend fits in `limit` (each is an entry): their profiles and the owner's, in
    // one bulk read.
    let (loads_before, calls_before) = (loads().await, users_calls().await);
    let all = stack.timeline_of(20, "limit=500").await;
    let friends = all["entries"].as_array().unwrap().len() as f64;
    assert_eq!(loads().await - loads_before, friends + 1.0);
    assert_eq!(users_calls().await - calls_before, 1.0);
    // Most cannot be shown: only the shown friends' profiles and the owner's are read, the
    // owner's in the same request as the first friends'.
    let (loads_before, calls_before) = (loads().await, users_calls().await);
    let shown = stack.timeline_of(21, "limit=2").await;
    assert!(loads().await - loads_before <= 3.0);
    assert_eq!(users_calls().await - calls_before, 1.0);
    let friends_of_21 = stack.timeline_of(21, "limit=500").await["entries"]
        .as_array()
        .unwrap()
        .len();
    assert!(friends_of_21 > 3, "user 21 has {friends_of_21} friends");
    // Either way, the answer is the one the services' data gives.
    assert_eq!(without_generated_at(all), stack.expected(20, 1, 500).await);
    assert_eq!(without_generated_at(shown), stack.expected(21, 1, 2).await);
}

#[tokio::test]
async fn unknown_users_and_bad_parameters_are_problems() {
    let stack = Stack::start(WORLD, &[]).await;
    let problem =
        kit::test_util::assert_problem(stack.get("/timeline/99999").await, 404, "not-found").await;
    assert!(problem["detail"].as_str().unwrap().contains("99999"));
    let per_friend = "`per_friend` must be an integer from 1 to 10 (default 1); got";
    let limit = "`limit` must be an integer from 1 to 500 (default 50); got";
    for (query, expected) in [
        ("per_friend=0", format!("{per_friend} `0`")),
        ("per_friend=11", format!("{per_friend} `11`")),
        ("per_friend=-1", format!("{per_friend} `-1`")),
        ("per_friend=", format!("{per_friend} ``")),
        ("limit=0", format!("{limit} `0`")),
        ("limit=501", format!("{limit} `501`")),
        ("limit=abc", format!("{limit} `abc`")),
        ("limit=1.5", format!("{limit} `1.5`")),
        ("limit=99999999999", format!("{limit} `99999999999`")),
        // The first bad parameter is the one named.
        ("limit=abc&per_friend=0", format!("{per_friend} `0`")),
    ] {
        let problem = kit::test_util::assert_problem(
            stack.get(&format!("/timeline/1?{query}")).await,
            400,
            "bad-request",
        )
        .await;
        assert_eq!(problem["detail"], expected, "{query}: {problem}");
        assert_eq!(problem["instance"], "/timeline/1", "{problem}");
    }
    kit::test_util::assert_problem(stack.get("/timeline/abc").await, 400, "bad-request").await;
    kit::test_util::assert_problem(stack.get("/timeline/0").await, 400, "bad-request").await;
}

#[tokio::test]
async fn server_timing_names_each_stage_and_the_cache() {
    let stack = Stack::start(WORLD, &[]).await;
    let response = stack.get("/timeline/9").await;
    let timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_owned();
    for stage in [
        "friends;dur=",
        "messages;dur=",
        "users;dur=",
        "compose;dur=",
        "cache;desc=\"hit=",
    ] {
        assert!(timing.contains(stage), "{timing}");
    }
    // The second time, the profiles come from the cache.
    let response = stack.get("/timeline/9").await;
    let timing = response.headers()["server-timing"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(timing.contains("miss=0"), "{timing}");
}

#[tokio::test]
async fn request_id_and_traceparent_reach_every_downstream() {
    let stack = Stack::start(WORLD, &["--cache-ttl=0s"]).await;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = stack
        .client
        .get(stack.timeline.url("/timeline/11"))
        .header("x-request-id", "tl-req-1")
        .header("traceparent", traceparent)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "tl-req-1");
    for tap in [&stack.users_tap, &stack.messages_tap] {
        assert!(
            tap.seen
                .request_ids
                .lock()
                .unwrap()
                .iter()
                .any(|id| id == "tl-req-1")
        );
        assert!(
            tap.seen
                .traceparents
                .lock()
                .unwrap()
                .iter()
                .any(|t| t == traceparent)
        );
    }
}

#[tokio::test]
async fn concurrent_timelines_load_each_profile_once() {
    let stack = Stack::start(WORLD, &["--cache-ttl=60s"]).await;
    // Slow profile answers make the twenty requests overlap the first load.
    stack.slow_users(std::time::Duration::from_millis(100));
    let friends = stack.expected(21, 1, 500).await["entries"]
        .as_array()
        .unwrap()
        .len();
    let requests = (0..20).map(|_| {
        let client = stack.client.clone();
        let url = stack.timeline.url("/timeline/21");
        tokio::spawn(async move { client.get(url).send().await.unwrap().status() })
    });
    for request in requests {
        assert_eq!(request.await.unwrap(), 200);
    }
    let loads = stack.metric("timeline_profile_loads_total").await;
    assert_eq!(
        loads,
        friends as f64 + 1.0,
        "each friend and the owner loaded once"
    );
}
