//! The live view against the real services and their feeds: its answers are the composed
//! ones, byte for byte; it waits for the writes a request names; it composes while it
//! builds, lags or cannot answer exactly, and says so; it repairs trimmed authors.

use std::time::Duration;

use serde_json::Value;

use crate::stack::{Stack, eventually, without_generated_at};

/// User 1 has about 110 friends, the others about 10; five messages each on average.
const WORLD: &str = "users=300,friends=10,messages=5,seed=11,celebrities=1,celebrity_friends=100";

/// 2026-06-01T00:00:00Z: newer than every demo message.
const LATER: i64 = 1_780_272_000_000_000;

fn ids(values: &Value) -> Vec<i64> {
    values
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect()
}

fn shown(timeline: &Value) -> Vec<i64> {
    timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect()
}

/// `user`'s friends as the friends service lists them.
async fn friends_of(stack: &Stack, user: i64) -> Vec<i64> {
    let friends = stack.friends.as_ref().unwrap();
    let url = friends.url(&format!("/users/{user}/friends?limit=5000"));
    let page: Value = stack
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ids(&page["friend_ids"])
}

async fn assert_same(stack: &Stack, user: i64, queries: &[&str]) {
    for query in queries {
        let (view, composed) = stack.view_and_composed(user, query).await;
        assert_eq!(view, composed, "timeline of {user}?{query}");
    }
}

const QUERIES: [&str; 6] = [
    "",
    "per_friend=10",
    "limit=1",
    "limit=3&per_friend=2",
    "limit=50&per_friend=10",
    "limit=500&per_friend=10",
];

#[tokio::test]
async fn view_answers_equal_composed_ones_for_every_friend_count() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    stack.until_view(2).await;
    // A user without friends, and one with a single friend.
    let (alone, _) = stack.create_user("Alone Again").await;
    let (single, created) = stack.create_user("Only One").await;
    let befriended = stack.befriend(single, 2).await;
    let (source, _) = stack.answer(single, "", &[&created, &befriended]).await;
    assert_eq!(source, "view");
    let counts = [(alone, 0..=0), (single, 1..=1), (7, 1..=40), (1, 90..=200)];
    for (user, expected) in counts {
        let friends = friends_of(&stack, user).await.len();
        assert!(
            expected.contains(&friends),
            "user {user}: {friends} friends"
        );
        assert_same(&stack, user, &QUERIES).await;
    }
    for user in (3..=300).step_by(41) {
        assert_same(&stack, user, &["", "per_friend=10&limit=5"]).await;
    }
    // A friendship ended: both sides lose it.
    let gone = friends_of(&stack, 7).await[0];
    let unfriended = stack.unfriend(7, gone).await;
    let (_, seven) = stack.answer(7, "limit=500", &[&unfriended]).await;
    assert!(!shown(&seven).contains(&gone));
    assert_same(&stack, 7, &QUERIES).await;
    assert_same(&stack, gone, &QUERIES).await;
    // And what the services hold, by the rules written out plainly.
    let (_, view) = stack.answer(1, "per_friend=3&limit=500", &[]).await;
    assert_eq!(view, stack.expected(1, 3, 500).await);
}

#[tokio::test]
async fn a_limit_that_cuts_inside_a_tie_gives_the_composed_order() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    let owner = 5;
    // The view built first: what is asked below is its answer to a write, not its build.
    stack.until_view(owner).await;
    let friends = friends_of(&stack, owner).await;
    assert!(friends.len() >= 6, "{friends:?}");
    // Five friends' newest messages written at one instant: the higher id first.
    let mut last = String::new();
    for friend in &friends[..5] {
        (_, last) = stack.write_message(*friend, "same instant", LATER).await;
    }
    let (source, timeline) = stack.answer(owner, "limit=5", &[&last]).await;
    assert_eq!(source, "view");
    let firsts: Vec<(String, i64)> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let m = &e["messages"][0];
            (
                m["created_at"].as_str().unwrap().to_owned(),
                m["id"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(
        firsts.iter().all(|(at, _)| at == "2026-06-01T00:00:00Z"),
        "{firsts:?}"
    );
    assert!(
        firsts.windows(2).all(|w| w[0].1 > w[1].1),
        "ties by higher id: {firsts:?}"
    );
    assert_same(
        &stack,
        owner,
        &[
            "limit=1",
            "limit=2",
            "limit=3&per_friend=10",
            "limit=4",
            "limit=6",
        ],
    )
    .await;
}

#[tokio::test]
async fn deleted_friends_are_missing_as_each_strategy_reports_them() {
    for strategy in ["all", "shown", "auto"] {
        let profiles = format!("--profiles={strategy}");
        let stack = Stack::live(WORLD, &["--cache-ttl=0s", &profiles]).await;
        stack.until_view(1).await;
        let (_, before) = stack.answer(1, "limit=500", &[]).await;
        let ranked = shown(&before);
        assert!(ranked.len() > 60, "{strategy}: {}", ranked.len());
        // Deleted friends ranked first, early, around the default limit, and last.
        let doomed = [0, 1, 3, 49, 50, ranked.len() - 1].map(|at| ranked[at]);
        let mut last = String::new();
        for friend in doomed {
            last = stack.delete_user(friend).await;
        }
        let (source, _) = stack.answer(1, "", &[&last]).await;
        assert_eq!(source, "view", "{strategy}");
        assert_same(
            &stack,
            1,
            &["limit=3", "", "limit=47", "limit=500&per_friend=2"],
        )
        .await;
        let (_, few) = stack.answer(1, "limit=3", &[]).await;
        // With limit 3 the first three shown are ranked 2, 4 and 5: `shown` (and `auto`,
        // which is `shown` for so many friends) met the three deleted ones ranked above.
        let mut met = vec![ranked[0], ranked[1], ranked[3]];
        let mut all = doomed.to_vec();
        met.sort_unstable();
        all.sort_unstable();
        let expected = if strategy == "all" { all } else { met };
        assert_eq!(ids(&few["missing_friends"]), expected, "{strategy}");
        // A deleted owner has no timeline.
        let (owner_gone, position) = (2, stack.delete_user(2).await);
        let response = stack
            .get_at(&format!("/timeline/{owner_gone}"), &[&position])
            .await;
        kit::test_util::assert_problem(response, 404, "not-found").await;
    }
}

#[tokio::test]
async fn a_writes_position_makes_the_next_read_wait_for_it() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s", "--max-wait-for-writes=10s"]).await;
    let owner = 9;
    stack.until_view(owner).await;
    let friend = friends_of(&stack, owner).await[0];
    // The feed answers late: a read that does not wait would not see the write.
    stack
        .feeds()
        .messages_gate
        .delay(Duration::from_millis(200));
    let (id, position) = stack.write_message(friend, "read me", LATER).await;
    let (source, timeline) = stack.answer(owner, "", &[&position]).await;
    assert_eq!(source, "view");
    assert_eq!(timeline["entries"][0]["friend"]["id"], friend);
    assert_eq!(timeline["entries"][0]["messages"][0]["id"], id);
    // Several positions, in one header and in several.
    let renamed = stack.rename_user(friend, "Renamed Friend").await;
    let list = format!("{renamed}, {position}");
    let (source, timeline) = stack.answer(owner, "", &[&list, "friends:1"]).await;
    assert_eq!(source, "view");
    assert_eq!(timeline["entries"][0]["friend"]["name"], "Renamed Friend");
}

#[tokio::test]
async fn a_kept_answer_is_served_again_until_a_friend_writes() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    let owner = 9;
    stack.until_view(owner).await;
    let kept = |outcome: &'static str| {
        let labels = format!("outcome=\"{outcome}\"");
        let stack = &stack;
        async move {
            stack
                .metric_where("timeline_view_kept_answers_total", &labels)
                .await
        }
    };
    let (hits, misses) = (kept("hit").await, kept("miss").await);
    let (_, first) = stack.answer(owner, "per_friend=2", &[]).await;
    let (source, again) = stack.answer(owner, "per_friend=2", &[]).await;
    assert_eq!((source.as_str(), &again), ("view", &first));
    assert_eq!(
        kept("hit").await - hits,
        1.0,
        "the second read was the kept answer"
    );
    assert_eq!(kept("miss").await - misses, 1.0);
    // A friend's new message moves the owner's version: the next read renders it anew, and
    // that answer is kept in turn.
    let friend = friends_of(&stack, owner).await[0];
    let (id, position) = stack.write_message(friend, "fresh", LATER).await;
    let (source, after) = stack.answer(owner, "per_friend=2", &[&position]).await;
    assert_eq!(source, "view");
    assert_eq!(after["entries"][0]["messages"][0]["id"], id);
    assert_eq!(kept("miss").await - misses, 2.0);
    let (_, again) = stack.answer(owner, "per_friend=2", &[]).await;
    assert_eq!(again, after);
    assert_eq!(kept("hit").await - hits, 2.0);
}

#[tokio::test]
async fn a_position_the_view_cannot_reach_or_does_not_follow_is_composed() {
    let stack = Stack::live(WORLD, &["--max-wait-for-writes=50ms"]).await;
    stack.until_view(4).await;
    for positions in [
        &["messages:999999"][..],
        &["monolith:12"],
        &["users:1", "friends:99999999"],
    ] {
        let (source, timeline) = stack.answer(4, "", positions).await;
        assert_eq!(source, "composed", "{positions:?}");
        assert_eq!(timeline["degraded"], serde_json::json!([]), "{positions:?}");
    }
    let (source, _) = stack.answer(4, "", &["users:1, messages:1"]).await;
    assert_eq!(source, "view", "positions already applied");
    for bad in ["messages", "messages:-1", "users:1, nope", ":3"] {
        let response = stack.get_at("/timeline/4", &[bad]).await;
        let problem = kit::test_util::assert_problem(response, 400, "bad-request").await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("change position"),
            "{bad}: {problem}"
        );
    }
    let reasons = |reason: &'static str| {
        let stack = &stack;
        async move {
            stack
                .metric_where("timeline_answers_total", &format!("reason=\"{reason}\""))
                .await
        }
    };
    assert_eq!(reasons("not_reached").await, 2.0);
    assert_eq!(reasons("unfollowed").await, 1.0);
}

#[tokio::test]
async fn feeds_unreachable_at_start_compose_until_the_view_takes_over() {
    let stack = Stack::live_unreachable(WORLD, &["--cache-ttl=0s"]).await;
    for user in [1, 6, 250] {
        let (source, timeline) = stack.answer(user, "", &[]).await;
        assert_eq!(source, "composed", "never a 503 while building");
        assert_eq!(
            timeline["degraded"],
            serde_json::json!([]),
            "building is not degraded"
        );
        assert_eq!(timeline, stack.expected(user, 1, 50).await);
    }
    assert_eq!(
        stack
            .metric_where("timeline_answers_total", "reason=\"building\"")
            .await,
        3.0
    );
    for gate in stack.feeds().gates() {
        gate.open();
    }
    stack.until_view(6).await;
    assert_same(&stack, 6, &["", "per_friend=10"]).await;
}

#[tokio::test]
async fn a_feed_that_cannot_be_reached_makes_answers_composed_and_degraded() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    let owner = 8;
    stack.until_view(owner).await;
    stack.feeds().messages_gate.refuse();
    // A write ends the follower's long poll; its next read is refused.
    let (lonely, _) = stack.create_user("Nobody's Friend").await;
    stack
        .write_message(lonely, "wakes the follower", LATER)
        .await;
    let stack = &stack;
    let last: Value = eventually("answers composed and degraded", move || async move {
        let response = stack.get(&format!("/timeline/{owner}")).await;
        let source = response.headers()["x-timeline-source"].clone();
        let timing = response.headers()["server-timing"]
            .to_str()
            .unwrap()
            .to_owned();
        let body = without_generated_at(response.json().await.unwrap());
        let lagging = timing.contains("view;desc=\"lagging=messages\"");
        (source == "composed" && lagging).then_some(body)
    })
    .await;
    assert_eq!(last["degraded"], serde_json::json!(["view"]));
    let mut expected = stack.expected(owner, 1, 50).await;
    expected["degraded"] = serde_json::json!(["view"]);
    assert_eq!(last, expected, "the composed answer, saying so");
    stack.feeds().messages_gate.open();
    stack.until_view(owner).await;
    let (_, timeline) = stack.answer(owner, "", &[]).await;
    assert_eq!(timeline["degraded"], serde_json::json!([]));
}

#[tokio::test]
async fn a_follower_lagging_beyond_the_limit_makes_answers_composed() {
    let stack = Stack::live(WORLD, &["--max-view-lag=100ms"]).await;
    let owner = 3;
    stack.until_view(owner).await;
    let (lonely, position) = stack.create_user("Prolific Stranger").await;
    stack.answer(owner, "", &[&position]).await;
    // More than one read's worth of events at once, and the reads after the first held:
    // the follower knows the feed's head and stays behind it.
    stack.feeds().messages_gate.hold();
    let events: Vec<kit::feed::Change> = (0..1500)
        .map(|i| {
            let id = 10_000_000 + i;
            let data = serde_json::json!({"id": id, "author_id": lonely, "text": "x",
                "created_at": "2026-06-01T00:00:00Z"});
            kit::feed::Change::upserted("message", id, &data)
        })
        .collect();
    let feed = &stack.feeds().messages;
    feed.commit(feed.begin().await.unwrap(), &events)
        .await
        .unwrap();
    let stack = &stack;
    eventually(
        "answers composed while the follower lags",
        move || async move {
            let (source, timeline) = stack.answer(owner, "", &[]).await;
            (source == "composed" && timeline["degraded"] == serde_json::json!(["view"]))
                .then_some(())
        },
    )
    .await;
    let lag = stack
        .metric_where("timeline_feed_consumer_lag_events", "source=\"messages\"")
        .await;
    assert!(lag > 0.0, "{lag}");
    stack.feeds().messages_gate.open();
    stack.until_view(owner).await;
}

#[tokio::test]
async fn a_feed_that_no_longer_holds_the_followers_position_rebuilds_that_part() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    let owner = 16;
    stack.until_view(owner).await;
    let friend = friends_of(&stack, owner).await[0];
    let applied = || {
        stack.metric_where(
            "timeline_view_events_total",
            "source=\"messages\",outcome=\"applied\"",
        )
    };
    let before = applied().await;
    // The follower is kept away while a deletion's tombstone comes and expires.
    stack.feeds().messages_gate.refuse();
    let (lonely, _) = stack.create_user("Wakes The Follower").await;
    stack.write_message(lonely, "wake up", LATER).await;
    let (doomed, _) = stack.write_message(friend, "soon gone", LATER + 1).await;
    stack.delete_message(doomed).await;
    let (kept, position) = stack.write_message(friend, "stays", LATER + 2).await;
    let feed = &stack.feeds().messages;
    eventually("the tombstone expires", move || async move {
        (feed.expire_tombstones().await.unwrap() > 0).then_some(())
    })
    .await;
    stack.feeds().messages_gate.open();
    let (stack, position) = (&stack, &position);
    let timeline = eventually("the view rebuilt", move || async move {
        let (source, timeline) = stack.answer(owner, "per_friend=10", &[position]).await;
        (source == "view").then_some(timeline)
    })
    .await;
    let messages = timeline["entries"][0]["messages"].to_string();
    assert!(messages.contains(&format!("\"id\":{kept}")), "{messages}");
    assert!(
        !messages.contains(&format!("\"id\":{doomed}")),
        "{messages}"
    );
    assert_same(stack, owner, &["per_friend=10", "limit=500"]).await;
    let replayed = applied().await - before;
    let live = feed.size().await.unwrap() as f64;
    assert!(
        replayed >= live,
        "the whole feed again: {replayed} of {live}"
    );
}

#[tokio::test]
async fn a_trimmed_author_is_composed_until_repaired_then_read_from_the_view() {
    let stack = Stack::live(WORLD, &["--cache-ttl=0s"]).await;
    let owner = 10;
    let author = friends_of(&stack, owner).await[0];
    // 25 newer messages: the view keeps the newest 20 of the author.
    let mut written = Vec::new();
    let mut last = String::new();
    for i in 0..25 {
        let (id, position) = stack.write_message(author, "many", LATER + i).await;
        written.push(id);
        last = position;
    }
    let (source, _) = stack.answer(owner, "per_friend=10", &[&last]).await;
    assert_eq!(source, "view");
    // The eleven newest deleted, with the repair held: nine kept of a trimmed author.
    stack.feeds().pages_gate.hold();
    for id in written.iter().rev().take(11) {
        last = stack.delete_message(*id).await;
    }
    let (source, composed) = stack.answer(owner, "per_friend=10", &[&last]).await;
    assert_eq!(source, "composed", "too few kept to show ten");
    assert_eq!(composed, stack.expected(owner, 10, 50).await);
    let (source, _) = stack.answer(owner, "per_friend=9", &[]).await;
    assert_eq!(source, "view", "nine are enough for nine");
    assert_eq!(
        stack
            .metric_where("timeline_answers_total", "reason=\"short\"")
            .await,
        1.0
    );
    stack.feeds().pages_gate.open();
    let stack = &stack;
    eventually(
        "the repaired author is read from the view",
        move || async move {
            (stack.answer(owner, "per_friend=10", &[]).await.0 == "view").then_some(())
        },
    )
    .await;
    assert_same(stack, owner, &["per_friend=10", "per_friend=10&limit=500"]).await;
    let merged = stack
        .metric_where("timeline_view_repairs_total", "outcome=\"merged\"")
        .await;
    assert!(merged >= 1.0, "{merged}");
}

#[tokio::test]
async fn profile_changes_reach_the_view_and_the_profile_cache_at_once() {
    let stack = Stack::live(WORLD, &["--cache-ttl=60s"]).await;
    let owner = 12;
    stack.until_view(owner).await;
    let friend = friends_of(&stack, owner).await[0];
    // Every profile of the timeline cached, fresh for a minute.
    stack.answer(owner, "limit=500", &["monolith:1"]).await;
    let renamed = stack.rename_user(friend, "New Name").await;
    let (source, view) = stack.answer(owner, "limit=500", &[&renamed]).await;
    assert_eq!(source, "view");
    let (_, composed) = stack.answer(owner, "limit=500", &["monolith:1"]).await;
    assert_eq!(view, composed, "the cache learned the new name");
    assert!(view.to_string().contains("New Name"));
    let deleted = stack.delete_user(friend).await;
    let (_, view) = stack.answer(owner, "limit=500", &[&deleted]).await;
    let (_, composed) = stack.answer(owner, "limit=500", &["monolith:1"]).await;
    assert_eq!(ids(&view["missing_friends"]), [friend]);
    assert_eq!(view, composed, "the cache learned of the deletion");
}

#[tokio::test]
async fn answers_say_where_they_came_from() {
    let stack = Stack::live(WORLD, &[]).await;
    stack.until_view(14).await;
    let from_view = || stack.metric_where("timeline_answers_total", "source=\"view\"");
    let before = from_view().await;
    let response = stack.get("/timeline/14").await;
    assert_eq!(response.headers()["x-timeline-source"], "view");
    let timing = response.headers()["server-timing"].to_str().unwrap();
    assert!(timing.starts_with("view;dur="), "{timing}");
    assert!(!timing.contains("friends;dur"), "{timing}");
    let response = stack.get_at("/timeline/14", &["monolith:1"]).await;
    assert_eq!(response.headers()["x-timeline-source"], "composed");
    let timing = response.headers()["server-timing"].to_str().unwrap();
    for stage in ["friends;dur=", "messages;dur=", "users;dur=", "view;desc="] {
        assert!(timing.contains(stage), "{timing}");
    }
    kit::test_util::assert_problem(stack.get("/timeline/99999").await, 404, "not-found").await;
    assert_eq!(
        from_view().await - before,
        2.0,
        "the 404 came from the view too"
    );
    let text = stack.get("/metrics").await.text().await.unwrap();
    for line in [
        r#"timeline_view_state{state="current"} 1"#,
        r#"timeline_answers_total{source="composed",reason="unfollowed"} 1"#,
        r#"timeline_feed_consumer_connected{consumer="timeline-view-0",source="messages",transport="http"} 1.0"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }
    assert!(
        stack
            .metric_where("timeline_view_size", "of=\"users\"")
            .await
            >= 300.0
    );
}

#[tokio::test]
async fn with_the_view_off_every_answer_is_composed() {
    let stack = Stack::live(WORLD, &["--view=off"]).await;
    for user in [1, 2, 3] {
        let (source, timeline) = stack.answer(user, "", &["users:1"]).await;
        assert_eq!(source, "composed");
        assert_eq!(timeline, stack.expected(user, 1, 50).await);
    }
    let text = stack.get("/metrics").await.text().await.unwrap();
    assert!(
        !text.contains("feed_consumer_position{"),
        "no followers: {text}"
    );
    assert_eq!(
        stack
            .metric_where("timeline_answers_total", "reason=\"off\"")
            .await,
        3.0
    );
}
