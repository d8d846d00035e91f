//! Refreshing access tokens (RFC 6749 §6), single-flight per session across requests
//! and replicas: the provider rotates refresh tokens and revokes the whole family when a
//! rotated one is reused (RFC 9700 §4.14.2), so two concurrent refreshes would log the
//! user out.
//!
//! [`ensure_fresh`] is given what it needs — the store, the metrics, the skew and the
//! function that calls the provider — so it can be tested on its own.

use std::time::Duration;

use tower_sessions::Session;
use tower_sessions::session::Id;

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::oauth::provider::{RefreshError, Tokens};
use crate::secret::{AccessToken, RefreshToken};
use crate::session::{self, SessionData, Store, now};

/// How long a request waits for another one's refresh before giving up with a 503.
const LOCK_WAIT: Duration = Duration::from_secs(15);
/// How often a request waiting on another replica's refresh looks at the record.
const LOCK_POLL: Duration = Duration::from_millis(5);

/// How long a refreshed pair is retried into a store that is briefly away.
const STORE_RETRY_FOR: Duration = Duration::from_secs(3);

/// The provider has rotated the refresh token: the new pair exists only here now. A
/// store that is briefly away (a Redis restart or failover) is retried for a few seconds
/// rather than dropping the pair — else the next refresh replays the old token.
async fn store_rotated(session: &Session, data: &SessionData) -> Result<()> {
    let deadline = tokio::time::Instant::now() + STORE_RETRY_FOR;
    loop {
        match session::write(session, data).await {
            Err(Error::StoreUnavailable(reason)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(%reason, "storing the refreshed tokens failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            done => return done,
        }
    }
}

/// What a refresh needs. `provider` performs the refresh grant.
pub struct Refresher<'a, F> {
    pub store: &'a Store,
    pub metrics: &'a Metrics,
    /// Refresh this many seconds before the access token expires.
    pub skew_seconds: u64,
    pub provider: F,
}

impl<F, Fut> Refresher<'_, F>
where
    F: Fn(RefreshToken) -> Fut,
    Fut: Future<Output = std::result::Result<Tokens, RefreshError>>,
{
    fn expiring(&self, data: &SessionData) -> bool {
        let skew = i64::try_from(self.skew_seconds).unwrap_or(0);
        data.expires_at - skew <= now()
    }

    /// Whether `fresh` (re-read from the store) already carries tokens newer than
    /// the ones this request found expiring or saw rejected.
    fn is_newer(
        &self,
        data: &SessionData,
        fresh: &SessionData,
        rejected: Option<&AccessToken>,
    ) -> bool {
        match rejected {
            Some(bad) => fresh.access_token != *bad,
            None => fresh.access_token != data.access_token || !self.expiring(fresh),
        }
    }

    /// Returns usable tokens: `data` itself when still fresh, else refreshed ones.
    /// `rejected`: the access token an upstream just answered 401 to (forces one refresh).
    pub async fn ensure_fresh(
        &self,
        session: &Session,
        data: SessionData,
        rejected: Option<&AccessToken>,
    ) -> Result<SessionData> {
        if rejected.is_none() && !self.expiring(&data) {
            return Ok(data);
        }
        if data.refresh_token.is_none() {
            if data.expires_at > now() && rejected.is_none() {
                return Ok(data);
            }
            session::end(self.metrics, session).await?;
            return Err(Error::SessionExpired);
        }
        let id = session.id().ok_or(Error::Unauthenticated)?;
        let guard = if self.store.is_redis() {
            // Across replicas: try the lock; while another request holds it, watch the
            // record and take its new tokens as soon as they land, instead of queueing
            // for the lock one waiter after another (a 64-request storm took 0.8 s).
            let deadline = tokio::time::Instant::now() + LOCK_WAIT;
            loop {
                if let Some(guard) = self.store.lock(&id, Duration::ZERO).await? {
                    break guard;
                }
                if let Some(fresh) = session::reload(self.store, &id).await?
                    && self.is_newer(&data, &fresh, rejected)
                {
                    return Ok(fresh);
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(Error::StoreUnavailable(
                        "refresh lock not acquired in time".into(),
                    ));
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
        } else {
            self.store.lock(&id, LOCK_WAIT).await?.ok_or_else(|| {
                Error::StoreUnavailable("refresh lock not acquired in time".into())
            })?
        };
        let result = self.refresh_locked(session, id, &data, rejected).await;
        self.store.unlock(guard).await;
        result
    }

    async fn refresh_locked(
        &self,
        session: &Session,
        id: Id,
        data: &SessionData,
        rejected: Option<&AccessToken>,
    ) -> Result<SessionData> {
        // Re-read under the lock: a waiter reuses what the lock holder wrote.
        let Some(fresh) = session::reload(self.store, &id).await? else {
            return Err(Error::SessionExpired); // ended meanwhile (e.g. by another replica)
        };
        if self.is_newer(data, &fresh, rejected) {
            return Ok(fresh);
        }
        let Some(refresh_token) = fresh.refresh_token.clone() else {
            session::end(self.metrics, session).await?;
            return Err(Error::SessionExpired);
        };
        self.metrics.refresh_started();
        match (self.provider)(refresh_token).await {
            Ok(tokens) => {
                let updated = SessionData {
                    access_token: tokens.access_token,
                    refresh_token: tokens.refresh_token,
                    expires_at: tokens.expires_at,
                    scope: tokens.scope.unwrap_or_else(|| fresh.scope.clone()),
                    last_seen: now(),
                    ..fresh
                };
                store_rotated(session, &updated).await?;
                tracing::info!("access token refreshed");
                Ok(updated)
            }
            Err(RefreshError::InvalidGrant) => {
                // The refresh token is dead, so is the session (RFC 10017: the session
                // does not outlive the refresh token).
                self.metrics.refresh_failed();
                tracing::info!("refresh token rejected (invalid_grant); ending the session");
                session::end(self.metrics, session).await?;
                Err(Error::SessionExpired)
            }
            Err(RefreshError::Other(reason)) => {
                self.metrics.refresh_failed();
                if fresh.expires_at > now() && rejected.is_none() {
                    tracing::warn!(%reason, "refresh failed; the current token is still valid");
                    Ok(fresh)
                } else {
                    // Transient (provider down, restarting, its database away): the
                    // session stays, the browser retries (the chaos soak's bar: 503 only).
                    Err(Error::ProviderUnavailable(format!(
                        "refresh failed: {reason}"
                    )))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
