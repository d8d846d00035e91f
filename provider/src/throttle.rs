//! Brute-force protection for password checks (password grant and login form):
//! failures are counted per username and per client IP in a fixed window, in
//! the database so that every provider process counts together.

use std::net::IpAddr;

use crate::config::ThrottleSettings;
use crate::storage::{Db, Result};

/// Refused: too many recent failures. Retry after this many seconds.
#[derive(Debug)]
pub struct Throttled {
    pub retry_after: i64,
}

fn keys(username: &str, ip: IpAddr) -> [String; 2] {
    [
        format!("user:{}", username.to_lowercase()),
        format!("ip:{ip}"),
    ]
}

/// Refuses the attempt before any password is checked when either key is over its limit.
pub async fn check(
    db: &Db,
    s: &ThrottleSettings,
    username: &str,
    ip: IpAddr,
) -> Result<Option<Throttled>> {
    let [user_key, ip_key] = keys(username, ip);
    for (key, limit) in [
        (user_key, s.max_failures_per_user),
        (ip_key, s.max_failures_per_ip),
    ] {
        if let Some((failures, closes_at)) = db.throttle_failures(&key, s.window_seconds).await?
            && failures >= limit
        {
            return Ok(Some(Throttled {
                retry_after: closes_at - crate::storage::now(),
            }));
        }
    }
    Ok(None)
}

pub async fn record_failure(
    db: &Db,
    s: &ThrottleSettings,
    username: &str,
    ip: IpAddr,
) -> Result<()> {
    for key in keys(username, ip) {
        db.throttle_record_failure(&key, s.window_seconds).await?;
    }
    Ok(())
}

/// A successful login clears the username's counter (not the IP's).
pub async fn record_success(db: &Db, username: &str, ip: IpAddr) -> Result<()> {
    let [user_key, _] = keys(username, ip);
    db.throttle_clear(&user_key).await
}

/// Checks a username and password with throttling and constant-cost verification.
/// `Ok(None)`: wrong credentials (already counted).
pub async fn authenticate_user(
    db: &Db,
    s: &ThrottleSettings,
    username: &str,
    password: &str,
    ip: IpAddr,
) -> std::result::Result<Option<crate::model::User>, LoginError> {
    if let Some(t) = check(db, s, username, ip).await? {
        return Err(LoginError::Throttled(t));
    }
    let user = db.user_by_username(username).await?.filter(|u| u.is_active);
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let pw = password.to_owned();
    let ok = crate::password::verify_bounded(pw, stored).await;
    if ok {
        record_success(db, username, ip).await?;
        Ok(user)
    } else {
        record_failure(db, s, username, ip).await?;
        Ok(None)
    }
}

#[derive(Debug)]
pub enum LoginError {
    Throttled(Throttled),
    Storage(crate::storage::StorageError),
}

impl From<crate::storage::StorageError> for LoginError {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::Storage(e)
    }
}
