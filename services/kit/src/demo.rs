//! The deterministic demo world: the same `--demo` parameters give the same users,
//! friendships and messages in every service and in the monolith, so their answers can be
//! compared byte for byte.
//!
//! Spec: `users=U,friends=F,messages=M,seed=S,celebrities=K,celebrity_friends=N1/N2/…`, every
//! key optional. Users have ids 1..=U; each picks about F/2 partners, so degrees average F
//! (friendship is symmetric); messages number U×M with uniformly random authors over the 90
//! days before 2026-01-01, their ids in time order. Users 1..=K are celebrities: celebrity k
//! befriends `celebrity_friends[(k-1) % len]` distinct others on top of the above.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::timestamp::Timestamp;

/// 2026-01-01T00:00:00Z: the demo world's "now". Demo data is never newer.
const EPOCH_SECS: i64 = 1_767_225_600;
const DAY_SECS: i64 = 86_400;
const MESSAGE_WINDOW_SECS: u64 = 90 * DAY_SECS as u64;

/// The origin of the demo world's feed events: a filled store records them as replicated
/// from it, so every side that fills the same world has the same events.
pub const ORIGIN: &str = "demo";

/// The version of every demo friendship's event: the world's "now" (2026-01-01) in
/// microseconds. Users and messages are versioned by their `created_at`.
pub const FRIENDSHIP_VERSION: i64 = EPOCH_SECS * 1_000_000;

/// Parameters of a demo world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSpec {
    /// Number of users, ids 1..=users.
    pub users: u64,
    /// Average friends per ordinary user.
    pub friends: u64,
    /// Average messages per user.
    pub messages: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Users 1..=celebrities get many friends.
    pub celebrities: u64,
    /// Extra friends of celebrity k: `celebrity_friends[(k - 1) % len]`.
    pub celebrity_friends: Vec<u64>,
}

/// A malformed `--demo` spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid demo spec: {0} (expected users=U,friends=F,messages=M,seed=S,celebrities=K,celebrity_friends=N)"
)]
pub struct DemoSpecError(String);

/// A generated user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// 1..=users.
    pub id: i64,
    /// A first and a last name.
    pub name: String,
    /// Set for nine users in ten.
    pub avatar_url: Option<String>,
    /// A year or so before the epoch.
    pub created_at: Timestamp,
}

/// A generated message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoMessage {
    /// 1..=users×messages, in `created_at` order.
    pub id: i64,
    /// A user id.
    pub author_id: i64,
    /// A few words.
    pub text: String,
    /// Within the 90 days before the epoch, whole seconds (so ties happen).
    pub created_at: Timestamp,
}

/// A world generated from a spec. Generation is lazy where it can be.
#[derive(Debug, Clone)]
pub struct World {
    spec: DemoSpec,
}

/// Logs how long filling a store took, as `demo world loaded`.
pub fn report(service: &str, what: &str, started: Instant) -> Duration {
    let took = started.elapsed();
    tracing::info!(
        service,
        what,
        took_ms = took.as_millis() as u64,
        "demo world loaded"
    );
    took
}

// === impl DemoSpec ===

impl Default for DemoSpec {
    fn default() -> Self {
        Self {
            users: 1000,
            friends: 50,
            messages: 20,
            seed: 1,
            celebrities: 0,
            celebrity_friends: vec![1000],
        }
    }
}

impl FromStr for DemoSpec {
    type Err = DemoSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = Self::default();
        for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| DemoSpecError(format!("`{pair}` is not key=value")))?;
            let number = |v: &str| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| DemoSpecError(format!("`{key}={v}`: not a non-negative integer")))
            };
            match key.trim() {
                "users" => spec.users = number(value)?,
                "friends" => spec.friends = number(value)?,
                "messages" => spec.messages = number(value)?,
                "seed" => spec.seed = number(value)?,
                "celebrities" => spec.celebrities = number(value)?,
                "celebrity_friends" => {
                    spec.celebrity_friends =
                        value.split('/').map(number).collect::<Result<_, _>>()?;
                }
                other => return Err(DemoSpecError(format!("unknown key `{other}`"))),
            }
        }
        spec.validate()?;
        Ok(spec)
    }
}

impl fmt::Display for DemoSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fans: Vec<String> = self.celebrity_friends.iter().map(u64::to_string).collect();
        write!(
            f,
            "users={},friends={},messages={},seed={},celebrities={},celebrity_friends={}",
            self.users,
            self.friends,
            self.messages,
            self.seed,
            self.celebrities,
            fans.join("/")
        )
    }
}

impl DemoSpec {
    fn validate(&self) -> Result<(), DemoSpecError> {
        const MAX_USERS: u64 = 10_000_000;
        const MAX_MESSAGES: u64 = 100_000_000;
        if self.users > MAX_USERS {
            return Err(DemoSpecError(format!("users is at most {MAX_USERS}")));
        }
        if self.users.saturating_mul(self.messages) > MAX_MESSAGES {
            return Err(DemoSpecError(format!(
                "users × messages is at most {MAX_MESSAGES}"
            )));
        }
        if self.friends > 5000 {
            return Err(DemoSpecError("friends is at most 5000".into()));
        }
        if self.celebrities > self.users {
            return Err(DemoSpecError("celebrities cannot exceed users".into()));
        }
        if self.celebrity_friends.is_empty() {
            return Err(DemoSpecError("celebrity_friends needs a value".into()));
        }
        Ok(())
    }
}

// === impl World ===

impl World {
    /// The world of `spec`.
    pub fn new(spec: DemoSpec) -> Self {
        Self { spec }
    }

    /// Its parameters.
    pub fn spec(&self) -> &DemoSpec {
        &self.spec
    }

    /// Users 1..=U, lazily.
    pub fn users(&self) -> impl Iterator<Item = DemoUser> + Send + 'static {
        let seed = self.spec.seed;
        (1..=self.spec.users).map(move |id| {
            let mut rng = Rng::new(seed, STREAM_USERS, id);
            let first = FIRST_NAMES[rng.below(FIRST_NAMES.len() as u64) as usize];
            let last = LAST_NAMES[rng.below(LAST_NAMES.len() as u64) as usize];
            let avatar_url =
                (rng.below(10) != 0).then(|| format!("https://avatars.example.com/u/{id}.png"));
            let id = to_i64(id);
            DemoUser {
                id,
                name: format!("{first} {last}"),
                avatar_url,
                created_at: Timestamp::from_micros((EPOCH_SECS - 400 * DAY_SECS + id) * 1_000_000),
            }
        })
    }

    /// Every friendship once, as `(a, b)` with `a < b`, sorted.
    pub fn friendships(&self) -> Vec<(i64, i64)> {
        let users = self.spec.users;
        if users < 2 {
            return Vec::new();
        }
        let mut pairs = Vec::new();
        for user in 1..=users {
            let mut rng = Rng::new(self.spec.seed, STREAM_FRIENDS, user);
            let picks = self.spec.friends / 2 + (self.spec.friends % 2) * (user % 2);
            for _ in 0..picks {
                let other = 1 + rng.below(users - 1);
                // Skip over `user` itself so every other user is equally likely.
                let other = if other >= user { other + 1 } else { other };
                pairs.push(ordered(user, other));
            }
        }
        for celebrity in 1..=self.spec.celebrities {
            let fans = &self.spec.celebrity_friends;
            let wanted = fans[((celebrity - 1) % fans.len() as u64) as usize].min(users - 1);
            let mut rng = Rng::new(self.spec.seed, STREAM_CELEBRITIES, celebrity);
            for other in sample_distinct(&mut rng, users - 1, wanted) {
                let other = if other >= celebrity { other + 1 } else { other };
                pairs.push(ordered(celebrity, other));
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .into_iter()
            .map(|(a, b)| (to_i64(a), to_i64(b)))
            .collect()
    }

    /// U×M messages with ids in `created_at` order, lazily generating their text.
    pub fn messages(&self) -> impl Iterator<Item = DemoMessage> + Send + 'static {
        let seed = self.spec.seed;
        let users = self.spec.users;
        let count = if users == 0 {
            0
        } else {
            users * self.spec.messages
        };
        let mut rng = Rng::new(seed, STREAM_MESSAGES, 0);
        let mut stamps: Vec<(u64, u64)> = (0..count)
            .map(|_| {
                let ago = 1 + rng.below(MESSAGE_WINDOW_SECS);
                let author = 1 + rng.below(users);
                (ago, author)
            })
            .collect();
        // Oldest first (largest "ago"); equal instants keep generation order.
        stamps.sort_by_key(|&(ago, _)| std::cmp::Reverse(ago));
        stamps
            .into_iter()
            .enumerate()
            .map(move |(index, (ago, author))| {
                let id = to_i64(index as u64 + 1);
                let mut rng = Rng::new(seed, STREAM_TEXT, id as u64);
                let words = 3 + rng.below(10);
                let text = (0..words)
                    .map(|_| WORDS[rng.below(WORDS.len() as u64) as usize])
                    .collect::<Vec<_>>()
                    .join(" ");
                DemoMessage {
                    id,
                    author_id: to_i64(author),
                    text,
                    created_at: Timestamp::from_micros((EPOCH_SECS - to_i64(ago)) * 1_000_000),
                }
            })
    }
}

fn ordered(a: u64, b: u64) -> (u64, u64) {
    if a < b { (a, b) } else { (b, a) }
}

/// Spec validation bounds every count far below i64::MAX.
fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `k` distinct values from 1..=n (Floyd's algorithm), in a deterministic order.
fn sample_distinct(rng: &mut Rng, n: u64, k: u64) -> Vec<u64> {
    let mut chosen = std::collections::BTreeSet::new();
    for j in (n - k + 1)..=n {
        let t = 1 + rng.below(j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

const STREAM_USERS: u64 = 1;
const STREAM_FRIENDS: u64 = 2;
const STREAM_CELEBRITIES: u64 = 3;
const STREAM_MESSAGES: u64 = 4;
const STREAM_TEXT: u64 = 5;

/// SplitMix64: tiny, fast, and the same numbers on every platform and version.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64, index: u64) -> Self {
        Self(mix(seed
            ^ mix(
                stream.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ mix(index)
            )))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// Uniform in 0..n (n > 0), without modulo bias.
    fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }
}

fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Astrid", "Bea", "Bruno", "Chen", "Chidi", "Dana",
    "Diego", "Elif", "Emil", "Eva", "Farah", "Femi", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jun", "Kai", "Kemal", "Lara", "Leo", "Lina", "Luca", "Maya", "Mei", "Nia", "Noor", "Olga",
    "Omar", "Pia", "Priya", "Rafael", "Rosa", "Sami", "Sara", "Tariq", "Tess", "Uma", "Victor",
    "Wanjiru", "Yara", "Yusuf", "Zane", "Zoe",
];

const LAST_NAMES: &[&str] = &[
    "Abara", "Andersen", "Bianchi", "Costa", "Dubois", "Eriksson", "Fischer", "García", "Haddad",
    "Ivanova", "Jensen", "Kim", "Kowalski", "Lopez", "Mensah", "Moreau", "Nakamura", "Novak",
    "Okafor", "Olsen", "Park", "Petrov", "Quinn", "Rossi", "Sato", "Schmidt", "Silva", "Singh",
    "Tanaka", "Torres", "Usman", "Varga", "Wang", "Weber", "Xu", "Yamada", "Yilmaz", "Zhang",
];

const WORDS: &[&str] = &[
    "coffee", "later", "tonight", "train", "late", "again", "great", "idea", "meeting", "moved",
    "finally", "weekend", "hiking", "rain", "sunny", "new", "job", "cat", "dog", "pizza", "movie",
    "book", "finished", "started", "running", "tired", "happy", "concert", "tickets", "beach",
    "city", "trip", "home", "garden", "bread", "baked", "lunch", "call", "me", "you", "we",
    "should", "meet", "soon", "thanks", "congrats", "birthday", "party", "music", "code",
    "shipped", "release", "bug", "fixed", "deploy", "friday", "monday", "snow", "bike", "lake",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn world(spec: &str) -> World {
        World::new(spec.parse().unwrap())
    }

    #[test]
    fn parses_keys_in_any_order_with_defaults() {
        let spec: DemoSpec = "seed=7,users=10".parse().unwrap();
        assert_eq!(spec.users, 10);
        assert_eq!(spec.seed, 7);
        assert_eq!(spec.friends, DemoSpec::default().friends);
        assert_eq!("".parse::<DemoSpec>().unwrap(), DemoSpec::default());
        let spec: DemoSpec = "celebrities=2,celebrity_friends=100/1000".parse().unwrap();
        assert_eq!(spec.celebrity_friends, vec![100, 1000]);
        assert_eq!(spec.to_string().parse::<DemoSpec>().unwrap(), spec);
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in [
            "users",
            "users=-1",
            "users=x",
            "colour=red",
            "users=3,celebrities=4",
            "users=20000000",
            "celebrity_friends=",
        ] {
            assert!(bad.parse::<DemoSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn same_spec_same_world_other_seed_other_world() {
        let a = world("users=200,friends=10,messages=5,seed=3");
        let b = world("users=200,friends=10,messages=5,seed=3");
        let c = world("users=200,friends=10,messages=5,seed=4");
        assert_eq!(a.users().collect::<Vec<_>>(), b.users().collect::<Vec<_>>());
        assert_eq!(a.friendships(), b.friendships());
        assert_eq!(
            a.messages().collect::<Vec<_>>(),
            b.messages().collect::<Vec<_>>()
        );
        assert_ne!(a.friendships(), c.friendships());
    }

    #[test]
    fn friendships_are_simple_and_average_about_f() {
        let w = world("users=1000,friends=20");
        let pairs = w.friendships();
        assert!(pairs.iter().all(|(a, b)| a < b && *a >= 1 && *b <= 1000));
        let mean = 2.0 * pairs.len() as f64 / 1000.0;
        assert!((18.0..=20.5).contains(&mean), "mean degree {mean}");
        let mut degree = vec![0; 1001];
        for (a, b) in &pairs {
            degree[*a as usize] += 1;
            degree[*b as usize] += 1;
        }
        assert!(
            degree[1..].iter().all(|d| *d >= 10),
            "everyone picks F/2 friends"
        );
    }

    #[test]
    fn celebrities_get_their_fans() {
        let w = world("users=3000,friends=4,celebrities=2,celebrity_friends=100/1500");
        let pairs = w.friendships();
        let degree = |u: i64| pairs.iter().filter(|(a, b)| *a == u || *b == u).count();
        assert!((100..130).contains(&degree(1)), "{}", degree(1));
        assert!((1500..1530).contains(&degree(2)), "{}", degree(2));
        // Capped by the number of other users.
        let w = world("users=50,friends=2,celebrities=1,celebrity_friends=1000");
        let pairs = w.friendships();
        assert_eq!(pairs.iter().filter(|(a, _)| *a == 1).count(), 49);
    }

    #[test]
    fn messages_are_numbered_in_time_order() {
        let w = world("users=100,messages=30");
        let messages: Vec<_> = w.messages().collect();
        assert_eq!(messages.len(), 3000);
        assert!(
            messages
                .windows(2)
                .all(|m| m[0].created_at <= m[1].created_at)
        );
        assert!(
            messages
                .iter()
                .enumerate()
                .all(|(i, m)| m.id == i as i64 + 1)
        );
        assert!(messages.iter().all(|m| (1..=100).contains(&m.author_id)));
        let epoch = Timestamp::from_micros(EPOCH_SECS * 1_000_000);
        assert!(
            messages
                .iter()
                .all(|m| m.created_at < epoch && !m.text.is_empty())
        );
        assert!(
            messages
                .windows(2)
                .any(|m| m[0].created_at == m[1].created_at),
            "ties on created_at exercise the id tie-break"
        );
    }

    #[test]
    fn empty_and_tiny_worlds_do_not_panic() {
        for spec in [
            "users=0",
            "users=1,friends=5,celebrities=1",
            "users=2,messages=0",
        ] {
            let w = world(spec);
            let _ = w.users().count();
            let _ = w.friendships();
            let _ = w.messages().count();
        }
        assert_eq!(world("users=1,friends=5").friendships(), vec![]);
    }

    #[test]
    fn below_is_in_range() {
        let mut rng = Rng::new(1, 2, 3);
        for n in [1, 2, 3, 10, u64::MAX] {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
    }
}
