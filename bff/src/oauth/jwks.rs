//! The provider's signing keys (OIDC Discovery §3 `jwks_uri`, RFC 7517 JWK Set), shared
//! by the two kinds of JWT the BFF checks: ID Tokens ([`super::id_token`]) and
//! back-channel logout tokens ([`super::logout_token`]).
//!
//! Cached; refetched when a token names a key id the cache does not know (key rotation,
//! OIDC Core §10.1.1), one fetch at a time. A logout token comes from anyone who can reach
//! `/auth/backchannel-logout`, so for those the refetch is also bounded in time
//! ([`Refetch::Bounded`], at most one per [`MIN_REFETCH_INTERVAL`], failed fetches
//! included): a flood of forged tokens with made-up key ids costs the provider one JWKS
//! request per interval, not one per token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use tokio::sync::{Mutex, RwLock};
use url::Url;

use super::id_token::Invalid;
use crate::oauth::provider::PROVIDER_TIMEOUT;

/// Asymmetric algorithms only: `none` and the HMAC family are refused (an HS* token
/// "signed" with the public key as the secret is the classic confusion attack).
pub const ALLOWED: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Bound on refetches caused by back-channel logout tokens.
pub const MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);

/// Who may cause a refetch on an unknown key id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refetch {
    /// ID Tokens: they come from the token endpoint over the back channel (OIDC Core
    /// §3.1.3.7 step 1), never from the browser; one fetch at a time.
    Always,
    /// Logout tokens: anyone can post one; at most one fetch per interval.
    Bounded,
}

/// The key for `kid` (or, without a `kid`, the only signing key of the right type),
/// whose own `alg`, when it states one, is the token's.
pub fn find_key<'a>(keys: &'a [Jwk], kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    let fits = |key: &&Jwk| {
        let kind = matches!(
            (&key.algorithm, alg),
            (
                AlgorithmParameters::RSA(_),
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ) | (
                AlgorithmParameters::EllipticCurve(_),
                Algorithm::ES256 | Algorithm::ES384
            )
        );
        let same_alg = key
            .common
            .key_algorithm
            .is_none_or(|k| k.to_string() == format!("{alg:?}"));
        kind && same_alg
    };
    let mut candidates = keys.iter().filter(fits);
    match kid {
        Some(kid) => candidates.find(|k| k.common.key_id.as_deref() == Some(kid)),
        None => {
            let first = candidates.next();
            // RFC 7517 §4.5: without `kid` the choice must be unambiguous.
            if candidates.next().is_some() {
                None
            } else {
                first
            }
        }
    }
}

/// Parses a JWK Set (RFC 7517 §5), skipping keys this crate cannot use rather than
/// refusing the whole set.
pub fn parse_jwks(body: &serde_json::Value) -> Vec<Jwk> {
    body.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .filter(|k| {
                    k.common
                        .public_key_use
                        .as_ref()
                        .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Default)]
struct Cached {
    keys: Arc<Vec<Jwk>>,
    /// The last fetch attempt (successful or not).
    attempted: Option<Instant>,
}

/// The provider's key set, cached.
pub struct KeySet {
    jwks_uri: Option<Url>,
    cache: RwLock<Cached>,
    /// One fetch at a time.
    fetching: Mutex<()>,
    fetches: AtomicU64,
}

impl KeySet {
    pub fn new(jwks_uri: Option<Url>) -> Self {
        Self {
            jwks_uri,
            cache: RwLock::default(),
            fetching: Mutex::new(()),
            fetches: AtomicU64::new(0),
        }
    }

    /// JWKS requests made so far (a metric).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Runs `check` on the cached keys; when it says [`Invalid::UnknownKey`], refetches
    /// (as `refetch` allows) and runs it once more.
    pub async fn check<T>(
        &self,
        http: &reqwest::Client,
        refetch: Refetch,
        check: impl Fn(&[Jwk]) -> Result<T, Invalid>,
    ) -> Result<T, Invalid> {
        let (keys, attempted) = self.current().await;
        match check(&keys) {
            Err(Invalid::UnknownKey(kid)) => match self.refetch(http, refetch, attempted).await? {
                Some(fresh) => check(&fresh),
                None => Err(Invalid::UnknownKey(kid)),
            },
            other => other,
        }
    }

    async fn current(&self) -> (Arc<Vec<Jwk>>, Option<Instant>) {
        let cache = self.cache.read().await;
        (cache.keys.clone(), cache.attempted)
    }

    /// Fresh keys, or `None` when the bound forbids a fetch now.
    async fn refetch(
        &self,
        http: &reqwest::Client,
        refetch: Refetch,
        seen: Option<Instant>,
    ) -> Result<Option<Arc<Vec<Jwk>>>, Invalid> {
        let _one = self.fetching.lock().await;
        let (keys, attempted) = self.current().await;
        if attempted != seen {
            return Ok(Some(keys)); // fetched by someone else while we waited
        }
        let recent = attempted.is_some_and(|at| at.elapsed() < MIN_REFETCH_INTERVAL);
        if refetch == Refetch::Bounded && recent {
            return Ok(None);
        }
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetch(http).await;
        let mut cache = self.cache.write().await;
        cache.attempted = Some(Instant::now());
        let fresh = Arc::new(fetched?);
        cache.keys = fresh.clone();
        Ok(Some(fresh))
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<Vec<Jwk>, Invalid> {
        let url = self.jwks_uri.clone().ok_or(Invalid::NotConfigured(
            "no jwks_uri (use --issuer or --jwks-url)",
        ))?;
        let response = http
            .get(url)
            .timeout(PROVIDER_TIMEOUT)
            .send()
            .await
            .map_err(|e| Invalid::Jwks(e.to_string()))?;
        if !response.status().is_success() {
            return Err(Invalid::Jwks(format!("HTTP {}", response.status())));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| Invalid::Jwks(e.to_string()))?;
        let keys = parse_jwks(&body);
        tracing::info!(keys = keys.len(), "provider JWKS fetched");
        Ok(keys)
    }
}
