//! The OpenID Connect signing keys: generated on first start, stored in the
//! database (so every process signs with the same key and publishes the same JWKS),
//! rotated by `provider rotatekeys`.
//!
//! A key is an RSA 2048 (RS256, the default; OIDC Core §15.1 requires RS256 support)
//! or a P-256 (ES256) key pair from aws-lc-rs. Its private half is stored only sealed
//! ([`crate::sealed`], under the server key `signing-keys`, the kid as associated
//! data); its public half as the JWK that `/oauth2/.well-known/jwks.json` serves.
//! The newest unretired key signs. Rotation retires the others: they stay published
//! until every token they signed has expired, then they are dropped.

use std::sync::{Arc, RwLock};

use aws_lc_rs::encoding::AsDer as _;
use base64::Engine as _;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::storage::oidc::StoredKey;
use crate::storage::{Db, StorageError, new_id, now};

/// The signing algorithms this server can use (`--signing-alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SigningAlg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "ES256")]
    Es256,
}

impl SigningAlg {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Self::Rs256),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::Rs256 => Algorithm::RS256,
            Self::Es256 => Algorithm::ES256,
        }
    }
}

/// Every algorithm a published key may have (discovery's
/// `id_token_signing_alg_values_supported`).
pub const ALGS: [&str; 2] = ["RS256", "ES256"];

const SERVER_KEY: &str = "signing-keys";
const SALT: &[u8] = b"latchkey/signing-key/v1";
/// How long a process signs with the key it loaded before looking again (another
/// process may have rotated). Retired keys stay published longer than this.
pub const CACHE_SECONDS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("signing key: {0}")]
    Crypto(String),
}

fn crypto(what: &str) -> impl FnOnce(String) -> KeyError + '_ {
    move |e| KeyError::Crypto(format!("{what}: {e}"))
}

/// The key that signs, ready to use.
pub struct Signer {
    pub kid: String,
    alg: SigningAlg,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signer({}, {})", self.kid, self.alg.as_str())
    }
}

impl Signer {
    /// A compact JWS of `claims` with this key (`typ` as given: `JWT`, `logout+jwt`).
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(self.alg.jwt());
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| crypto("sign")(e.to_string()))
    }

    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
}

/// The process's cached signer, reloaded every [`CACHE_SECONDS`].
#[derive(Debug, Default)]
pub struct KeyCache {
    current: RwLock<Option<(i64, Arc<Signer>)>>,
}

impl KeyCache {
    /// Drops the cached signer: the next signature loads the newest key (tests, and a
    /// rotation made in this process).
    pub fn forget(&self) {
        if let Ok(mut g) = self.current.write() {
            *g = None;
        }
    }

    /// The key to sign with now.
    pub async fn signer(&self, db: &Db) -> Result<Arc<Signer>, KeyError> {
        if let Ok(g) = self.current.read()
            && let Some((at, s)) = g.as_ref()
            && now() - at < CACHE_SECONDS
        {
            return Ok(s.clone());
        }
        let s = Arc::new(active_signer(db).await?.ok_or_else(|| {
            KeyError::Crypto("no signing key in the database (run `provider serve` once)".into())
        })?);
        if let Ok(mut g) = self.current.write() {
            *g = Some((now(), s.clone()));
        }
        Ok(s)
    }
}

fn pem(pkcs8: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pkcs8));
    let mut out = Zeroizing::new(String::from("-----BEGIN PRIVATE KEY-----\n"));
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

fn encoding_key(alg: SigningAlg, pkcs8: &[u8]) -> Result<EncodingKey, KeyError> {
    let pem = pem(pkcs8);
    match alg {
        SigningAlg::Rs256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        SigningAlg::Es256 => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .map_err(|e| crypto("load")(e.to_string()))
}

fn generate_pkcs8(alg: SigningAlg) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let err = |e: aws_lc_rs::error::Unspecified| crypto("generate")(e.to_string());
    Ok(Zeroizing::new(match alg {
        SigningAlg::Rs256 => {
            let kp =
                aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).map_err(err)?;
            kp.as_der().map_err(err)?.as_ref().to_vec()
        }
        SigningAlg::Es256 => {
            let kp = aws_lc_rs::signature::EcdsaKeyPair::generate(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            )
            .map_err(err)?;
            kp.to_pkcs8v1().map_err(err)?.as_ref().to_vec()
        }
    }))
}

/// A fresh key pair, sealed and stored: it signs from now on (the others are not
/// retired here; see [`rotate`]).
pub async fn generate(db: &Db, alg: SigningAlg) -> Result<String, KeyError> {
    let pkcs8 = generate_pkcs8(alg)?;
    let key = encoding_key(alg, &pkcs8)?;
    let kid = new_id();
    let mut jwk =
        Jwk::from_encoding_key(&key, alg.jwt()).map_err(|e| crypto("jwk")(e.to_string()))?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    let public_jwk = serde_json::to_string(&jwk).map_err(|e| crypto("jwk")(e.to_string()))?;
    let master = db.server_key(SERVER_KEY).await?;
    let private_key = crate::sealed::seal(master.as_bytes(), SALT, kid.as_bytes(), &pkcs8)
        .ok_or_else(|| KeyError::Crypto("seal failed".into()))?;
    db.insert_signing_key(&StoredKey {
        kid: kid.clone(),
        alg: alg.as_str().to_owned(),
        private_key,
        public_jwk,
        created_at: now(),
        publish_until: None,
    })
    .await?;
    tracing::info!(kid, alg = alg.as_str(), "new signing key");
    Ok(kid)
}

/// First start (no key yet, or none of the configured algorithm): makes one.
pub async fn ensure(db: &Db, alg: SigningAlg, keep_seconds: i64) -> Result<(), KeyError> {
    let active = db
        .signing_keys()
        .await?
        .into_iter()
        .find(|k| k.publish_until.is_none());
    match active {
        Some(k) if k.alg == alg.as_str() => Ok(()),
        Some(_) => rotate(db, alg, keep_seconds).await.map(|_| ()),
        None => generate(db, alg).await.map(|_| ()),
    }
}

/// `provider rotatekeys`: a new signing key; the others stay published for
/// `keep_seconds` (the longest lifetime of a token they signed, plus the cache), and
/// keys whose time is up are dropped. Returns the new kid and how many were dropped.
pub async fn rotate(
    db: &Db,
    alg: SigningAlg,
    keep_seconds: i64,
) -> Result<(String, u64), KeyError> {
    let kid = generate(db, alg).await?;
    db.retire_signing_keys(&kid, now() + keep_seconds + CACHE_SECONDS)
        .await?;
    let dropped = db.drop_unpublished_signing_keys().await?;
    Ok((kid, dropped))
}

/// The newest unretired key, opened.
async fn active_signer(db: &Db) -> Result<Option<Signer>, KeyError> {
    let Some(k) = db
        .signing_keys()
        .await?
        .into_iter()
        .find(|k| k.publish_until.is_none())
    else {
        return Ok(None);
    };
    let alg = SigningAlg::parse(&k.alg)
        .ok_or_else(|| KeyError::Crypto(format!("unknown alg {}", k.alg)))?;
    let master = db.server_key(SERVER_KEY).await?;
    let pkcs8 = crate::sealed::open(master.as_bytes(), SALT, k.kid.as_bytes(), &k.private_key)
        .ok_or_else(|| KeyError::Crypto(format!("key {} does not open", k.kid)))?;
    Ok(Some(Signer {
        key: encoding_key(alg, &pkcs8)?,
        kid: k.kid,
        alg,
    }))
}

/// The published public keys (RFC 7517 §5).
pub async fn jwks(db: &Db) -> Result<JwkSet, KeyError> {
    let keys = db
        .signing_keys()
        .await?
        .into_iter()
        .filter_map(|k| serde_json::from_str::<Jwk>(&k.public_jwk).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// Verifies a JWS signed by one of our published keys (signature only: the caller
/// decides about claims). `None`: not ours, or not a valid signature.
pub async fn verify_ours(db: &Db, token: &str) -> Result<Option<serde_json::Value>, KeyError> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    let set = jwks(db).await?;
    let Some(jwk) = header.kid.as_deref().and_then(|kid| set.find(kid)) else {
        return Ok(None);
    };
    let alg_matches = matches!(
        (&jwk.common.key_algorithm, header.alg),
        (Some(KeyAlgorithm::RS256), Algorithm::RS256)
            | (Some(KeyAlgorithm::ES256), Algorithm::ES256)
    );
    let Ok(key) = DecodingKey::from_jwk(jwk) else {
        return Ok(None);
    };
    if !alg_matches {
        return Ok(None);
    }
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.validate_exp = false;
    v.validate_aud = false;
    v.required_spec_claims.clear();
    Ok(jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
        .ok()
        .map(|d| d.claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_sign_and_their_jwk_verifies() {
        for alg in [SigningAlg::Rs256, SigningAlg::Es256] {
            let pkcs8 = generate_pkcs8(alg).expect("generates");
            let key = encoding_key(alg, &pkcs8).expect("loads");
            let jwk = Jwk::from_encoding_key(&key, alg.jwt()).expect("jwk");
            let s = Signer {
                kid: "k".into(),
                alg,
                key,
            };
            let t = s
                .sign("JWT", &serde_json::json!({"sub": "x"}))
                .expect("signs");
            let mut v = jsonwebtoken::Validation::new(alg.jwt());
            v.required_spec_claims.clear();
            v.validate_exp = false;
            let d = jsonwebtoken::decode::<serde_json::Value>(
                &t,
                &DecodingKey::from_jwk(&jwk).expect("dk"),
                &v,
            );
            assert_eq!(d.expect("verifies").claims["sub"], "x", "{alg:?}");
        }
    }
}
