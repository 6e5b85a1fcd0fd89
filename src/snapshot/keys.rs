//! The verification keys of each issuer: its JWKS document read from a file or a URL,
//! parsed into [`KeySet`]s and swapped in whole, so a request reads the keys without a
//! lock.
//!
//! - A file source is read when its store is made (a reload that keeps the issuer's
//!   source keeps the store and its keys); a URL is fetched at startup
//!   (`Snapshot::prefetch_keys`) or by the first request that needs it.
//! - Every `refresh` the set is read again, in the background, by the first request that
//!   finds it due; requests meanwhile use the keys they have. A failed read keeps the old
//!   keys and is retried after `min_refetch_interval`.
//! - A token whose `kid` is not in the set makes the request read the source once more,
//!   at most once per `min_refetch_interval` (so a stream of made-up `kid`s cannot make
//!   the gateway hammer the identity provider); reads are one at a time, and a request
//!   that waited for another's read uses its result.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

use super::fetch;
use crate::table::{Issuer, KeySource};

/// Largest JWKS document read, in bytes.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One verification key of a set.
#[derive(Clone)]
pub struct VerifyKey {
    /// Its `kid`, if the document gave one.
    pub kid: Option<Box<str>>,
    /// Its `alg`, if the document gave one: then it verifies only that algorithm.
    pub alg: Option<Algorithm>,
    /// The key.
    pub key: DecodingKey,
}

/// An issuer's keys as last read.
#[derive(Default)]
pub struct KeySet {
    /// The keys.
    pub keys: Box<[VerifyKey]>,
    /// Whether any read succeeded yet (else the issuer's tokens cannot be checked at all).
    pub loaded: bool,
}

/// What a key lookup found.
pub enum Lookup<'a> {
    /// Keys that may have signed the token, most likely first.
    Found(Vec<&'a VerifyKey>),
    /// The set was read, and no key has this `kid` and algorithm.
    Unknown,
    /// The set was never read successfully.
    NotLoaded,
}

/// The live keys of one key source, shared by every snapshot whose issuers use it.
pub struct KeyStore {
    source: KeySource,
    refresh: Duration,
    min_refetch: Duration,
    keys: ArcSwap<KeySet>,
    /// Reads one at a time; holds when the last read for an unknown `kid` started.
    reading: tokio::sync::Mutex<Option<Instant>>,
    /// Bumped by every successful read, so a request that waited for a read knows one
    /// happened.
    generation: AtomicU64,
    /// When the next background read is due, in milliseconds since `epoch`.
    due_ms: AtomicU64,
    epoch: Instant,
    refreshing: AtomicBool,
    reads: AtomicU64,
}

/// Key stores by source and timing, kept across reloads like the upstream clients.
#[derive(Default)]
pub struct KeyCache {
    stores: HashMap<(KeySource, Duration, Duration), Arc<KeyStore>>,
}

// === impl VerifyKey ===

impl VerifyKey {
    /// Whether it may verify a signature made with `alg`.
    fn fits(&self, alg: Algorithm) -> bool {
        self.alg.is_none_or(|a| a == alg) && self.key.family() == alg.family()
    }
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

// === impl KeySet ===

impl KeySet {
    /// The keys that may have signed a token with `kid` and `alg`: the one with that `kid`,
    /// or without a `kid` every key that fits the algorithm.
    pub fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        if !self.loaded {
            return Lookup::NotLoaded;
        }
        let found: Vec<&VerifyKey> = self
            .keys
            .iter()
            .filter(|k| k.fits(alg) && kid.is_none_or(|kid| k.kid.as_deref() == Some(kid)))
            .collect();
        if found.is_empty() {
            Lookup::Unknown
        } else {
            Lookup::Found(found)
        }
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.keys)
            .field("loaded", &self.loaded)
            .finish()
    }
}

// === impl KeyStore ===

impl KeyStore {
    fn new(issuer: &Issuer) -> Self {
        Self {
            source: issuer.keys.clone(),
            refresh: issuer.refresh,
            min_refetch: issuer.min_refetch_interval,
            keys: ArcSwap::from_pointee(KeySet::default()),
            reading: tokio::sync::Mutex::new(None),
            generation: AtomicU64::new(0),
            due_ms: AtomicU64::new(0),
            epoch: Instant::now(),
            refreshing: AtomicBool::new(false),
            reads: AtomicU64::new(0),
        }
    }

    /// The keys now, without a lock.
    pub fn keys(&self) -> Guard<Arc<KeySet>> {
        self.keys.load()
    }

    /// Where the keys come from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// How many reads of the source were made (for tests and the admin view).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Reads the source once more for a token whose `kid` is unknown, unless another such
    /// read started less than `min_refetch_interval` ago. True when a read (this one or
    /// one this request waited for) brought new keys.
    pub async fn refetch(&self) -> bool {
        let before = self.generation.load(Ordering::Acquire);
        let mut last = self.reading.lock().await;
        if self.generation.load(Ordering::Acquire) != before {
            return true;
        }
        let now = Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < self.min_refetch) {
            return false;
        }
        *last = Some(now);
        self.read_now().await.is_ok()
    }

    /// Starts a background read when one is due and none runs. Cheap when not due: a
    /// clock read and an atomic load.
    pub fn refresh_if_due(self: &Arc<Self>) {
        let now = self.millis(Instant::now());
        if now < self.due_ms.load(Ordering::Relaxed) {
            return;
        }
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move {
            {
                let _one_at_a_time = this.reading.lock().await;
                let _logged = this.read_now().await;
            }
            this.refreshing.store(false, Ordering::Release);
        });
    }

    /// Reads and parses the source and swaps the keys in; on failure keeps the old ones.
    /// Callers hold `reading`, except the synchronous first read of a file.
    async fn read_now(&self) -> Result<usize, String> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let result = match &self.source {
            KeySource::File(path) => tokio::fs::read(path)
                .await
                .map(bytes::Bytes::from)
                .map_err(|err| format!("cannot read {}: {err}", path.display())),
            KeySource::Url(uri) => fetch::get(uri, MAX_JWKS_BYTES).await,
        }
        .and_then(|bytes| parse_jwks(&bytes));
        self.store(result)
    }

    /// Reads a file source synchronously (a URL is left for later).
    fn read_file_now(&self) {
        if let KeySource::File(path) = &self.source {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let result = std::fs::read(path)
                .map_err(|err| format!("cannot read {}: {err}", path.display()))
                .and_then(|bytes| parse_jwks(&bytes));
            let _logged = self.store(result);
        }
    }

    fn store(&self, result: Result<Vec<VerifyKey>, String>) -> Result<usize, String> {
        let now = self.millis(Instant::now());
        match result {
            Ok(keys) => {
                let count = keys.len();
                tracing::debug!(source = %self.source, keys = count, "issuer keys read");
                self.keys.store(Arc::new(KeySet {
                    keys: keys.into(),
                    loaded: true,
                }));
                self.generation.fetch_add(1, Ordering::AcqRel);
                self.due_ms.store(
                    now.saturating_add(as_millis(self.refresh)),
                    Ordering::Relaxed,
                );
                Ok(count)
            }
            Err(why) => {
                tracing::warn!(source = %self.source, error = %why, "cannot read issuer keys; keeping the keys held");
                self.due_ms.store(
                    now.saturating_add(as_millis(self.min_refetch)),
                    Ordering::Relaxed,
                );
                Err(why)
            }
        }
    }

    /// Reads the source now unless keys are held (at startup, so the first requests do not
    /// wait for the identity provider).
    pub async fn prefetch(&self) {
        if self.keys().loaded {
            return;
        }
        let _one_at_a_time = self.reading.lock().await;
        if !self.keys().loaded {
            let _logged = self.read_now().await;
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        as_millis(at.duration_since(self.epoch))
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("source", &self.source)
            .field("keys", &self.keys.load().keys.len())
            .field("reads", &self.reads())
            .finish_non_exhaustive()
    }
}

fn as_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

// === impl KeyCache ===

impl KeyCache {
    /// The store for `issuer`'s source, reusing the held one (and its keys) when the
    /// source and its timing are unchanged; a new store of a file reads it now.
    pub fn store_for(&mut self, issuer: &Issuer) -> Arc<KeyStore> {
        let key = (
            issuer.keys.clone(),
            issuer.refresh,
            issuer.min_refetch_interval,
        );
        Arc::clone(self.stores.entry(key).or_insert_with(|| {
            let store = KeyStore::new(issuer);
            store.read_file_now();
            Arc::new(store)
        }))
    }

    /// Drops the stores no issuer of `keep` uses.
    pub fn retain(&mut self, keep: &[Issuer]) {
        self.stores.retain(|(source, refresh, min), _| {
            keep.iter().any(|i| {
                i.keys == *source && i.refresh == *refresh && i.min_refetch_interval == *min
            })
        });
    }
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.stores.values()).finish()
    }
}

/// The signing keys of a JWKS document (RFC 7517). Keys for encryption (`use: enc`),
/// symmetric keys, keys of a type this gateway does not verify with and keys that do not
/// parse are skipped; a document with no usable key is an error, since it would refuse
/// every token.
pub fn parse_jwks(bytes: &[u8]) -> Result<Vec<VerifyKey>, String> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|err| format!("not a JWKS document: {err}"))?;
    let Some(entries) = document.get("keys").and_then(Value::as_array) else {
        return Err("not a JWKS document: no `keys` array".to_owned());
    };
    let mut keys = Vec::new();
    let mut skipped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match parse_key(entry) {
            Ok(key) => keys.push(key),
            Err(why) => skipped.push(format!("key {i}: {why}")),
        }
    }
    if !skipped.is_empty() {
        tracing::debug!(?skipped, "JWKS keys skipped");
    }
    if keys.is_empty() {
        let why = if skipped.is_empty() {
            "it holds no key".to_owned()
        } else {
            skipped.join("; ")
        };
        return Err(format!(
            "no usable signing key (RSA, P-256 or Ed25519): {why}"
        ));
    }
    Ok(keys)
}

fn parse_key(entry: &Value) -> Result<VerifyKey, String> {
    let jwk: Jwk = serde_json::from_value(entry.clone()).map_err(|err| err.to_string())?;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return Err("not a signing key (`use` is not `sig`)".to_owned());
    }
    if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
        return Err("a symmetric key is never used".to_owned());
    }
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(other) => return Err(format!("algorithm {other} is not accepted")),
    };
    let key = DecodingKey::from_jwk(&jwk).map_err(|err| err.to_string())?;
    if !matches!(
        key.family(),
        AlgorithmFamily::Rsa | AlgorithmFamily::Ec | AlgorithmFamily::Ed
    ) {
        return Err("not an asymmetric key".to_owned());
    }
    Ok(VerifyKey {
        kid: jwk.common.key_id.map(String::into_boxed_str),
        alg,
        key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_KEY: &str = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"a","alg":"EdDSA","use":"sig"}"#;

    #[test]
    fn signing_keys_are_kept_and_the_rest_skipped() {
        let doc = format!(
            r#"{{"keys":[{ED_KEY},
            {{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}},
            {{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","use":"enc"}},
            {{"kty":"weird"}}]}}"#
        );
        let keys = parse_jwks(doc.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("a"));
        let set = KeySet {
            keys: keys.into(),
            loaded: true,
        };
        assert!(
            matches!(set.lookup(Some("a"), Algorithm::EdDSA), Lookup::Found(k) if k.len() == 1)
        );
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(Some("b"), Algorithm::EdDSA),
            Lookup::Unknown
        ));
        assert!(matches!(
            set.lookup(Some("a"), Algorithm::RS256),
            Lookup::Unknown
        ));
        assert!(matches!(
            KeySet::default().lookup(Some("a"), Algorithm::EdDSA),
            Lookup::NotLoaded
        ));
    }

    #[test]
    fn documents_without_usable_keys_are_errors() {
        for bad in [
            "",
            "[]",
            r#"{"keys": 3}"#,
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty":"oct","k":"c2VjcmV0"}]}"#,
            "-----BEGIN PRIVATE KEY-----",
        ] {
            assert!(parse_jwks(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
