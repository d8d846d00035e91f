//! The refresh grace window's memory: the pair a rotation issued, sealed so that
//! only the holder of the *old* refresh token can read it back.
//!
//! A retry of a just-rotated refresh token must get the same successor pair,
//! however often (else every retry forks a new live chain and reuse detection
//! never fires). The database keeps only hashes of tokens, so the pair is kept
//! encrypted with ChaCha20-Poly1305 (aws-lc-rs) under a key derived by
//! HKDF-SHA256 (RFC 5869) from the old refresh token itself: 256 random bits that
//! only its holder has, and that the database never stores. The row id is the
//! associated data, so a sealed pair cannot be moved to another row. Nothing at
//! rest is usable without the old token — and whoever holds the old token could
//! have refreshed with it anyway.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::PlainToken;

/// The pair a rotation issued, as the client received it.
#[derive(Serialize, Deserialize)]
pub struct Successor {
    pub access_token: String,
    pub refresh_token: String,
    pub scope: String,
    /// When the access token expires (so a retry reports the time left).
    pub access_expires_at: i64,
}

impl std::fmt::Debug for Successor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Successor(<redacted>)")
    }
}

const SALT: &[u8] = b"latchkey/refresh-successor/v1";

/// Seals `s` for the holder of `old` (base64url of nonce ‖ ciphertext ‖ tag).
pub fn seal(old: &PlainToken, row_id: &str, s: &Successor) -> Option<String> {
    let plain = Zeroizing::new(serde_json::to_vec(s).ok()?);
    crate::sealed::seal(old.expose().as_bytes(), SALT, row_id.as_bytes(), &plain)
}

/// Opens what [`seal`] made with the same `old` token and row id; `None` otherwise.
pub fn open(old: &PlainToken, row_id: &str, sealed: &str) -> Option<Successor> {
    let plain = crate::sealed::open(old.expose().as_bytes(), SALT, row_id.as_bytes(), sealed)?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_old_token_and_the_same_row_open_it() {
        let old = PlainToken::generate("lkr_");
        let s = Successor {
            access_token: "lka_a".into(),
            refresh_token: "lkr_b".into(),
            scope: "read".into(),
            access_expires_at: 7,
        };
        let sealed = seal(&old, "row1", &s).expect("seals");
        assert!(!sealed.contains("lka_a"));
        let back = open(&old, "row1", &sealed).expect("opens");
        assert_eq!(back.refresh_token, "lkr_b");
        assert!(open(&PlainToken::generate("lkr_"), "row1", &sealed).is_none());
        assert!(open(&old, "row2", &sealed).is_none());
        assert!(open(&old, "row1", "garbage").is_none());
    }
}
