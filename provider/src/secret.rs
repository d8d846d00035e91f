//! Secrets, tokens and their hashes.
//!
//! Every secret the provider hands out (client secret, authorization code,
//! access and refresh token, login session id) is ≥ 256 bits from the OS RNG,
//! shown once as a [`PlainToken`] and stored only as a [`TokenHash`] (SHA-256:
//! enough for high-entropy random values, and microseconds to verify, unlike a
//! password KDF — django-oauth-toolkit's PBKDF2 secrets cap its token endpoint).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret value in clear: shown to its owner once, never logged. No `PartialEq`:
/// compare secrets through [`TokenHash::matches`] (constant time), never `==`.
#[derive(Clone)]
pub struct PlainToken(String);

impl PlainToken {
    /// 32 random bytes, base64url, behind a recognisable prefix (for secret scanners).
    pub fn generate(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Wraps a value received from a client.
    pub fn from_client(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }
}

impl std::fmt::Debug for PlainToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainToken(<redacted>)")
    }
}

/// SHA-256 hex digest of a secret: what the database stores and looks up. No
/// `PartialEq` either: [`TokenHash::matches`] compares in constant time.
#[derive(Clone, Debug)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(value: &str) -> Self {
        Self(hex(&Sha256::digest(value.as_bytes())))
    }

    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison (the stored digest against a presented secret's).
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

/// HMAC-SHA256 key for values the server issues and later checks (CSRF tokens).
pub struct SigningKey(zeroize::Zeroizing<Vec<u8>>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    pub fn new(secret: &str) -> Self {
        Self(zeroize::Zeroizing::new(secret.as_bytes().to_vec()))
    }

    fn tag(&self, nonce: &[u8]) -> Option<[u8; 16]> {
        use hmac::{KeyInit as _, Mac as _};
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.0).ok()?;
        mac.update(b"latchkey/csrf/v1");
        mac.update(nonce);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&full[..16]);
        Some(tag)
    }

    /// A fresh token: 16 random bytes and their 16-byte tag, base64url (43 characters).
    pub fn issue(&self) -> String {
        let mut raw = [0u8; 32];
        rand::rng().fill_bytes(&mut raw[..16]);
        let (nonce, tag) = raw.split_at_mut(16);
        if let Some(t) = self.tag(nonce) {
            tag.copy_from_slice(&t);
        }
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// Whether this key issued `token` (tag compared in constant time).
    pub fn issued(&self, token: &str) -> bool {
        let Ok(raw) = URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        if raw.len() != 32 {
            return false;
        }
        let (nonce, tag) = raw.split_at(16);
        self.tag(nonce)
            .is_some_and(|t| bool::from(t.as_slice().ct_eq(tag)))
    }
}

/// Constant-time equality of two strings (CSRF tokens, secrets).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// The prefixes of each kind of secret.
pub mod prefix {
    pub const ACCESS: &str = "lka_";
    pub const REFRESH: &str = "lkr_";
    pub const CODE: &str = "lkc_";
    pub const DEVICE_CODE: &str = "lkd_";
    pub const CLIENT_SECRET: &str = "lks_";
    pub const SESSION: &str = "";
    pub const CSRF: &str = "";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_random_and_prefixed() {
        let a = PlainToken::generate(prefix::ACCESS);
        let b = PlainToken::generate(prefix::ACCESS);
        assert!(a.expose().starts_with("lka_"));
        assert_eq!(a.expose().len(), 4 + 43);
        assert!(!a.hash().matches(&b.hash()));
    }

    #[test]
    fn only_issued_csrf_tokens_verify() {
        let k = SigningKey::new("k1");
        let t = k.issue();
        assert_eq!(t.len(), 43);
        assert!(k.issued(&t));
        assert!(!SigningKey::new("k2").issued(&t));
        assert!(!k.issued("a"));
        assert!(!k.issued(PlainToken::generate("").expose()));
    }

    #[test]
    fn hash_is_sha256_hex_and_debug_is_redacted() {
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = PlainToken::from_client("super-secret");
        assert!(!format!("{t:?}").contains("super-secret"));
        assert!(TokenHash::of("x").matches(&TokenHash::of("x")));
        assert!(!TokenHash::of("x").matches(&TokenHash::of("y")));
    }
}
