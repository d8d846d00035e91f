//! Session tickets: the cookie is the only key.
//!
//! The cookie carries tower-sessions' 128-bit random id (the *ticket*). Nothing derived
//! from it is reversible, and the raw id is written nowhere (not in a store key, a lock
//! key, a log line or a metric). From the ticket and the server key, HKDF-SHA256
//! (RFC 5869) derives, per kind of record:
//! - the **storage id**, under which the store keeps the record (a Redis key is this id,
//!   never the cookie's);
//! - the **AEAD key** that seals the record (ChaCha20-Poly1305, RFC 8439, from aws-lc-rs),
//!   with the kind and the storage id as associated data.
//!
//! So a store dump holds ciphertext under keys that open nothing: without a cookie there
//! is no key, and a storage id pasted into a cookie derives yet another, absent, record.
//! A login record and a session record of the same ticket derive different ids, so one
//! can never be consumed as the other.
//!
//! Server keys (`--session-key-file`, one base64 32-byte key per line) are the HKDF salt;
//! the first line seals, every line opens (rotation: add a new first line, keep the old
//! ones until the idle timeout has passed; records opened with an old key are re-sealed
//! under the new one).

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hkdf::Hkdf;
use sha2::Sha256;
use tower_sessions::session::Id;

/// Format version, first byte of every sealed record; records of the earlier, unsealed
/// format (before 0.2) are refused: those users sign in again.
const VERSION: u8 = 2;
/// The HKDF salt when no server key is configured.
const NO_SERVER_KEY: &[u8] = b"latchkey-bff/v2/no-server-key";

/// What a record is; part of every derivation, so kinds never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An authenticated session (cookie `latchkey-bff`).
    Session,
    /// A pre-login record (state, PKCE verifier, nonce; cookie `latchkey-bff-login`).
    Login,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Session => "session",
            Kind::Login => "login",
        }
    }
}

/// A 32-byte server key.
#[derive(Clone)]
pub struct ServerKey([u8; 32]);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(<redacted>)")
    }
}

impl ServerKey {
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the system RNG works");
        Self(key)
    }

    /// One key: 32 bytes in standard or URL-safe base64.
    pub fn parse(line: &str) -> anyhow::Result<Self> {
        let line = line.trim();
        let bytes = STANDARD
            .decode(line)
            .or_else(|_| URL_SAFE_NO_PAD.decode(line.trim_end_matches('=')))
            .map_err(|_| anyhow::anyhow!("a session key is not base64"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            anyhow::anyhow!("a session key must be 32 bytes (openssl rand -base64 32)")
        })?;
        Ok(Self(key))
    }
}

/// The server keys: `keys[0]` seals, all open. Empty: no server key (salt constant).
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<ServerKey>,
}

/// The derived names and key of one record under one server key.
pub struct Derived {
    pub storage_id: Id,
    key: LessSafeKey,
    aad: Vec<u8>,
}

impl Keyring {
    pub fn new(keys: Vec<ServerKey>) -> Self {
        Self { keys }
    }

    /// Reads a key file: one base64 key per line, `#` comments and blank lines ignored.
    pub fn from_file(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("session key file {}: {e}", path.display()))?;
        let keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(ServerKey::parse)
            .collect::<anyhow::Result<Vec<_>>>()?;
        anyhow::ensure!(
            !keys.is_empty(),
            "session key file {} has no key",
            path.display()
        );
        Ok(Self { keys })
    }

    /// Derivations under each server key, the sealing one first.
    pub fn derive_all(&self, ticket: &Id, kind: Kind) -> Vec<Derived> {
        if self.keys.is_empty() {
            return vec![derive(NO_SERVER_KEY, ticket, kind)];
        }
        self.keys
            .iter()
            .map(|k| derive(&k.0, ticket, kind))
            .collect()
    }

    /// Only the storage id under the sealing key (the near cache's key): no AEAD key set-up.
    pub fn storage_id(&self, ticket: &Id, kind: Kind) -> Id {
        let salt = self.keys.first().map_or(NO_SERVER_KEY, |k| &k.0[..]);
        let hk = Hkdf::<Sha256>::new(Some(salt), &ticket.0.to_le_bytes());
        let mut id = [0u8; 16];
        let _ = hk.expand(storage_id_info(kind).as_bytes(), &mut id);
        Id(i128::from_le_bytes(id))
    }

    /// The derivation that seals (under the first server key).
    pub fn derive(&self, ticket: &Id, kind: Kind) -> Derived {
        match self.keys.first() {
            Some(key) => derive(&key.0, ticket, kind),
            None => derive(NO_SERVER_KEY, ticket, kind),
        }
    }
}

fn storage_id_info(kind: Kind) -> &'static str {
    match kind {
        Kind::Session => "latchkey-bff/v2/session/storage-id",
        Kind::Login => "latchkey-bff/v2/login/storage-id",
    }
}

fn derive(salt: &[u8], ticket: &Id, kind: Kind) -> Derived {
    let hk = Hkdf::<Sha256>::new(Some(salt), &ticket.0.to_le_bytes());
    let label = kind.label();
    let mut id = [0u8; 16];
    let mut key = [0u8; 32];
    // Both outputs are far below HKDF's 255 × 32-byte limit: expand cannot fail.
    let _ = hk.expand(storage_id_info(kind).as_bytes(), &mut id);
    let _ = hk.expand(
        format!("latchkey-bff/v2/{label}/aead-key").as_bytes(),
        &mut key,
    );
    let storage_id = Id(i128::from_le_bytes(id));
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("32-byte ChaCha20 key");
    let mut aad = format!("latchkey-bff/v2/{label}/").into_bytes();
    aad.extend_from_slice(&id);
    Derived {
        storage_id,
        key: LessSafeKey::new(unbound),
        aad,
    }
}

impl Derived {
    /// `VERSION ‖ nonce ‖ ciphertext ‖ tag`, base64: a fresh random 96-bit nonce per seal
    /// (a session is sealed a few thousand times at most, far from the 2³² bound).
    pub fn seal(&self, plaintext: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .expect("the system RNG works");
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&self.aad),
                &mut buffer,
            )
            .expect("ChaCha20-Poly1305 seals any length we write");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        STANDARD.encode(out)
    }

    /// The plaintext, or `None` for anything that is not a record sealed with this key
    /// (tampered, truncated, older format, another ticket's record).
    pub fn open(&self, sealed: &str) -> Option<Vec<u8>> {
        let bytes = STANDARD.decode(sealed).ok()?;
        let (&version, rest) = bytes.split_first()?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(&self.aad), &mut buffer)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> Id {
        Id::default()
    }

    #[test]
    fn seal_open_round_trip_and_kinds_differ() {
        let ring = Keyring::default();
        let t = ticket();
        let session = ring.derive(&t, Kind::Session);
        let login = ring.derive(&t, Kind::Login);
        assert_ne!(session.storage_id, login.storage_id);
        assert_ne!(
            session.storage_id, t,
            "the cookie's id is never the storage id"
        );
        let sealed = session.seal(b"hello");
        assert_eq!(session.open(&sealed).as_deref(), Some(&b"hello"[..]));
        assert_eq!(login.open(&sealed), None, "a login key opens no session");
        let other = ring.derive(&ticket(), Kind::Session);
        assert_eq!(
            other.open(&sealed),
            None,
            "one ticket never opens another's record"
        );
    }

    #[test]
    fn tampered_truncated_and_garbage_are_refused() {
        let d = Keyring::default().derive(&ticket(), Kind::Session);
        let sealed = d.seal(b"{\"a\":1}");
        let mut bytes = STANDARD.decode(&sealed).expect("b64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(d.open(&STANDARD.encode(&bytes)), None);
        bytes[last] ^= 1;
        bytes[0] = 1; // older format version
        assert_eq!(d.open(&STANDARD.encode(&bytes)), None);
        for bad in ["", "AA==", "!!!", &sealed[..sealed.len() / 2]] {
            assert_eq!(d.open(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn deterministic_per_key_and_rotation_opens_old() {
        let old = ServerKey::random();
        let new = ServerKey::random();
        let t = ticket();
        let before = Keyring::new(vec![old.clone()]);
        let after = Keyring::new(vec![new, old]);
        let sealed = before.derive(&t, Kind::Session).seal(b"x");
        let all = after.derive_all(&t, Kind::Session);
        assert_eq!(all.len(), 2);
        assert_ne!(all[0].storage_id, all[1].storage_id);
        assert_eq!(
            all[1].storage_id,
            before.derive(&t, Kind::Session).storage_id
        );
        assert_eq!(all[1].open(&sealed).as_deref(), Some(&b"x"[..]));
        assert_eq!(all[0].open(&sealed), None);
        assert_eq!(after.storage_id(&t, Kind::Session), all[0].storage_id);
    }

    #[test]
    fn key_parsing() {
        let line = STANDARD.encode([7u8; 32]);
        assert!(ServerKey::parse(&line).is_ok());
        assert!(ServerKey::parse(&URL_SAFE_NO_PAD.encode([7u8; 32])).is_ok());
        assert!(ServerKey::parse(&STANDARD.encode([7u8; 16])).is_err());
        assert!(ServerKey::parse("not base64 at all").is_err());
    }
}
