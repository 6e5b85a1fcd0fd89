//! Test signing keys, tokens of every shape, and a JWKS served over HTTP whose keys a test
//! changes and whose reads it counts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use gateway::token::DemoKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use kit::test_util::TestServer;
use serde_json::{Value, json};

/// The `iss` and `aud` of the edge tests' issuer.
pub(crate) const ISS: &str = "https://id.test";
pub(crate) const AUD: &str = "api";

/// An Ed25519 key pair (made by the same code as `gateway up`'s demo key).
pub(crate) struct Signer {
    pub(crate) kid: String,
    pub(crate) jwk: Value,
    key: EncodingKey,
    _dir: tempfile::TempDir,
    pub(crate) jwks_file: PathBuf,
}

/// A JWKS document served at `/jwks.json`.
pub(crate) struct JwksServer {
    pub(crate) server: TestServer,
    state: Arc<JwksState>,
}

#[derive(Default)]
struct JwksState {
    keys: Mutex<Vec<Value>>,
    reads: AtomicUsize,
}

/// The key the shipped routes files' `demo` issuer trusts in these tests (every
/// `Upstreams::overrides()` points the issuer at its JWKS file).
pub(crate) static DEMO: LazyLock<Signer> = LazyLock::new(Signer::new);

/// A token of the shipped `demo` issuer for `sub`.
pub(crate) fn demo_token(sub: &str) -> String {
    DEMO.sign(&json!({
        "iss": gateway::token::DEMO_ISS,
        "aud": gateway::token::DEMO_AUDIENCE,
        "sub": sub,
        "exp": now() + 3600,
    }))
}

/// Seconds since the epoch.
pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Claims that the test issuer accepts for `sub`, valid for an hour.
pub(crate) fn claims(sub: &str) -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": sub, "iat": now(), "exp": now() + 3600})
}

/// base64url of `bytes`.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

// === impl Signer ===

impl Signer {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let demo = DemoKey::ensure(dir.path()).unwrap();
        let pem = std::fs::read(&demo.key_file).unwrap();
        let jwks: Value = serde_json::from_slice(&std::fs::read(&demo.jwks_file).unwrap()).unwrap();
        Self {
            kid: demo.kid.clone(),
            jwk: jwks["keys"][0].clone(),
            key: EncodingKey::from_ed_pem(&pem).unwrap(),
            jwks_file: demo.jwks_file,
            _dir: dir,
        }
    }

    /// `claims` signed with this key, its `kid` in the header.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// A valid token for `sub`.
    pub(crate) fn token(&self, sub: &str) -> String {
        self.sign(&claims(sub))
    }

    /// The raw public key, as the JWK's `x`.
    pub(crate) fn public_key(&self) -> Vec<u8> {
        URL_SAFE_NO_PAD
            .decode(self.jwk["x"].as_str().unwrap())
            .unwrap()
    }
}

// === impl JwksServer ===

impl JwksServer {
    pub(crate) async fn start(keys: Vec<Value>) -> Self {
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys),
            reads: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/jwks.json", get(serve))
            .with_state(Arc::clone(&state));
        Self {
            server: TestServer::start(app).await,
            state,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}/jwks.json", self.server.addr)
    }

    /// Replaces the keys served.
    pub(crate) fn set(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    /// How many times the document was read.
    pub(crate) fn reads(&self) -> usize {
        self.state.reads.load(Ordering::SeqCst)
    }
}

async fn serve(State(state): State<Arc<JwksState>>) -> axum::Json<Value> {
    state.reads.fetch_add(1, Ordering::SeqCst);
    let keys = state.keys.lock().unwrap().clone();
    axum::Json(json!({ "keys": keys }))
}
