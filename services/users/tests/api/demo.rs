use crate::helpers::spawn_app;

const SPEC: &str = "users=300,friends=4,messages=0,seed=11";

async fn users_json(app: &crate::helpers::TestApp, ids: &str) -> serde_json::Value {
    app.get(&format!("/users?ids={ids}"))
        .await
        .json()
        .await
        .unwrap()
}

kit::on_both_backends!(
    same_spec_gives_the_same_users,
    demo_fills_only_an_empty_store_and_new_ids_follow_it
);

async fn same_spec_gives_the_same_users(database_url: &str) {
    // One store on the backend under test, one in memory: same data either way.
    let a = spawn_app(database_url, Some(SPEC)).await;
    let b = spawn_app("sqlite::memory:", Some(SPEC)).await;
    let c = spawn_app(
        "sqlite::memory:",
        Some("users=300,friends=4,messages=0,seed=12"),
    )
    .await;
    let ids: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    let ids = ids.join(",");
    let (a, b, c) = (
        users_json(&a, &ids).await,
        users_json(&b, &ids).await,
        users_json(&c, &ids).await,
    );
    assert_eq!(a["users"].as_array().unwrap().len(), 300);
    assert_eq!(a, b);
    assert_ne!(a, c, "another seed, other names");
}

async fn demo_fills_only_an_empty_store_and_new_ids_follow_it(database_url: &str) {
    let app = spawn_app(database_url, Some(SPEC)).await;
    let created = app.create_user("Newcomer").await;
    assert_eq!(created["id"], 301, "ids continue after the demo world");

    // A second start on the same store with --demo leaves it alone.
    let store = users::Store::open(database_url).await.unwrap();
    let world = kit::demo::World::new(SPEC.parse().unwrap());
    if !database_url.contains(":memory:") {
        assert_eq!(store.fill_demo(&world).await.unwrap(), None);
        let body = users_json(&app, "301").await;
        assert_eq!(body["users"][0]["name"], "Newcomer");
    }
}
