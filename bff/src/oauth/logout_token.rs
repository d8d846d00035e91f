//! OpenID Connect Back-Channel Logout 1.0 logout tokens: the checks of §2.6.
//!
//! A logout token is a JWT signed by the provider (§2.4) with `iss`, `aud`, `iat`, `jti`,
//! `events` holding the back-channel-logout member, and `sid` and/or `sub`; it must not
//! carry a `nonce` (so an ID Token can never pass for one, §2.4). This module checks one
//! token against a key set and the clock; remembering `jti` (§2.6 step 5, replay) is the
//! session store's job ([`crate::session::replay`]), done by the caller once everything
//! here has passed.
//!
//! Windows: `iat` at most [`LEEWAY_SECONDS`] in the future and at most
//! [`MAX_AGE_SECONDS`] (+ leeway) in the past; `exp`, when present (Back-Channel Logout
//! 1.0 errata set 1 makes it required; earlier providers omit it), not passed (+ leeway).
//! A `jti` is therefore remembered for [`JTI_TTL_SECONDS`], longer than any token
//! accepted by the `iat` window.

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::{Map, Value};

use super::id_token::{Invalid, LEEWAY_SECONDS};
use super::jwks::{ALLOWED, find_key};

/// §2.4: the `events` member that makes a JWT a logout token.
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// §2.6 step 3 ("iat … can be used to reject tokens issued too far away from the current
/// time"): the provider sends the token right after the logout, retries within seconds.
pub const MAX_AGE_SECONDS: i64 = 300;
const LEEWAY: i64 = LEEWAY_SECONDS.cast_signed();
/// How long a seen `jti` is remembered: the whole `iat` window, both leeways included.
pub const JTI_TTL_SECONDS: u64 = MAX_AGE_SECONDS.cast_unsigned() + 2 * LEEWAY_SECONDS;
/// Longest token read (a logout token is a few hundred bytes).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest `sub`, `sid` or `jti` accepted.
const MAX_CLAIM_BYTES: usize = 256;

/// What the provider's logout token says to end.
#[derive(Debug, PartialEq, Eq)]
pub struct Logout {
    pub sub: Option<String>,
    pub sid: Option<String>,
    pub jti: String,
}

fn refused(reason: &str) -> Invalid {
    Invalid::Token(reason.to_owned())
}

/// An optional string claim, non-empty and short; any other type is refused.
fn string_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<String>, Invalid> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s))
            if !s.is_empty() && s.len() <= MAX_CLAIM_BYTES && !s.chars().any(char::is_control) =>
        {
            Ok(Some(s.clone()))
        }
        // Control characters (NUL…) too: these name store keys and index entries.
        Some(_) => Err(refused(&format!(
            "{name} is not a short non-empty string without control characters"
        ))),
    }
}

/// §2.6: checks one logout token; `now` in unix seconds.
pub fn validate(
    token: &str,
    keys: &[Jwk],
    issuer: &str,
    client_id: &str,
    now: i64,
) -> Result<Logout, Invalid> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(refused("token too long"));
    }
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| refused(&format!("header: {e}")))?;
    // Step 1 (as OIDC Core §3.1.3.7 steps 6–8): the alg the provider signs with, never
    // `none` nor HS* (the public key must not double as an HMAC secret).
    if !ALLOWED.contains(&header.alg) {
        return Err(refused(&format!("algorithm {:?} refused", header.alg)));
    }
    // §2.4 explicit typing: `logout+jwt` when present (older providers send none).
    if let Some(typ) = header.typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if typ != "logout+jwt" && typ != "application/logout+jwt" {
            return Err(refused("typ is not logout+jwt"));
        }
    }
    let key = find_key(keys, header.kid.as_deref(), header.alg)
        .ok_or_else(|| Invalid::UnknownKey(header.kid.clone()))?;
    let key = DecodingKey::from_jwk(key).map_err(|e| refused(&format!("key: {e}")))?;
    // Step 2 (OIDC Core §3.1.3.7 steps 2, 3): iss exactly, aud contains us; exp when present.
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECONDS;
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["iss", "aud"]);
    let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| refused(&format!("{e}")))?
        .claims;
    // Step 3: iat present and inside the window.
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| refused("iat missing or not a number"))?;
    if iat > now + LEEWAY || iat < now - MAX_AGE_SECONDS - LEEWAY {
        return Err(refused("iat outside the accepted window"));
    }
    // Step 4 (§2.4): events holds the back-channel member, itself a JSON object.
    let event = claims
        .get("events")
        .and_then(Value::as_object)
        .and_then(|events| events.get(BACKCHANNEL_EVENT));
    if !event.is_some_and(Value::is_object) {
        return Err(refused("events lacks the back-channel logout member"));
    }
    // Step 5 (§2.4): a nonce, even null, means this is not a logout token.
    if claims.contains_key("nonce") {
        return Err(refused("nonce present"));
    }
    // §2.4: sub and/or sid.
    let sub = string_claim(&claims, "sub")?;
    let sid = string_claim(&claims, "sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(refused("neither sub nor sid"));
    }
    // §2.4: jti required (its replay check is the caller's, step 6).
    let jti = string_claim(&claims, "jti")?.ok_or_else(|| refused("jti missing"))?;
    Ok(Logout { sub, sid, jti })
}

#[cfg(test)]
mod tests;
