//! Brute-force protection for password checks (password grant and login form).
//!
//! Every attempt is *reserved* before its password is hashed: per username and per
//! client IP, one atomic database upsert increments the window's counter or refuses
//! at the limit (see `storage::throttle`), so parallel guesses cannot all pass a
//! check made before any of them was counted, and every provider process counts
//! together. A reserved attempt that fails stays counted; one that succeeds clears
//! the username's counter and gives the IP's reservation back.
//!
//! Hashing itself waits in a bounded queue ([`crate::password::LoginQueue`]): over the
//! bound the attempt is refused at once (429 + `Retry-After`), never queued.

use std::net::IpAddr;

use crate::AuthServer;
use crate::model::User;
use crate::password::{self, Password, Ticket};
use crate::storage::StorageError;
use crate::storage::throttle::ThrottleKey;

/// Refused: too many recent attempts, or the hashing queue is full. Retry after
/// this many seconds.
#[derive(Debug)]
pub struct Throttled {
    pub retry_after: i64,
}

fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn ip_key(ip: IpAddr) -> String {
    format!("ip:{ip}")
}

/// Checks a username and password with throttling and constant-cost verification.
/// `Ok(None)`: wrong credentials (already counted).
/// A place in the server's hashing queue for a login from `ip`, taken before
/// anything else (client authentication included), so a flood beyond the bound
/// costs neither a hash nor a database query.
pub fn queue_ticket(server: &AuthServer, ip: IpAddr) -> Result<Ticket, Throttled> {
    server.logins.take(ip).map_err(|_| {
        crate::metrics::count_throttled("queue_full");
        Throttled { retry_after: 1 }
    })
}

/// `ticket` comes from [`queue_ticket`].
pub async fn authenticate_user(
    server: &AuthServer,
    ticket: Ticket,
    username: &str,
    password: &Password,
    ip: IpAddr,
) -> Result<Option<User>, LoginError> {
    let (db, s) = (&server.db, &server.settings.throttle);
    let keys = [
        ThrottleKey {
            key: user_key(username),
            limit: s.max_failures_per_user,
        },
        ThrottleKey {
            key: ip_key(ip),
            limit: s.max_failures_per_ip,
        },
    ];
    if let Some(closes_at) = db.throttle_reserve(&keys, s.window_seconds).await? {
        crate::metrics::count_throttled("limit");
        return Err(LoginError::Throttled(Throttled {
            retry_after: (closes_at - crate::storage::now()).max(1),
        }));
    }
    let user = db.user_by_username(username).await?.filter(|u| u.is_active);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    if !password::verify_bounded(ticket, password, stored).await {
        return Ok(None);
    }
    let [user_key, ip_key] = keys.map(|k| k.key);
    db.throttle_release(&[user_key], &[ip_key]).await?;
    Ok(user)
}

#[derive(Debug)]
pub enum LoginError {
    Throttled(Throttled),
    Storage(StorageError),
}

impl From<StorageError> for LoginError {
    fn from(e: StorageError) -> Self {
        Self::Storage(e)
    }
}
