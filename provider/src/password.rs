//! Password hashing: Argon2id at OWASP's minimum (19 MiB, t=2, p=1).
//!
//! Verification of an unknown user still runs a full Argon2id verification
//! against a dummy hash, so response time does not reveal which usernames exist.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let hash = hasher()
        .hash_password(password.as_bytes())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
    Ok(hash.to_string())
}

static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash("latchkey-dummy-password").unwrap_or_default());

/// Verifies `password` against a stored PHC hash, or against a dummy hash when
/// the user does not exist (`stored = None`) — always the same cost.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY.as_str(), false),
    };
    let ok = match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    };
    ok && real
}

/// Argon2 computations at a time: half the cores (at least one). Each takes
/// 19 MiB and a core for tens of milliseconds, so a burst of logins queues here
/// instead of growing memory without bound, and leaves the other cores to token
/// requests and API calls. On 2 cores: one hash at a time, ≈ 40 logins/s, the
/// provider's RSS under 40 MiB (bench/RESULTS.md).
pub fn concurrent_hashes() -> usize {
    (std::thread::available_parallelism().map_or(2, usize::from) / 2).max(1)
}

static SLOTS: LazyLock<tokio::sync::Semaphore> =
    LazyLock::new(|| tokio::sync::Semaphore::new(concurrent_hashes()));

/// [`verify`] on the blocking pool, bounded by [`SLOTS`].
pub async fn verify_bounded(password: String, stored: Option<String>) -> bool {
    let Ok(_slot) = SLOTS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

/// [`hash`] on the blocking pool, bounded by [`SLOTS`].
pub async fn hash_bounded(password: String) -> anyhow::Result<String> {
    let _slot = SLOTS.acquire().await?;
    tokio::task::spawn_blocking(move || hash(&password)).await?
}

/// Computes the dummy hash ahead of the first login.
pub fn warm_up() {
    LazyLock::force(&DUMMY);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let h = hash("correct horse").expect("hashes");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse", Some(&h)));
        assert!(!verify("wrong", Some(&h)));
        assert!(!verify("latchkey-dummy-password", None));
        assert!(!verify("x", Some("not a phc string")));
    }
}
