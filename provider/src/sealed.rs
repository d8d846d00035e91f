//! Sealing values at rest: ChaCha20-Poly1305 (aws-lc-rs) under a key derived by
//! HKDF-SHA256 (RFC 5869) from key material the caller holds, with associated data
//! that binds the sealed value to its row. Used for the refresh grace window's
//! successor pair and the OpenID Connect signing keys.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use zeroize::Zeroizing;

const INFO: &[u8] = b"chacha20-poly1305 key";

fn key(ikm: &[u8], salt: &[u8]) -> Option<LessSafeKey> {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(INFO, okm.as_mut_slice()).ok()?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, okm.as_slice()).ok()?;
    Some(LessSafeKey::new(unbound))
}

/// base64url of nonce ‖ ciphertext ‖ tag.
pub fn seal(ikm: &[u8], salt: &[u8], aad: &[u8], plain: &[u8]) -> Option<String> {
    let key = key(ikm, salt)?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let mut buf = plain.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut buf,
    )
    .ok()?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&buf);
    Some(URL_SAFE_NO_PAD.encode(out))
}

/// Opens what [`seal`] made with the same key material, salt and associated data.
pub fn open(ikm: &[u8], salt: &[u8], aad: &[u8], sealed: &str) -> Option<Zeroizing<Vec<u8>>> {
    let key = key(ikm, salt)?;
    let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
    if raw.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ct) = raw.split_at(NONCE_LEN);
    let mut buf = Zeroizing::new(ct.to_vec());
    let n = key
        .open_in_place(
            Nonce::try_assume_unique_for_key(nonce).ok()?,
            Aad::from(aad),
            buf.as_mut_slice(),
        )
        .ok()?
        .len();
    buf.truncate(n);
    Some(buf)
}
