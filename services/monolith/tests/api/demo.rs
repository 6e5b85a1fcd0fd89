use std::collections::{BTreeMap, BTreeSet};

use kit::demo::World;
use serde_json::{Value, json};

use crate::helpers::spawn_app;

const SPEC: &str = "users=120,friends=6,messages=4,seed=11,celebrities=1,celebrity_friends=70";

kit::on_both_backends!(
    the_store_holds_exactly_the_generated_world,
    demo_fills_only_an_empty_store_and_new_ids_follow_it,
    an_empty_world_fills_nothing_and_ids_start_at_one
);

async fn the_store_holds_exactly_the_generated_world(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let world = World::new(SPEC.parse().unwrap());

    let ids: Vec<String> = (1..=121).map(|i| i.to_string()).collect();
    let body = app.get_json(&format!("/users?ids={}", ids.join(","))).await;
    let want: Vec<Value> = world
        .users()
        .map(|u| {
            json!({"id": u.id, "name": u.name, "avatar_url": u.avatar_url,
                "created_at": u.created_at.to_rfc3339()})
        })
        .collect();
    assert_eq!(body, json!({"users": want, "missing": [121]}));

    let mut friends: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (a, b) in world.friendships() {
        friends.entry(a).or_default().insert(b);
        friends.entry(b).or_default().insert(a);
    }
    assert!(friends[&1].len() >= 70, "the celebrity has their fans");
    for user in 1..=120 {
        let body = app.get_json(&format!("/users/{user}/friends")).await;
        let want: Vec<i64> = friends
            .get(&user)
            .map(|f| f.iter().copied().collect())
            .unwrap_or_default();
        assert_eq!(body["friend_ids"], json!(want), "friends of {user}");
    }

    for message in world.messages().step_by(7) {
        let body = app.get_json(&format!("/messages/{}", message.id)).await;
        assert_eq!(
            body,
            json!({"id": message.id, "author_id": message.author_id, "text": message.text,
                "created_at": message.created_at.to_rfc3339()})
        );
    }
    let last = world.messages().count();
    assert_eq!(last, 480);
    assert_eq!(
        app.get(&format!("/messages/{}", last + 1)).await.status(),
        404
    );
}

async fn demo_fills_only_an_empty_store_and_new_ids_follow_it(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    assert_eq!(
        app.create_user("Newcomer").await["id"],
        121,
        "user ids follow the demo's"
    );
    assert_eq!(
        app.post_message(1, "fresh").await["id"],
        481,
        "message ids follow the demo's"
    );
    let world = World::new(SPEC.parse().unwrap());
    assert_eq!(
        app.store.fill_demo(&world).await.unwrap(),
        None,
        "a store with users is left alone"
    );
    let body = app.get_json("/users?ids=121").await;
    assert_eq!(body["users"][0]["name"], "Newcomer");
}

async fn an_empty_world_fills_nothing_and_ids_start_at_one(database_url: &str) {
    let app = spawn_app(database_url, None).await;
    let world = World::new("users=0".parse().unwrap());
    let counts = app.store.fill_demo(&world).await.unwrap().unwrap();
    assert_eq!(
        (counts.users, counts.friendships, counts.messages),
        (0, 0, 0)
    );
    let user = app.user_id("First").await;
    let message = app.post_message(user, "first").await["id"]
        .as_i64()
        .unwrap();
    assert_eq!((user, message), (1, 1), "an empty world uses up no ids");
}
