//! The demo identity provider of one machine: an Ed25519 signing key in a data directory
//! (`signing-key.pem`, PKCS#8), the JWKS of its public half next to it (`jwks.json`), and
//! tokens signed with it (`gateway token`). `gateway up` makes the key when missing and
//! points the shipped `demo` issuer at that `jwks.json`. Production uses a real identity
//! provider's keys instead (an issuer with `jwks_url`).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The signing key's file in a data directory.
pub const KEY_FILE: &str = "signing-key.pem";
/// The public JWKS's file in a data directory.
pub const JWKS_FILE: &str = "jwks.json";
/// The issuer of the shipped routes files that trusts the demo key.
pub const DEMO_ISSUER: &str = "demo";
/// The `iss` of demo tokens, as the shipped routes files expect it.
pub const DEMO_ISS: &str = "gateway-demo";
/// The `aud` of demo tokens, as the shipped routes files expect it.
pub const DEMO_AUDIENCE: &str = "timeline-api";

/// The demo key of a data directory.
#[derive(Debug)]
pub struct DemoKey {
    /// The PEM file.
    pub key_file: PathBuf,
    /// The JWKS file of its public half.
    pub jwks_file: PathBuf,
    /// Its `kid`: 16 hex digits of the SHA-256 of the public key.
    pub kid: String,
    signing: SigningKey,
}

/// What a demo token claims.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    exp: u64,
}

// === impl DemoKey ===

impl DemoKey {
    /// The key of `dir`, made (with the directory) when missing; `jwks.json` is rewritten
    /// from it either way, so the two always agree.
    pub fn ensure(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let key_file = dir.join(KEY_FILE);
        let signing = if key_file.exists() {
            let pem = std::fs::read_to_string(&key_file)
                .with_context(|| format!("cannot read {}", key_file.display()))?;
            SigningKey::from_pkcs8_pem(&pem).map_err(|err| {
                anyhow::anyhow!(
                    "{} is not an Ed25519 PKCS#8 PEM key: {err}",
                    key_file.display()
                )
            })?
        } else {
            let signing = generate()?;
            write_private(&key_file, &signing)?;
            tracing::info!(file = %key_file.display(), "made a demo signing key");
            signing
        };
        let public = signing.verifying_key().to_bytes();
        let kid: String = Sha256::digest(public)[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let jwks = serde_json::json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(public),
            "kid": kid,
            "alg": "EdDSA",
            "use": "sig",
        }]});
        let jwks_file = dir.join(JWKS_FILE);
        let text = serde_json::to_string_pretty(&jwks).context("JWKS")? + "\n";
        std::fs::write(&jwks_file, text)
            .with_context(|| format!("cannot write {}", jwks_file.display()))?;
        Ok(Self {
            key_file,
            jwks_file,
            kid,
            signing,
        })
    }

    /// A token for `subject`, valid for `ttl` from now.
    pub fn token(
        &self,
        subject: &str,
        ttl: Duration,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<String> {
        let pem = self
            .signing
            .to_pkcs8_pem(Default::default())
            .map_err(|err| anyhow::anyhow!("cannot encode the key: {err}"))?;
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).context("signing key")?;
        self.token_with(&key, subject, ttl, issuer, audience)
    }

    /// Tokens for every subject of `subjects`, in order (one key parse for them all).
    pub fn tokens(
        &self,
        subjects: &[String],
        ttl: Duration,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<Vec<String>> {
        let pem = self
            .signing
            .to_pkcs8_pem(Default::default())
            .map_err(|err| anyhow::anyhow!("cannot encode the key: {err}"))?;
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).context("signing key")?;
        subjects
            .iter()
            .map(|s| self.token_with(&key, s, ttl, issuer, audience))
            .collect()
    }

    fn token_with(
        &self,
        key: &EncodingKey,
        subject: &str,
        ttl: Duration,
        issuer: &str,
        audience: &str,
    ) -> anyhow::Result<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let claims = Claims {
            iss: issuer,
            aud: audience,
            sub: subject,
            iat: now,
            exp: now.saturating_add(ttl.as_secs()),
        };
        jsonwebtoken::encode(&header, &claims, key).context("signing the token")
    }
}

fn generate() -> anyhow::Result<SigningKey> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|err| anyhow::anyhow!("no randomness: {err}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Writes the key readable by its owner only.
fn write_private(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|err| anyhow::anyhow!("cannot encode the key: {err}"))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    std::io::Write::write_all(&mut file, pem.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The subjects a `--user` value names: one id, or every integer of `FIRST-LAST`.
pub fn subjects(value: &str) -> Result<Vec<String>, String> {
    const MAX: u64 = 100_000;
    if let Some((first, last)) = value.split_once('-')
        && let (Ok(first), Ok(last)) = (first.parse::<u64>(), last.parse::<u64>())
    {
        if first > last || last - first >= MAX {
            return Err(format!(
                "`{value}`: a range FIRST-LAST with FIRST <= LAST and at most {MAX} ids"
            ));
        }
        return Ok((first..=last).map(|n| n.to_string()).collect());
    }
    if value.is_empty() || value.len() > 256 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "`{value}`: a user id is 1 to 256 visible ASCII characters"
        ));
    }
    Ok(vec![value.to_owned()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_its_tokens_verify_with_its_jwks() {
        let dir = tempfile::tempdir().unwrap();
        let key = DemoKey::ensure(dir.path()).unwrap();
        let again = DemoKey::ensure(dir.path()).unwrap();
        assert_eq!(key.kid, again.kid, "the key is kept");
        let token = key
            .token("7", Duration::from_secs(60), DEMO_ISS, DEMO_AUDIENCE)
            .unwrap();
        let jwks = std::fs::read(&key.jwks_file).unwrap();
        let keys = crate::snapshot::keys::parse_jwks(&jwks).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[DEMO_AUDIENCE]);
        validation.set_issuer(&[DEMO_ISS]);
        let data =
            jsonwebtoken::decode::<serde_json::Value>(&token, &keys[0].key, &validation).unwrap();
        assert_eq!(data.claims["sub"], "7");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid.as_str()));
    }

    #[test]
    fn user_values_are_ids_or_ranges() {
        assert_eq!(subjects("42").unwrap(), ["42"]);
        assert_eq!(subjects("3-5").unwrap(), ["3", "4", "5"]);
        assert_eq!(subjects("auth0|abc").unwrap(), ["auth0|abc"]);
        assert!(subjects("5-3").is_err());
        assert!(subjects("1-200000").is_err());
        assert!(subjects("").is_err());
        assert!(subjects("a b").is_err());
    }
}
