//! Back-Channel Logout 1.0, sender side.
//!
//! When a login session ends (the logout form, RP-initiated logout, a new login over
//! an old session, "sign out everywhere", a password change or reset, deactivation),
//! the same transaction queues one row in `logout_outbox` per app that has a
//! `backchannel_logout_uri` and got a code in that session (codes carry the
//! session's `sid`). This sender, one task per process, claims due rows — a
//! conditional UPDATE per row, so with several processes on one PostgreSQL exactly
//! one process sends each — and POSTs `logout_token=<JWT>` (§2.5) to the app, off
//! the request path: 2 s timeout, no redirects followed, at most 3 attempts (1 s, then
//! 2 s apart); a 2xx is success (§2.8: the RP answers 200, or 400 for a bad token). A
//! claim lapses after 30 s, so a crashed sender's rows are sent by another.
//!
//! The logout token (§2.4): header `{"alg": "RS256"|"ES256", "kid", "typ":
//! "logout+jwt"}`; claims `iss`, `aud` (the client id), `iat`, `exp` (`iat` + 120),
//! `jti` (random, 128 bits), `events` `{"http://schemas.openid.net/event/backchannel-logout": {}}`,
//! `sub` (the user id, as in the ID Token) and `sid` (as in the ID Token); never `nonce`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::AuthServer;
use crate::storage::oidc::OutboxRow;
use crate::storage::{new_id, now};

/// A logout token's lifetime.
pub const TOKEN_SECONDS: i64 = 120;
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
const TIMEOUT: Duration = Duration::from_secs(2);
const MAX_ATTEMPTS: i64 = 3;
const LEASE_SECONDS: i64 = 30;
const BATCH: i64 = 20;
/// How often the outbox is looked at when nothing woke the sender (another process,
/// the CLI or the admin may have queued rows).
const POLL: Duration = Duration::from_secs(1);

/// The signed logout token for one app and session.
pub async fn logout_token(
    server: &AuthServer,
    client_id: &str,
    sid: &str,
    sub: &str,
) -> Result<String, super::keys::KeyError> {
    let signer = server.oidc.keys.signer(&server.db).await?;
    let t = now();
    let claims = json!({
        "iss": server.settings.issuer,
        "aud": client_id,
        "iat": t,
        "exp": t + TOKEN_SECONDS,
        "jti": new_id(),
        "events": { EVENT: {} },
        "sub": sub,
        "sid": sid,
    });
    signer.sign("logout+jwt", &claims)
}

/// Runs the sender until aborted.
pub async fn run(server: Arc<AuthServer>) {
    let http = match reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout sender cannot start");
            return;
        }
    };
    loop {
        tokio::select! {
            () = server.oidc.outbox.notified() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        if let Err(e) = send_due(&server, &http).await {
            tracing::warn!(error = %e, "back-channel logout: outbox unavailable");
        }
    }
}

/// Sends every due notification this process could claim; returns how many it tried.
pub async fn send_due(
    server: &AuthServer,
    http: &reqwest::Client,
) -> Result<usize, crate::storage::StorageError> {
    if !server.db.logouts_due().await? {
        return Ok(0);
    }
    let rows = server.db.claim_logouts(BATCH, LEASE_SECONDS).await?;
    let n = rows.len();
    futures_util::future::join_all(rows.into_iter().map(|r| deliver(server, http, r))).await;
    Ok(n)
}

#[tracing::instrument(name = "backchannel_logout", skip_all, fields(app = %row.application_id, attempt = row.attempts))]
async fn deliver(server: &AuthServer, http: &reqwest::Client, row: OutboxRow) {
    let db = &server.db;
    let outcome = async {
        let app = db
            .application_by_id(&row.application_id)
            .await?
            .ok_or("application gone")?;
        let uri = db
            .logout_settings(&app.id)
            .await?
            .backchannel_logout_uri
            .ok_or("no back-channel logout URI any more")?;
        let token = logout_token(server, &app.client_id, &row.sid, &row.user_id)
            .await
            .map_err(|e| e.to_string())?;
        let r = http
            .post(&uri)
            .form(&[("logout_token", token)])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if r.status().is_success() {
            Ok::<_, Failure>(())
        } else {
            Err(format!("HTTP {}", r.status()).into())
        }
    }
    .await;
    let result = match outcome {
        Ok(()) => {
            tracing::info!("back-channel logout delivered");
            db.finish_logout(&row.sid, &row.application_id).await
        }
        Err(Failure::Final(why)) => {
            tracing::info!(why, "back-channel logout not needed");
            db.finish_logout(&row.sid, &row.application_id).await
        }
        Err(Failure::Retry(why)) if row.attempts >= MAX_ATTEMPTS => {
            tracing::warn!(%why, "back-channel logout failed; giving up");
            db.finish_logout(&row.sid, &row.application_id).await
        }
        Err(Failure::Retry(why)) => {
            let wait = 1i64 << (row.attempts - 1).clamp(0, 4);
            tracing::warn!(%why, retry_in = wait, "back-channel logout failed; will retry");
            db.retry_logout(&row.sid, &row.application_id, now() + wait)
                .await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "back-channel logout: outbox update failed");
    }
}

/// Why a notification was not delivered.
enum Failure {
    /// Nothing to send to (the app or its URI went): drop the row.
    Final(&'static str),
    /// The RP did not answer 2xx, or the database failed: try again.
    Retry(String),
}

impl From<&'static str> for Failure {
    fn from(s: &'static str) -> Self {
        Self::Final(s)
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self::Retry(s)
    }
}

impl From<crate::storage::StorageError> for Failure {
    fn from(e: crate::storage::StorageError) -> Self {
        Self::Retry(e.to_string())
    }
}
