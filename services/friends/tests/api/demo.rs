use crate::helpers::{TestApp, spawn_app, world_friends};

const SPEC: &str = "users=300,friends=6,messages=0,seed=11";
const OTHER_SEED: &str = "users=300,friends=6,messages=0,seed=12";
const CELEBRITY: &str =
    "users=3000,friends=2,messages=0,seed=5,celebrities=1,celebrity_friends=2600";

/// Users whose lists the determinism tests compare: the first, the last, and a spread.
fn sample() -> Vec<i64> {
    let mut users: Vec<i64> = (1..=300).step_by(23).collect();
    users.push(300);
    users
}

async fn lists(app: &TestApp) -> Vec<Vec<i64>> {
    let mut lists = Vec::new();
    for user in sample() {
        lists.push(app.friend_ids(user).await);
    }
    lists
}

kit::on_both_backends!(
    same_spec_gives_the_same_friend_lists,
    demo_fills_only_an_empty_store,
    a_celebrity_list_pages_across_several_pages,
);

async fn same_spec_gives_the_same_friend_lists(database_url: &str) {
    // One store on the backend under test, one in memory: same data either way.
    let a = spawn_app(database_url, Some(SPEC)).await;
    let b = spawn_app("sqlite::memory:", Some(SPEC)).await;
    let c = spawn_app("sqlite::memory:", Some(OTHER_SEED)).await;
    let (a, b, c) = (lists(&a).await, lists(&b).await, lists(&c).await);
    assert_eq!(a, b);
    assert_ne!(a, c, "another seed, other friendships");
    // Exactly the generator's world, both directions stored.
    for (user, list) in sample().into_iter().zip(&a) {
        assert_eq!(*list, world_friends(SPEC, user), "user {user}");
        assert!(!list.is_empty(), "everyone has friends at friends=6");
    }
}

async fn demo_fills_only_an_empty_store(database_url: &str) {
    // A file rather than memory on SQLite: the second open must see the first one's data.
    let dir = std::env::temp_dir().join(format!("friends-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let url = if database_url.starts_with("sqlite:") {
        format!("sqlite://{}/friends.db", dir.display())
    } else {
        database_url.to_owned()
    };
    let world = |spec: &str| kit::demo::World::new(spec.parse().unwrap());

    let store = friends::Store::open(&url).await.unwrap();
    let pairs = world(SPEC).friendships().len() as u64;
    assert_eq!(
        store.fill_demo(&world(SPEC)).await.unwrap(),
        Some(2 * pairs),
        "an empty store takes both directions of every friendship"
    );
    store.db().close().await;

    let app = spawn_app(&url, None).await;
    let newcomer = 301;
    app.befriend(1, newcomer).await;
    // Another start with --demo, even of another world, leaves the store as it is.
    let store = friends::Store::open(&url).await.unwrap();
    assert_eq!(store.fill_demo(&world(OTHER_SEED)).await.unwrap(), None);
    assert_eq!(store.fill_demo(&world(SPEC)).await.unwrap(), None);
    let mut expected = world_friends(SPEC, 1);
    expected.push(newcomer);
    assert_eq!(app.friend_ids(1).await, expected);
    assert_eq!(app.friend_ids(newcomer).await, [1]);
    assert_eq!(app.friend_ids(2).await, world_friends(SPEC, 2));
    let _ = std::fs::remove_dir_all(dir);
}

async fn a_celebrity_list_pages_across_several_pages(database_url: &str) {
    let app = spawn_app(database_url, Some(CELEBRITY)).await;
    let expected = world_friends(CELEBRITY, 1);
    assert!(expected.len() >= 2600, "{} friends", expected.len());

    // Default page size: 1000, 1000, then the rest.
    let pages = app.pages(1, None).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [1000, 1000, expected.len() - 2000]);
    let all: Vec<i64> = pages.concat();
    assert!(
        all.windows(2).all(|w| w[0] < w[1]),
        "ascending, no duplicates"
    );
    assert_eq!(all, expected, "the pages add up to the whole list");

    let pages = app.pages(1, Some(700)).await;
    assert_eq!(pages.len(), expected.len().div_ceil(700));
    assert_eq!(pages.concat(), expected);
    assert_eq!(app.friend_ids(1).await, expected, "5000 fit one page");

    // A fan lists the celebrity.
    assert_eq!(app.friend_ids(expected[1234]).await.first(), Some(&1));
}
