//! ID Tokens (OIDC Core §2, §3.1.3.6): minted at the token endpoint for a code whose
//! scope has `openid`, and again on each refresh of its family (§12.2: no nonce then;
//! the same `auth_time` and `sid`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::claims::{self, Subject};
use super::keys::KeyError;
use crate::AuthServer;
use crate::model::{Application, User};
use crate::scope::Scopes;
use crate::storage::now;

/// What the ID Token says beyond the user: the login it comes from.
pub struct Login<'a> {
    pub nonce: Option<&'a str>,
    pub auth_time: Option<i64>,
    pub sid: Option<&'a str>,
}

/// `at_hash` (OIDC Core §3.1.3.6): the left half of the SHA-256 of the access token
/// (SHA-256 for both RS256 and ES256), base64url.
pub fn at_hash(access_token: &str) -> String {
    let d = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&d[..16])
}

pub async fn mint(
    server: &AuthServer,
    app: &Application,
    user: &User,
    scope: &Scopes,
    access_token: &str,
    login: &Login<'_>,
) -> Result<String, KeyError> {
    let signer = server.oidc.keys.signer(&server.db).await?;
    let t = now();
    let mut c = claims::for_scope(
        &Subject {
            id: &user.id,
            username: &user.username,
            email: &user.email,
        },
        scope,
    );
    let s = &server.settings;
    let mut set = |k: &str, v: Value| {
        c.insert(k.to_owned(), v);
    };
    set("iss", json!(s.issuer));
    set("aud", json!(app.client_id));
    // azp: the party the token was issued to (§2); the sole audience here, sent anyway
    // (allowed, and some RPs look for it).
    set("azp", json!(app.client_id));
    set("iat", json!(t));
    set("exp", json!(t + s.oidc.id_token_expire_seconds));
    set("at_hash", json!(at_hash(access_token)));
    if let Some(a) = login.auth_time {
        set("auth_time", json!(a));
    }
    if let Some(n) = login.nonce {
        set("nonce", json!(n));
    }
    if let Some(sid) = login.sid {
        set("sid", json!(sid));
    }
    signer.sign("JWT", &c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn at_hash_is_the_left_half_of_sha256() {
        // Computed independently: base64url(sha256(token)[:16]) with Python's hashlib.
        assert_eq!(
            super::at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNd8cdTuFiCIyiCHn1ZVJKIzk"),
            "G2AQDZhafX-igOclV1Q-uA"
        );
    }
}
