//! Password hashing: Argon2id at OWASP's minimum (19 MiB, t=2, p=1).
//!
//! Verification of an unknown user still runs a full Argon2id verification
//! against a dummy hash, so response time does not reveal which usernames exist.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::Rng as _;
use subtle::ConstantTimeEq as _;

/// A plaintext password, as typed: redacted in `Debug`, no `PartialEq` (compare
/// only through [`verify`]), and no `.hash()` (only [`hash`] turns it into a PHC
/// string, never a fast digest). Zeroised when dropped.
#[derive(Clone)]
pub struct Password(zeroize::Zeroizing<String>);

impl Password {
    pub fn new(value: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(value.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// OWASP's minimum for Argon2id: 19 MiB, 2 passes, 1 lane.
fn params() -> Params {
    Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid")
}

/// Stored hashes asking for more memory than this are refused, not computed.
const MAX_BLOCKS: u32 = 256 * 1024;

/// Argon2's working memory. Its *capacity* is above glibc's largest dynamic mmap
/// threshold (32 MiB on 64-bit), so it is always a private `mmap` and its `free` an
/// immediate `munmap`. (A plain 19 MiB `Vec` made glibc raise its mmap threshold
/// after the first free; later buffers came from per-thread arenas and stayed:
/// hundreds of MiB of RSS after a burst of logins.) Only the 19 MiB Argon2 writes
/// are ever resident.
const UNMAPPED_ON_FREE: usize = 33 * 1024 * 1024 / Block::SIZE;

/// Between hashes the buffers (at most one per slot) are kept, so a run of logins
/// does not pay 19 MiB of page faults each (≈ 70 % more CPU per hash, measured);
/// [`release_idle`] unmaps them once unused for [`KEEP_FOR`]. The kernel zeroes
/// unmapped pages before any reuse.
static KEPT: Mutex<Vec<(Vec<Block>, Instant)>> = Mutex::new(Vec::new());
const KEEP_FOR: Duration = Duration::from_millis(500);

fn with_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    let kept = KEPT.lock().ok().and_then(|mut k| k.pop()).map(|(m, _)| m);
    let mut memory = kept.filter(|m| m.len() == blocks).unwrap_or_else(|| {
        let mut m = Vec::with_capacity(blocks.max(UNMAPPED_ON_FREE));
        m.resize(blocks, Block::default());
        m
    });
    let out = f(&mut memory);
    if let Ok(mut kept) = KEPT.lock()
        && kept.len() < concurrent_hashes()
    {
        kept.push((memory, Instant::now()));
    }
    out
}

/// Unmaps the buffers no hash has used for [`KEEP_FOR`].
pub fn release_idle() {
    if let Ok(mut kept) = KEPT.lock() {
        kept.retain(|(_, used)| used.elapsed() < KEEP_FOR);
    }
}

/// Runs [`release_idle`] four times a second until the handle is aborted.
pub fn spawn_releaser() -> tokio::task::JoinHandle<()> {
    tokio::spawn(async {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tick.tick().await;
            release_idle();
        }
    })
}

/// Argon2 of `password` with `salt` into `out`, in pooled memory.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> argon2::Result<()> {
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    with_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password, salt, out, memory)
    })
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &Password) -> anyhow::Result<String> {
    let password = password.expose();
    let err = |e: &dyn std::fmt::Display| anyhow::anyhow!("argon2: {e}");
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let params = params();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    compute(
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password.as_bytes(),
        &salt,
        &mut out,
    )
    .map_err(|e| err(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| err(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| err(&e))?),
        hash: Some(Output::new(&out).map_err(|e| err(&e))?),
    };
    Ok(phc.to_string())
}

static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash(&Password::new("latchkey-dummy-password")).unwrap_or_default());

/// Verifies `password` against a stored PHC hash, or against a dummy hash when
/// the user does not exist (`stored = None`) — always the same cost.
pub fn verify(password: &Password, stored: Option<&str>) -> bool {
    let (phc, real) = match stored {
        Some(s) => (s, true),
        None => (DUMMY.as_str(), false),
    };
    matches(password.expose(), phc) && real
}

fn matches(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::new(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
    let Ok(version) = version else { return false };
    if params.m_cost() > MAX_BLOCKS {
        return false;
    }
    let mut out = vec![0u8; expected.len()];
    compute(
        algorithm,
        version,
        params,
        password.as_bytes(),
        &salt,
        &mut out,
    )
    .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
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

/// The bounded queue of login verifications, per server: at most `max_total`
/// waiting or running from all clients together, and `max_per_ip` from one client
/// IP. A flood from one address therefore delays another address's login by at
/// most `max_per_ip` hashes (≈ 25–40 ms each on one core), whatever its size: the
/// rest is refused at once, before any hashing or database write.
#[derive(Debug)]
pub struct LoginQueue {
    max_total: usize,
    max_per_ip: usize,
    state: Arc<Mutex<Queue>>,
    /// The server's hashing slots ([`concurrent_hashes`]); one server per process.
    slots: Arc<tokio::sync::Semaphore>,
}

#[derive(Debug, Default)]
struct Queue {
    total: usize,
    by_ip: std::collections::HashMap<IpAddr, usize>,
}

/// A place in a [`LoginQueue`]; dropping it gives the place back.
#[derive(Debug)]
pub struct Ticket {
    ip: IpAddr,
    state: Arc<Mutex<Queue>>,
    slots: Arc<tokio::sync::Semaphore>,
}

/// The queue is full (overall or for this IP): refuse now, do not wait.
#[derive(Debug)]
pub struct QueueFull;

impl LoginQueue {
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        Self {
            max_total,
            max_per_ip,
            state: Arc::default(),
            slots: Arc::new(tokio::sync::Semaphore::new(concurrent_hashes())),
        }
    }

    /// Takes a place for a login from `ip`, or refuses at once when the queue is full.
    pub fn take(&self, ip: IpAddr) -> Result<Ticket, QueueFull> {
        let mut q = self.state.lock().map_err(|_| QueueFull)?;
        let mine = q.by_ip.get(&ip).copied().unwrap_or(0);
        if q.total >= self.max_total || mine >= self.max_per_ip {
            return Err(QueueFull);
        }
        q.total += 1;
        q.by_ip.insert(ip, mine + 1);
        Ok(Ticket {
            ip,
            state: Arc::clone(&self.state),
            slots: Arc::clone(&self.slots),
        })
    }

    /// Logins waiting for or running a verification now (the `/metrics` gauge).
    pub fn depth(&self) -> usize {
        self.state.lock().map_or(0, |q| q.total)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if let Ok(mut q) = self.state.lock() {
            q.total = q.total.saturating_sub(1);
            if let Some(n) = q.by_ip.get_mut(&self.ip) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    q.by_ip.remove(&self.ip);
                }
            }
        }
    }
}

/// [`verify`] on the blocking pool, bounded by the queue's slots, holding `ticket` until
/// it ends. The slot and the ticket move into the blocking task: a client that
/// hangs up mid-hash does not free them before the hash ends (else cancelled
/// requests could run any number of hashes at once).
pub async fn verify_bounded(ticket: Ticket, password: &Password, stored: Option<String>) -> bool {
    let Ok(slot) = Arc::clone(&ticket.slots).acquire_owned().await else {
        return false;
    };
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let (_slot, _ticket) = (slot, ticket);
        verify(&password, stored.as_deref())
    })
    .await
    .unwrap_or(false)
}

/// [`hash`] on the blocking pool, bounded by [`SLOTS`] (held as in [`verify_bounded`]).
pub async fn hash_bounded(password: &Password) -> anyhow::Result<String> {
    let slot = SLOTS.acquire().await?;
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash(&password)
    })
    .await?
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
        let h = hash(&Password::new("correct horse")).expect("hashes");
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify(&Password::new("correct horse"), Some(&h)));
        assert!(!verify(&Password::new("wrong"), Some(&h)));
        assert!(!verify(&Password::new("latchkey-dummy-password"), None));
        assert!(!verify(&Password::new("x"), Some("not a phc string")));
    }

    #[test]
    fn agrees_with_the_argon2_crate_both_ways() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params())
            .hash_password(b"pw")
            .expect("hashes")
            .to_string();
        assert!(verify(&Password::new("pw"), Some(&theirs)));
        assert!(!verify(&Password::new("pw2"), Some(&theirs)));
        let ours = hash(&Password::new("pw")).expect("hashes");
        let parsed = PasswordHash::new(&ours).expect("parses");
        assert!(Argon2::default().verify_password(b"pw", &parsed).is_ok());
    }

    #[test]
    fn absurd_memory_cost_is_refused_not_computed() {
        let h = hash(&Password::new("pw"))
            .expect("hashes")
            .replace("m=19456", "m=4194304");
        assert!(!verify(&Password::new("pw"), Some(&h)));
    }
}
