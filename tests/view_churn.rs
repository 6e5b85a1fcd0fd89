//! The timeline's live view under churn: the four sides of the migration replicating to each
//! other as `gateway up` runs them, and a timeline service whose view follows the users,
//! friends and messages services' feeds. Concurrent writers create and delete users,
//! friendships and messages on both sides at random while the view follows; once
//! replication and the view have caught up, the view's timelines of users with 0, 1, ~10,
//! ~100 and ~1,000 friends are the monolith's, byte for byte but for `generated_at`, with
//! the same `ETag`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The migration tests use more of the harness than these do.
#[allow(dead_code)]
#[path = "migration/sides.rs"]
mod sides;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use kit::cli::ServiceConfig as _;
use kit::test_util::eventually;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::sides::{FRIENDS, MESSAGES, MONOLITH, NAMES, Sides, USERS, friend_ids};
use kit::test_util::metric_sum as metric;

/// 1,500 users with about 10 friends and 10 messages each; user 1 has about 1,000 more
/// friends and user 2 about 100. With this seed some of user 1's friends have their newest
/// messages written at the same instant, pairwise, and so do two of user 2's: limits can
/// cut inside a tie.
const WORLD: &str =
    "users=1500,friends=10,messages=10,seed=11,celebrities=2,celebrity_friends=1000/100";

/// The users with about 1,000 and about 100 friends.
const THOUSAND: i64 = 1;
const HUNDRED: i64 = 2;

/// Concurrent writers, and the writes each makes.
const WRITERS: u64 = 4;
const WRITES: usize = 70;

/// How long replication and the view may take to settle once the writers are done.
const SETTLE: Duration = Duration::from_secs(60);

/// A timeline service in this process, its view following the services' feeds.
struct Timeline {
    addr: SocketAddr,
    stop: CancellationToken,
}

/// Where one writer stands: what it made and may still change.
struct Writer<'a> {
    sides: &'a Sides,
    rng: Rng,
    name: String,
    /// Users it created and has not deleted.
    users: Vec<i64>,
    /// Friendships it made, `(its user, chosen user)`.
    friendships: Vec<(i64, i64)>,
    /// Messages it posted and that are not deleted, `(message, author)`.
    messages: Vec<(i64, i64)>,
    /// Friends of the chosen users this writer deletes.
    doomed: Vec<i64>,
    /// Friendships of the chosen users this writer ends, `(friend, chosen user)`.
    ending: Vec<(i64, i64)>,
    /// Friends of the chosen users every writer posts as and renames.
    authors: &'a [i64],
    /// The chosen users it adds friends to.
    owners: &'a [i64],
    writes: usize,
}

/// SplitMix64: the writers' choices, the same on every run.
struct Rng(u64);

// === impl Timeline ===

impl Timeline {
    async fn start(sides: &Sides) -> Self {
        let listener = kit::server::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let args = [
            "timeline".to_owned(),
            format!("--listen={addr}"),
            format!("--users-url={}", sides.url(USERS, "")),
            format!("--friends-url={}", sides.url(FRIENDS, "")),
            format!("--messages-url={}", sides.url(MESSAGES, "")),
        ];
        let config = timeline::Config::try_from_args(args).unwrap();
        let stop = CancellationToken::new();
        let shutdown = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            timeline::serve(config, listener, shutdown)
                .await
                .expect("the timeline failed");
        });
        Self { addr, stop }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Its `/metrics` text.
    async fn metrics(&self, http: &reqwest::Client) -> String {
        let response = http.get(self.url("/metrics")).send().await.unwrap();
        response.text().await.unwrap()
    }
}

impl Drop for Timeline {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Each side's feed head, by source.
async fn heads(sides: &Sides) -> BTreeMap<String, u64> {
    let mut heads = BTreeMap::new();
    for side in 0..NAMES.len() {
        let (_, feeds) = sides.get(side, "/feeds").await;
        let source = feeds["source"].as_str().unwrap().to_owned();
        heads.insert(source, feeds["head"].as_u64().unwrap());
    }
    heads
}

/// Every follower of every side, as `(who, source, position)`.
async fn followers(sides: &Sides) -> Vec<(String, String, u64)> {
    let mut positions = Vec::new();
    for (side, name) in NAMES.iter().enumerate() {
        let (_, feeds) = sides.get(side, "/feeds").await;
        for follower in feeds["followers"].as_array().unwrap() {
            positions.push((
                format!("{name} {}", follower["consumer"]),
                follower["source"].as_str().unwrap().to_owned(),
                follower["position"].as_u64().unwrap(),
            ));
        }
    }
    positions
}

/// Waits until every write has reached both sides and the view: each follower (the
/// monolith's, the services', the view's) at the head of the feed it follows, no head
/// moving meanwhile, the view current and no repair in flight.
async fn until_settled(sides: &Sides, timeline: &Timeline) {
    eventually("replication and the view to settle", SETTLE, || async {
        let before = heads(sides).await;
        let mut positions = followers(sides).await;
        let metrics = timeline.metrics(&sides.http).await;
        for source in ["users", "friends", "messages"] {
            let labels = format!("source=\"{source}\"");
            let position = metric(&metrics, "timeline_feed_consumer_position", &labels);
            positions.push(("the view".to_owned(), source.to_owned(), position as u64));
        }
        let current = metric(&metrics, "timeline_view_state", "state=\"current\"") == 1.0;
        let repairing = metric(&metrics, "timeline_view_size", "of=\"repairs\"") > 0.0;
        let after = heads(sides).await;
        let at_heads = positions
            .iter()
            .all(|(_, source, position)| before.get(source) == Some(position));
        (before == after && at_heads && current && !repairing).then_some(())
    })
    .await;
}

/// The ids of `user`'s friends on the monolith.
async fn friends_of(sides: &Sides, user: i64) -> BTreeSet<i64> {
    let (status, page) = sides
        .get(MONOLITH, &format!("/users/{user}/friends?limit=5000"))
        .await;
    assert_eq!(status, 200, "friends of {user}: {page}");
    assert!(page["next_after"].is_null(), "one page: {page}");
    friend_ids(&page)
}

/// `GET url`: the status, the `ETag`, the `x-timeline-source` and the body without
/// `generated_at`.
async fn timeline_at(
    http: &reqwest::Client,
    url: String,
) -> (u16, Option<String>, Option<String>, Value) {
    let response = http.get(url).send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (etag, source) = (header("etag"), header("x-timeline-source"));
    let status = response.status().as_u16();
    let mut body: Value = response.json().await.unwrap();
    assert!(body["generated_at"].is_string(), "{body}");
    body.as_object_mut().unwrap().remove("generated_at");
    (status, etag, source, body)
}

/// The limits that cut inside a tie in `user`'s timeline on the monolith: `n` where the
/// `n`-th and the next friend's newest messages were written at one instant.
async fn cuts_inside_ties(sides: &Sides, user: i64) -> Vec<usize> {
    let path = format!("/timeline/{user}?per_friend=1&limit=500");
    let (_, _, _, timeline) = timeline_at(&sides.http, sides.url(MONOLITH, &path)).await;
    let newest: Vec<&Value> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map_while(|e| e["messages"].get(0))
        .collect();
    newest
        .windows(2)
        .enumerate()
        .filter(|(_, pair)| pair[0]["created_at"] == pair[1]["created_at"])
        .map(|(at, _)| at + 1)
        .collect()
}

/// The friends whose newest messages tie in `user`'s timeline: the writers leave them be.
async fn tied_friends(sides: &Sides, user: i64) -> BTreeSet<i64> {
    let path = format!("/timeline/{user}?limit=500");
    let (_, _, _, timeline) = timeline_at(&sides.http, sides.url(MONOLITH, &path)).await;
    let entries = timeline["entries"].as_array().unwrap();
    let mut tied = BTreeSet::new();
    for cut in cuts_inside_ties(sides, user).await {
        for entry in &entries[cut - 1..=cut] {
            tied.insert(entry["friend"]["id"].as_i64().unwrap());
        }
    }
    tied
}

/// Asserts the view's timeline of `user` with `query` is the monolith's.
async fn assert_same_as_monolith(sides: &Sides, timeline: &Timeline, user: i64, query: &str) {
    let path = format!("/timeline/{user}?{query}");
    let (status, etag, source, view) = timeline_at(&sides.http, timeline.url(&path)).await;
    assert_eq!(status, 200, "{path} on the timeline: {view}");
    assert_eq!(source.as_deref(), Some("view"), "{path}");
    let (status, monolith_etag, _, monolith) =
        timeline_at(&sides.http, sides.url(MONOLITH, &path)).await;
    assert_eq!(status, 200, "{path} on the monolith: {monolith}");
    assert!(
        view == monolith,
        "{path}: the view and the monolith differ, {}",
        difference(&view, &monolith)
    );
    assert!(etag.is_some(), "{path}: no ETag");
    assert_eq!(etag, monolith_etag, "{path}");
}

/// Writer `n`'s share of `all`.
fn share<T: Copy>(all: &[T], n: u64) -> Vec<T> {
    all.iter()
        .enumerate()
        .filter(|(i, _)| *i as u64 % WRITERS == n)
        .map(|(_, x)| *x)
        .collect()
}

/// Where two timelines first differ: a field, or an entry (whole timelines of 500 entries
/// would bury it).
fn difference(view: &Value, monolith: &Value) -> String {
    let (a, b) = (view["entries"].as_array(), monolith["entries"].as_array());
    let (a, b) = (
        a.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    if let Some(at) = (0..a.len().max(b.len())).find(|at| a.get(*at) != b.get(*at)) {
        let (x, y) = (a.get(at), b.get(at));
        let lengths = (a.len(), b.len());
        return format!("entry {at} (of {lengths:?}): view {x:?}, monolith {y:?}");
    }
    let fields = ["user_id", "missing_friends", "degraded"];
    let field = fields.iter().find(|f| view[**f] != monolith[**f]);
    match field {
        Some(f) => format!("`{f}`: view {}, monolith {}", view[*f], monolith[*f]),
        None => format!("view {view}, monolith {monolith}"),
    }
}

// === impl Writer ===

impl Writer<'_> {
    /// One of the monolith and `service`, at random.
    fn side(&mut self, service: usize) -> usize {
        if self.rng.below(2) == 0 {
            MONOLITH
        } else {
            service
        }
    }

    /// Waits until the users service (when `side` is a service) or the monolith has
    /// `user`: a side refuses a write that names a user it does not know.
    async fn until_user_on(&self, side: usize, user: i64) {
        let side = if side == MONOLITH { MONOLITH } else { USERS };
        let path = format!("/users/{user}");
        self.sides.until(side, &path, 200, |_| true).await;
    }

    async fn create_user(&mut self) {
        let side = self.side(USERS);
        let name = format!("{} user {}", self.name, self.writes);
        let user = self
            .sides
            .send(side, "POST", "/users", Some(json!({"name": name})))
            .await;
        self.users.push(user["id"].as_i64().unwrap());
    }

    /// One of its users befriends a chosen user.
    async fn befriend(&mut self) {
        let (Some(user), Some(owner)) = (self.rng.pick(&self.users), self.rng.pick(self.owners))
        else {
            return self.create_user().await;
        };
        if self.friendships.contains(&(user, owner)) {
            return self.post().await;
        }
        let side = self.side(FRIENDS);
        self.until_user_on(side, user).await;
        let path = format!("/users/{owner}/friends/{user}");
        self.sides.send(side, "PUT", &path, None).await;
        self.friendships.push((user, owner));
    }

    /// A message by one of its users or of the shared authors.
    async fn post(&mut self) {
        let author = if self.rng.below(3) == 0 {
            self.rng.pick(&self.users)
        } else {
            self.rng.pick(self.authors)
        };
        let Some(author) = author else {
            return self.create_user().await;
        };
        let side = self.side(MESSAGES);
        self.until_user_on(side, author).await;
        let text = format!("{} says {}", self.name, self.writes);
        let body = json!({"author_id": author, "text": text});
        let message = self.sides.send(side, "POST", "/messages", Some(body)).await;
        self.messages
            .push((message["id"].as_i64().unwrap(), author));
    }

    async fn delete_message(&mut self) {
        let Some((message, _)) = self.rng.take(&mut self.messages) else {
            return self.post().await;
        };
        let side = self.side(MESSAGES);
        let path = format!("/messages/{message}");
        self.sides.until(side, &path, 200, |_| true).await;
        self.sides.send(side, "DELETE", &path, None).await;
    }

    /// Ends one of its friendships, or (`given`) one of a chosen user's.
    async fn unfriend(&mut self, given: bool) {
        let pair = if given {
            self.rng.take(&mut self.ending)
        } else {
            self.rng.take(&mut self.friendships)
        };
        let Some((friend, owner)) = pair else {
            return self.post().await;
        };
        let side = self.side(FRIENDS);
        let path = format!("/users/{friend}/friends");
        self.sides
            .until(side, &path, 200, |f| friend_ids(f).contains(&owner))
            .await;
        let path = format!("/users/{owner}/friends/{friend}");
        self.sides.send(side, "DELETE", &path, None).await;
    }

    async fn rename(&mut self) {
        let Some(user) = self.rng.pick(self.authors) else {
            return self.create_user().await;
        };
        let side = self.side(USERS);
        let name = format!("{} renamed {}", self.name, self.writes);
        let path = format!("/users/{user}");
        self.sides
            .send(side, "PATCH", &path, Some(json!({"name": name})))
            .await;
    }

    /// Deletes one of its users, or (`given`) a friend of a chosen user; their friendships
    /// and messages go with them.
    async fn delete_user(&mut self, given: bool) {
        let user = if given {
            self.rng.take(&mut self.doomed)
        } else {
            self.rng.take(&mut self.users)
        };
        let Some(user) = user else {
            return self.create_user().await;
        };
        let side = self.side(USERS);
        self.until_user_on(side, user).await;
        self.sides
            .send(side, "DELETE", &format!("/users/{user}"), None)
            .await;
        self.friendships.retain(|(mine, _)| *mine != user);
        self.messages.retain(|(_, author)| *author != user);
    }

    /// Writes `WRITES` times at random, then deletes and unfriends what it was given and
    /// did not get to; returns how many writes it made.
    async fn run(mut self) -> usize {
        while self.writes < WRITES {
            match self.rng.below(100) {
                0..20 => self.create_user().await,
                20..35 => self.befriend().await,
                35..60 => self.post().await,
                60..68 => self.delete_message().await,
                68..72 => self.unfriend(false).await,
                72..76 => self.unfriend(true).await,
                76..84 => self.rename().await,
                84..92 => self.delete_user(false).await,
                _ => self.delete_user(true).await,
            }
            self.writes += 1;
        }
        while !self.doomed.is_empty() {
            self.delete_user(true).await;
            self.writes += 1;
        }
        while !self.ending.is_empty() {
            self.unfriend(true).await;
            self.writes += 1;
        }
        self.writes
    }
}

// === impl Rng ===

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> Option<T> {
        (!from.is_empty()).then(|| from[self.below(from.len() as u64) as usize])
    }

    fn take<T>(&mut self, from: &mut Vec<T>) -> Option<T> {
        (!from.is_empty()).then(|| from.swap_remove(self.below(from.len() as u64) as usize))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn view_answers_equal_the_monoliths_after_churn_on_both_sides() {
    let sides = Sides::start(WORLD, Some(WORLD)).await;
    let timeline = Timeline::start(&sides).await;

    // A user with no friends made on the monolith, one with a single friend on the
    // services, and one with about ten of the world.
    let alone = sides
        .send(MONOLITH, "POST", "/users", Some(json!({"name": "Alone"})))
        .await["id"]
        .as_i64()
        .unwrap();
    let single = sides
        .send(USERS, "POST", "/users", Some(json!({"name": "Single"})))
        .await["id"]
        .as_i64()
        .unwrap();
    let pal = 9;
    sides
        .until(USERS, &format!("/users/{single}"), 200, |_| true)
        .await;
    let path = format!("/users/{single}/friends/{pal}");
    sides.send(FRIENDS, "PUT", &path, None).await;
    let mut ten = None;
    for user in 3..100 {
        if friends_of(&sides, user).await.len() == 10 {
            ten = Some(user);
            break;
        }
    }
    let ten = ten.expect("a user with ten friends");

    // Who the writers leave be: the chosen users, and the friends whose newest messages
    // tie (the ties are what the limits below cut inside). Of the chosen users' other
    // friends, some are deleted, some unfriended, some posted as and renamed.
    let owners = [ten, HUNDRED, THOUSAND];
    let mut tied = tied_friends(&sides, THOUSAND).await;
    tied.extend(tied_friends(&sides, HUNDRED).await);
    let mut taken: BTreeSet<i64> = [alone, single, pal, ten, HUNDRED, THOUSAND].into();
    taken.extend(&tied);
    // The chosen users post too: their messages show in each other's timelines.
    let mut authors: Vec<i64> = owners
        .iter()
        .filter(|o| !tied.contains(o))
        .copied()
        .collect();
    authors.push(pal);
    let (mut doomed, mut ending) = (Vec::new(), Vec::new());
    for (owner, deleted, ended, posting) in
        [(ten, 2, 2, 4), (HUNDRED, 4, 4, 10), (THOUSAND, 8, 8, 20)]
    {
        let free: Vec<i64> = friends_of(&sides, owner)
            .await
            .into_iter()
            .filter(|f| !taken.contains(f))
            .take(deleted + ended + posting)
            .collect();
        taken.extend(&free);
        doomed.extend(&free[..deleted]);
        ending.extend(free[deleted..deleted + ended].iter().map(|f| (*f, owner)));
        authors.extend(&free[deleted + ended..]);
    }

    // The view built first: what is compared below is what it made of the writes.
    until_settled(&sides, &timeline).await;
    let churn = std::time::Instant::now();
    let writers = (0..WRITERS).map(|n| {
        Writer {
            sides: &sides,
            rng: Rng(n + 1),
            name: format!("writer {n}"),
            users: Vec::new(),
            friendships: Vec::new(),
            messages: Vec::new(),
            doomed: share(&doomed, n),
            ending: share(&ending, n),
            authors: &authors,
            owners: &owners,
            writes: 0,
        }
        .run()
    });
    let writes: usize = futures_util::future::join_all(writers).await.iter().sum();
    let churned = churn.elapsed();
    until_settled(&sides, &timeline).await;
    let settled = churn.elapsed() - churned;

    let mut counts = Vec::new();
    for user in [alone, single, ten, HUNDRED, THOUSAND] {
        let friends = friends_of(&sides, user).await;
        for gone in &doomed {
            assert!(!friends.contains(gone), "{user} still has deleted {gone}");
        }
        let ties = cuts_inside_ties(&sides, user).await;
        if user == HUNDRED || user == THOUSAND {
            assert!(!ties.is_empty(), "no tie in the timeline of {user}");
        }
        counts.push((user, friends.len(), ties.clone()));
        let mut limits: BTreeSet<usize> = [1, 50, 500].into();
        limits.extend(ties);
        for per_friend in [1, 10] {
            for limit in &limits {
                let query = format!("per_friend={per_friend}&limit={limit}");
                assert_same_as_monolith(&sides, &timeline, user, &query).await;
            }
        }
        assert_same_as_monolith(&sides, &timeline, user, "").await;
    }
    let sizes: Vec<usize> = counts.iter().map(|(_, n, _)| *n).collect();
    assert_eq!(sizes[..2], [0, 1], "{counts:?}");
    assert!((5..=20).contains(&sizes[2]), "{counts:?}");
    assert!((80..=160).contains(&sizes[3]), "{counts:?}");
    assert!((900..=1100).contains(&sizes[4]), "{counts:?}");
    eprintln!(
        "{writes} writes by {WRITERS} writers on both sides in {churned:.1?}, settled {settled:.1?} \
         later; (user, friends, limits cutting inside a tie): {counts:?}"
    );
}
