//! OpenID Connect ID Token validation, OIDC Core 1.0 §3.1.3.7 (authorization code flow).
//!
//! Signature against the provider's JWKS ([`super::jwks`]: cached, refetched on an
//! unknown key id). Only asymmetric algorithms are accepted (RS*, PS*, ES256/384):
//! `none` and the HMAC family are refused (§3.1.3.7 steps 6–8 allow HS* with the client
//! secret; this client does not).

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use url::Url;

pub use super::jwks::parse_jwks;
use super::jwks::{ALLOWED, KeySet, Refetch, find_key};
use crate::secret::IdToken;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECONDS: u64 = 60;
/// §3.1.3.7 step 10: `iat` "can be used to reject tokens that were issued too far away
/// from the current time"; the token comes straight from the token endpoint, so minutes.
const MAX_AGE_SECONDS: i64 = 600;
/// Claims kept as user info: the session record stays small.
const USER_CLAIMS: [&str; 4] = ["sub", "name", "preferred_username", "email"];

/// Why an ID Token was refused. The text goes to the log, never to the browser.
#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("no key in the provider's JWKS matches the token (kid {0:?})")]
    UnknownKey(Option<String>),
    #[error("cannot validate: {0}")]
    NotConfigured(&'static str),
    #[error("JWKS: {0}")]
    Jwks(String),
    #[error("{0}")]
    Token(String),
}

/// What the relying party expects of the token.
pub struct Expected<'a> {
    /// Exactly the discovered `issuer` (§3.1.3.7 step 2).
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The `nonce` sent in the authorization request, if one was (§3.1.3.7 step 11).
    pub nonce: Option<&'a str>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    // Tried in order: a list first (a single string is already checked by jsonwebtoken).
    Many(Vec<String>),
    One(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Claims {
    aud: Audience,
    azp: Option<String>,
    nonce: Option<String>,
    iat: i64,
    /// The provider's session (OIDC Back-Channel Logout §2.4, Front-Channel Logout §3).
    sid: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

/// What a valid ID Token tells the BFF.
#[derive(Debug)]
pub struct Verified {
    /// Minimal user claims (`sub`, `name`, `preferred_username`, `email`).
    pub user: serde_json::Value,
    /// The provider's session id, the back-channel logout index's key (≤ 256 bytes).
    pub sid: Option<String>,
}

/// Checks one token against a key set; `now` in unix seconds.
pub fn validate(
    token: &str,
    keys: &[Jwk],
    expected: &Expected<'_>,
    now: i64,
) -> Result<Verified, Invalid> {
    let bad = |what: &str| Invalid::Token(what.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&format!("header: {e}")))?;
    if !ALLOWED.contains(&header.alg) {
        return Err(bad(&format!("algorithm {:?} refused", header.alg)));
    }
    let key = find_key(keys, header.kid.as_deref(), header.alg)
        .ok_or_else(|| Invalid::UnknownKey(header.kid.clone()))?;
    let key = DecodingKey::from_jwk(key).map_err(|e| bad(&format!("key: {e}")))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECONDS;
    // Step 2: iss; step 3: aud contains client_id; step 9: exp (required, in the future).
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "iat"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation)
        .map_err(|e| bad(&format!("{e}")))?;
    let claims = data.claims;
    // Steps 4–5: several audiences → `azp` must be present; if present, it is us.
    let several = matches!(&claims.aud, Audience::Many(list) if list.len() > 1);
    match &claims.azp {
        Some(azp) if azp != expected.client_id => return Err(bad("azp is another client")),
        None if several => return Err(bad("several audiences and no azp")),
        _ => {}
    }
    // Step 10: iat not in the future, not too old.
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
    if claims.iat > now + leeway || claims.iat < now - MAX_AGE_SECONDS - leeway {
        return Err(bad("iat too far from now"));
    }
    // Step 11: the nonce we sent must come back, compared in constant time.
    if let Some(sent) = expected.nonce {
        let got = claims
            .nonce
            .as_deref()
            .ok_or_else(|| bad("nonce missing"))?;
        if !bool::from(got.as_bytes().ct_eq(sent.as_bytes())) {
            return Err(bad("nonce mismatch"));
        }
    }
    let sid = claims.sid.filter(|sid| !sid.is_empty() && sid.len() <= 256);
    Ok(Verified {
        user: user_claims(&claims.rest),
        sid,
    })
}

fn user_claims(all: &serde_json::Map<String, serde_json::Value>) -> serde_json::Value {
    let mut user = serde_json::Map::new();
    for name in USER_CLAIMS {
        if let Some(serde_json::Value::String(value)) = all.get(name)
            && value.len() <= 256
        {
            user.insert(name.to_owned(), serde_json::Value::String(value.clone()));
        }
    }
    serde_json::Value::Object(user)
}

/// Validates ID Tokens of one provider, with its JWKS cached.
pub struct Verifier {
    issuer: Option<String>,
    client_id: String,
    keys: KeySet,
}

impl Verifier {
    pub fn new(issuer: Option<String>, client_id: String, jwks_uri: Option<Url>) -> Self {
        Self {
            issuer,
            client_id,
            keys: KeySet::new(jwks_uri),
        }
    }

    /// The provider's keys (shared with the logout-token check).
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The discovered issuer, if any.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Validates `token`; on an unknown key fetches the JWKS and tries again. The refetch
    /// is not rate-limited ([`Refetch::Always`]): ID Tokens come from the token endpoint
    /// over the back channel (OIDC Core §3.1.3.7 step 1, TLS), never from the browser.
    pub async fn verify(
        &self,
        http: &reqwest::Client,
        token: &IdToken,
        nonce: Option<&str>,
    ) -> Result<Verified, Invalid> {
        let issuer = self
            .issuer
            .as_deref()
            .ok_or(Invalid::NotConfigured("no issuer known (use --issuer)"))?;
        let expected = Expected {
            issuer,
            client_id: &self.client_id,
            nonce,
        };
        let now = crate::session::now();
        self.keys
            .check(http, Refetch::Always, |keys| {
                validate(token.expose(), keys, &expected, now)
            })
            .await
    }
}

#[cfg(test)]
mod tests;
