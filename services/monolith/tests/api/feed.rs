//! The monolith's change feed: every write's events on `/changes`, in the write's own
//! transaction, and the position each write answers with.

use std::collections::BTreeSet;

use kit::demo::World;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app};

kit::on_both_backends!(
    every_write_records_its_events_and_answers_its_position,
    deleting_a_user_tombstones_every_friendship_and_message_in_one_transaction,
    the_demo_fill_records_every_row_as_replicated_from_demo
);

/// Every event of the feed, replayed from 0.
async fn replay(app: &TestApp) -> Vec<Value> {
    let page = app.get_json("/changes?after=0&limit=5000").await;
    page["changes"].as_array().expect("changes").clone()
}

/// The feed's head.
async fn head(app: &TestApp) -> u64 {
    app.get_json("/changes?after=0&limit=1").await["head"]
        .as_u64()
        .expect("head")
}

/// The `seq` of a write's `X-Change-Position: monolith:SEQ`.
fn position(response: &reqwest::Response) -> u64 {
    let value = response
        .headers()
        .get("x-change-position")
        .expect("x-change-position")
        .to_str()
        .unwrap();
    let seq = value.strip_prefix("monolith:").expect("monolith:SEQ");
    seq.parse().unwrap()
}

/// The event at `seq`.
async fn event_at(app: &TestApp, seq: u64) -> Value {
    let page = app
        .get_json(&format!("/changes?after={}&limit=1", seq - 1))
        .await;
    let event = page["changes"][0].clone();
    assert_eq!(event["seq"], seq, "{page}");
    event
}

fn assert_event(event: &Value, kind: &str, subject: &str, data: Option<&Value>) {
    assert_eq!(event["source"], "monolith", "{event}");
    assert_eq!(event["origin"], "monolith", "{event}");
    assert_eq!(event["type"], kind, "{event}");
    assert_eq!(event["subject"], subject, "{event}");
    match data {
        Some(data) => assert_eq!(&event["data"], data, "{event}"),
        None => assert!(
            event.get("data").is_none(),
            "a tombstone has no data: {event}"
        ),
    }
}

async fn every_write_records_its_events_and_answers_its_position(database_url: &str) {
    let app = spawn_app(database_url, None).await;

    let created = app.post_json("/users", &json!({"name": "Ada"})).await;
    assert_eq!(created.status(), 201);
    let seq = position(&created);
    let ada: Value = created.json().await.unwrap();
    let a = ada["id"].as_i64().unwrap();
    assert_event(
        &event_at(&app, seq).await,
        "user.upserted",
        &a.to_string(),
        Some(&ada),
    );
    assert_eq!(head(&app).await, seq);

    let b = app.user_id("Bo").await;
    let patched = app
        .patch_json(&format!("/users/{a}"), &json!({"name": "Ada O."}))
        .await;
    assert_eq!(patched.status(), 200);
    let seq = position(&patched);
    let ada: Value = patched.json().await.unwrap();
    assert_eq!(ada["name"], "Ada O.");
    assert_event(
        &event_at(&app, seq).await,
        "user.upserted",
        &a.to_string(),
        Some(&ada),
    );

    // The friendship's key and data name the lower id first, whichever side asks.
    let befriended = app.put(&format!("/users/{b}/friends/{a}")).await;
    assert_eq!(befriended.status(), 204);
    let seq = position(&befriended);
    let (low, high) = (a.min(b), a.max(b));
    assert_event(
        &event_at(&app, seq).await,
        "friendship.upserted",
        &format!("{low}-{high}"),
        Some(&json!({"user_id": low, "friend_id": high})),
    );
    // Befriending again changes nothing: no event, and the answer is the pair's event.
    let other = app.post_json("/users", &json!({"name": "Cy"})).await;
    let later = position(&other);
    let again = app.put(&format!("/users/{a}/friends/{b}")).await;
    assert_eq!(again.status(), 204);
    assert_eq!(position(&again), seq);
    assert_eq!(head(&app).await, later);
    let cy: Value = other.json().await.unwrap();

    let posted = app
        .post_json("/messages", &json!({"author_id": b, "text": "hi"}))
        .await;
    assert_eq!(posted.status(), 201);
    let seq = position(&posted);
    let message: Value = posted.json().await.unwrap();
    let m = message["id"].as_i64().unwrap();
    assert_event(
        &event_at(&app, seq).await,
        "message.upserted",
        &m.to_string(),
        Some(&message),
    );

    let deleted = app.delete(&format!("/messages/{m}")).await;
    assert_eq!(deleted.status(), 204);
    let seq = position(&deleted);
    assert_event(
        &event_at(&app, seq).await,
        "message.deleted",
        &m.to_string(),
        None,
    );

    let unfriended = app.delete(&format!("/users/{a}/friends/{b}")).await;
    assert_eq!(unfriended.status(), 204);
    let seq = position(&unfriended);
    assert_event(
        &event_at(&app, seq).await,
        "friendship.deleted",
        &format!("{low}-{high}"),
        None,
    );

    // A refused write records nothing and names no position.
    let refused = app.delete(&format!("/messages/{m}")).await;
    assert_eq!(refused.status(), 404);
    assert!(refused.headers().get("x-change-position").is_none());
    assert_eq!(head(&app).await, seq);
    // An empty PATCH changes nothing and answers the feed's current position.
    let unchanged = app.patch_json(&format!("/users/{a}"), &json!({})).await;
    assert_eq!(unchanged.status(), 200);
    assert_eq!(position(&unchanged), seq);
    assert_eq!(head(&app).await, seq);

    // The feed is compacted: one event per entity, each its latest state.
    let c = cy["id"].as_i64().unwrap();
    let kinds: Vec<(String, String)> = replay(&app)
        .await
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("user.upserted".to_owned(), b.to_string()),
            ("user.upserted".to_owned(), a.to_string()),
            ("user.upserted".to_owned(), c.to_string()),
            ("message.deleted".to_owned(), m.to_string()),
            ("friendship.deleted".to_owned(), format!("{low}-{high}")),
        ]
    );
}

async fn deleting_a_user_tombstones_every_friendship_and_message_in_one_transaction(
    database_url: &str,
) {
    let app = spawn_app(database_url, None).await;
    let a = app.user_id("A").await;
    let b = app.user_id("B").await;
    let c = app.user_id("C").await;
    let d = app.user_id("D").await;
    app.befriend(b, a).await;
    app.befriend(a, c).await;
    app.befriend(c, d).await;
    let mut messages = BTreeSet::new();
    for text in ["one", "two", "three"] {
        let message = app.post_message(a, text).await;
        messages.insert(message["id"].as_i64().unwrap().to_string());
    }
    let other = app.post_message(c, "stays").await["id"].as_i64().unwrap();
    let before = head(&app).await;

    let deleted = app.delete(&format!("/users/{a}")).await;
    assert_eq!(deleted.status(), 204);
    let seq = position(&deleted);

    let page = app
        .get_json(&format!("/changes?after={before}&limit=100"))
        .await;
    let events = page["changes"].as_array().unwrap();
    // Two friendships, three messages and the user: six events, numbered one after the
    // other up to the answer's position and stamped with one commit time.
    assert_eq!(events.len(), 6, "{page}");
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (before + 1..=seq).collect::<Vec<_>>());
    assert_eq!(page["head"], seq);
    let times: BTreeSet<&str> = events.iter().map(|e| e["time"].as_str().unwrap()).collect();
    assert_eq!(times.len(), 1, "one transaction: {page}");
    let of = |kind: &str| -> BTreeSet<String> {
        events
            .iter()
            .filter(|e| e["type"] == kind)
            .inspect(|e| assert!(e.get("data").is_none(), "{e}"))
            .map(|e| e["subject"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        of("friendship.deleted"),
        BTreeSet::from([
            format!("{}-{}", a.min(b), a.max(b)),
            format!("{}-{}", a.min(c), a.max(c)),
        ])
    );
    assert_eq!(of("message.deleted"), messages);
    assert_eq!(of("user.deleted"), BTreeSet::from([a.to_string()]));

    // What was not the user's stays alive in the feed as in the tables.
    let live: Vec<Value> = replay(&app).await;
    let alive = |kind: &str, subject: String| {
        live.iter()
            .any(|e| e["type"] == kind && e["subject"] == subject.as_str())
    };
    assert!(alive("friendship.upserted", format!("{c}-{d}")));
    assert!(alive("message.upserted", other.to_string()));

    // Deleting them again writes nothing.
    assert_eq!(app.delete(&format!("/users/{a}")).await.status(), 404);
    assert_eq!(head(&app).await, seq);
}

async fn the_demo_fill_records_every_row_as_replicated_from_demo(database_url: &str) {
    let spec = "users=30,friends=3,messages=2,seed=5,celebrities=1,celebrity_friends=10";
    let app = spawn_app(database_url, Some(spec)).await;
    let world = World::new(spec.parse().unwrap());
    let events = replay(&app).await;

    let users: Vec<Value> = world
        .users()
        .map(|u| {
            json!({"type": "user.upserted", "subject": u.id.to_string(),
                "version": u.created_at.as_micros(),
                "data": {"id": u.id, "name": u.name, "avatar_url": u.avatar_url,
                    "created_at": u.created_at.to_rfc3339()}})
        })
        .collect();
    let friendships: Vec<Value> = world
        .friendships()
        .into_iter()
        .map(|(a, b)| {
            json!({"type": "friendship.upserted", "subject": format!("{a}-{b}"),
                "version": 1_767_225_600_000_000_i64,
                "data": {"user_id": a, "friend_id": b}})
        })
        .collect();
    let messages: Vec<Value> = world
        .messages()
        .map(|m| {
            json!({"type": "message.upserted", "subject": m.id.to_string(),
                "version": m.created_at.as_micros(),
                "data": {"id": m.id, "author_id": m.author_id, "text": m.text,
                    "created_at": m.created_at.to_rfc3339()}})
        })
        .collect();
    let want: Vec<Value> = users
        .into_iter()
        .chain(friendships)
        .chain(messages)
        .collect();
    assert!(want.len() > 60, "the world has rows of each kind");
    let got: Vec<Value> = events
        .iter()
        .map(|e| {
            assert_eq!(e["source"], "monolith", "{e}");
            assert_eq!(e["origin"], "demo", "{e}");
            json!({"type": e["type"], "subject": e["subject"], "version": e["version"],
                "data": e["data"]})
        })
        .collect();
    assert_eq!(got, want);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=want.len() as u64).collect::<Vec<_>>());

    // A write after the fill follows it in the feed, as the monolith's own.
    let created = app.post_json("/users", &json!({"name": "New"})).await;
    assert_eq!(position(&created), want.len() as u64 + 1);
}
