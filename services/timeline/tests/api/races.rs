//! Users deleted while timelines are read: never a 5xx, and once the cache TTL has passed
//! the deleted friends are reported missing, never shown.

use std::time::Duration;

use crate::stack::Stack;

#[tokio::test]
async fn deletions_during_load_never_fail_a_timeline() {
    let ttl = Duration::from_millis(200);
    let stack = Stack::start(
        "users=300,friends=20,messages=4,seed=21",
        &["--cache-ttl=200ms"],
    )
    .await;
    let owner = 17;
    let before = stack.timeline_of(owner, "limit=500").await;
    let friends: Vec<i64> = before["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect();
    let doomed: Vec<i64> = friends.iter().copied().step_by(3).collect();

    let readers: Vec<_> = (0..8)
        .map(|i| {
            let client = stack.client.clone();
            let base = stack.timeline.url("");
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for round in 0..15 {
                    let user = if (i + round) % 2 == 0 {
                        owner
                    } else {
                        1 + (i * 7 + round) % 300
                    };
                    let response = client
                        .get(format!("{base}/timeline/{user}?limit=500"))
                        .send()
                        .await
                        .unwrap();
                    statuses.push(response.status().as_u16());
                }
                statuses
            })
        })
        .collect();
    for id in &doomed {
        let response = stack
            .client
            .delete(stack.users.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    for reader in readers {
        for status in reader.await.unwrap() {
            assert!(
                status < 500,
                "a timeline failed with {status} during deletions"
            );
        }
    }

    stack.pass_time(ttl * 2).await;
    let after = stack.timeline_of(owner, "limit=500").await;
    let shown: Vec<i64> = after["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["friend"]["id"].as_i64().unwrap())
        .collect();
    let missing: Vec<i64> = after["missing_friends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let mut doomed_sorted = doomed.clone();
    doomed_sorted.sort_unstable();
    assert_eq!(
        missing, doomed_sorted,
        "every deleted friend reported missing"
    );
    assert!(
        doomed.iter().all(|id| !shown.contains(id)),
        "deleted friends never shown"
    );
    assert_eq!(shown.len() + missing.len(), friends.len());
    assert!(after["degraded"].as_array().unwrap().is_empty());
}
