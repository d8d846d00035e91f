//! OpenID Connect rows: signing keys, apps' logout settings, login sessions' `sid`,
//! and the back-channel logout outbox (migration 0007).

use super::batch::Stmt;
use super::{Db, Result, now, on_pool, on_writer};
use crate::secret::TokenHash;

super::row! {
    /// A signing key as stored (`private_key` sealed; see `oidc::keys`).
    pub struct StoredKey {
        kid: String,
        alg: String,
        private_key: String,
        public_jwk: String,
        created_at: i64,
        publish_until: Option<i64>,
    }
}

/// An application's logout settings (RP-Initiated and Back-Channel Logout 1.0).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutSettings {
    pub post_logout_redirect_uris: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
}

super::row! {
    struct SettingsRow {
        post_logout_redirect_uris: String,
        backchannel_logout_uri: Option<String>,
        backchannel_logout_session_required: i64,
    }
}

super::row! {
    /// A login session as OpenID Connect sees it.
    pub struct LoginSession {
        user_id: String,
        sid: Option<String>,
        created_at: i64,
    }
}

impl LoginSession {
    /// The session's `sid`: its own, or (a session from before migration 0007) one
    /// derived from its row key, which is itself a hash of the cookie.
    pub fn sid(&self, id_hash: &TokenHash) -> String {
        self.sid.clone().unwrap_or_else(|| {
            TokenHash::of(&format!("sid/{}", id_hash.as_str())).as_str()[..32].to_owned()
        })
    }

    /// When the user signed in: the session starts at a login (OIDC Core §2 `auth_time`).
    pub fn auth_time(&self) -> i64 {
        self.created_at
    }
}

super::row! {
    /// A back-channel logout notification claimed for sending.
    pub struct OutboxRow {
        sid: String,
        application_id: String,
        user_id: String,
        attempts: i64,
    }
}

/// Queues a notification for every app that has a back-channel logout URI and got a
/// code in the sessions `WHERE` selects (`$1` = now, then the selector's value).
macro_rules! enqueue_sql {
    ($from:literal, $where:literal) => {
        concat!(
            "INSERT INTO logout_outbox (sid, application_id, user_id, attempts, next_attempt_at, claimed_until, created_at) \
             SELECT DISTINCT g.sid, g.application_id, g.user_id, 0, $1, 0, $1 FROM ",
            $from,
            " JOIN oidc_clients c ON c.application_id = g.application_id \
             WHERE c.backchannel_logout_uri IS NOT NULL AND g.sid IS NOT NULL AND ",
            $where,
            " ON CONFLICT (sid, application_id) DO NOTHING"
        )
    };
}

/// The notifications a session's end sends, keyed by the session's cookie hash.
pub fn enqueue_session_logout(id_hash: &TokenHash) -> Stmt {
    Stmt::new(
        enqueue_sql!(
            "web_sessions s JOIN grants g ON g.sid = s.sid",
            "s.id_hash = $2"
        ),
        [now().into(), id_hash.as_str().into()],
    )
}

/// The notifications signing a user out everywhere sends: every session of theirs
/// an app still holds a code or token family from.
pub fn enqueue_user_logout(user_id: &str) -> Stmt {
    Stmt::new(
        enqueue_sql!("grants g", "g.user_id = $2"),
        [now().into(), user_id.into()],
    )
}

const KEY_COLUMNS: &str = "kid, alg, private_key, public_jwk, created_at, publish_until";

impl Db {
    /// Published keys, newest first (the first unretired one signs).
    pub async fn signing_keys(&self) -> Result<Vec<StoredKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM signing_keys WHERE publish_until IS NULL OR publish_until > $1 \
             ORDER BY created_at DESC, kid DESC"
        );
        Ok(
            on_pool!(self, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(now()).fetch_all(p).await)?,
        )
    }

    pub async fn insert_signing_key(&self, k: &StoredKey) -> Result<()> {
        let sql =
            format!("INSERT INTO signing_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        on_writer!(self, p => sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&k.kid).bind(&k.alg).bind(&k.private_key).bind(&k.public_jwk)
            .bind(k.created_at).bind(k.publish_until)
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Every key but `keep` stops signing and stays published until `until`.
    pub async fn retire_signing_keys(&self, keep: &str, until: i64) -> Result<u64> {
        Ok(on_writer!(self, p => sqlx::query(
            "UPDATE signing_keys SET publish_until = $1 WHERE kid <> $2 AND publish_until IS NULL")
            .bind(until).bind(keep).execute(p).await.map(|r| r.rows_affected()))?)
    }

    pub async fn drop_unpublished_signing_keys(&self) -> Result<u64> {
        Ok(on_writer!(self, p => sqlx::query(
            "DELETE FROM signing_keys WHERE publish_until IS NOT NULL AND publish_until <= $1")
            .bind(now()).execute(p).await.map(|r| r.rows_affected()))?)
    }

    pub async fn logout_settings(&self, application_id: &str) -> Result<LogoutSettings> {
        let row: Option<SettingsRow> = on_pool!(self, p => sqlx::query_as(
            "SELECT post_logout_redirect_uris, backchannel_logout_uri, backchannel_logout_session_required \
             FROM oidc_clients WHERE application_id = $1")
            .bind(application_id).fetch_optional(p).await)?;
        Ok(
            row.map_or_else(LogoutSettings::default, |r| LogoutSettings {
                post_logout_redirect_uris: r
                    .post_logout_redirect_uris
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                backchannel_logout_uri: r.backchannel_logout_uri.filter(|u| !u.is_empty()),
                backchannel_logout_session_required: r.backchannel_logout_session_required != 0,
            }),
        )
    }

    pub async fn set_logout_settings(
        &self,
        application_id: &str,
        s: &LogoutSettings,
    ) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "INSERT INTO oidc_clients (application_id, post_logout_redirect_uris, backchannel_logout_uri, \
             backchannel_logout_session_required) VALUES ($1, $2, $3, $4) ON CONFLICT (application_id) DO UPDATE \
             SET post_logout_redirect_uris = excluded.post_logout_redirect_uris, \
             backchannel_logout_uri = excluded.backchannel_logout_uri, \
             backchannel_logout_session_required = excluded.backchannel_logout_session_required")
            .bind(application_id).bind(s.post_logout_redirect_uris.join(" "))
            .bind(&s.backchannel_logout_uri).bind(i64::from(s.backchannel_logout_session_required))
            .execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// The live login session behind a cookie hash, its user active. A session from
    /// before migration 0007 gets its (derived) `sid` stored on first use, so the codes
    /// it issues find it again at logout.
    pub async fn login_session(&self, id: &TokenHash) -> Result<Option<LoginSession>> {
        let found: Option<LoginSession> = on_pool!(self, p => sqlx::query_as(
            "SELECT s.user_id, s.sid, s.created_at FROM web_sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.is_active = 1")
            .bind(id.as_str()).bind(now()).fetch_optional(p).await)?;
        let Some(mut s) = found else { return Ok(None) };
        if s.sid.is_none() {
            let sid = s.sid(id);
            on_writer!(self, p => sqlx::query("UPDATE web_sessions SET sid = $1 WHERE id_hash = $2 AND sid IS NULL")
                .bind(&sid).bind(id.as_str()).execute(p).await.map(|r| r.rows_affected()))?;
            s.sid = Some(sid);
        }
        Ok(Some(s))
    }

    /// Ends the login session `sid` of `user_id` (RP-initiated logout whose request
    /// came without the session cookie, e.g. a cross-site POST), queueing its
    /// back-channel notifications. Whether there was one.
    pub async fn end_login_session_by_sid(&self, sid: &str, user_id: &str) -> Result<bool> {
        let n = self
            .write_all(vec![
                Stmt::new(
                    enqueue_sql!(
                        "web_sessions s JOIN grants g ON g.sid = s.sid",
                        "s.sid = $2 AND s.user_id = $3"
                    ),
                    [now().into(), sid.into(), user_id.into()],
                ),
                Stmt::new(
                    "DELETE FROM web_sessions WHERE sid = $1 AND user_id = $2",
                    [sid.into(), user_id.into()],
                ),
            ])
            .await?;
        Ok(n.get(1).is_some_and(|n| *n > 0))
    }

    /// The login session a code (and so its token family) was issued in: (auth_time, sid).
    pub async fn grant_session(
        &self,
        grant_id: &str,
    ) -> Result<Option<(Option<i64>, Option<String>)>> {
        Ok(on_pool!(self, p => sqlx::query_as(
            "SELECT auth_time, sid FROM grants WHERE id = $1")
            .bind(grant_id).fetch_optional(p).await)?)
    }

    /// Ends a login session, queueing its back-channel logout notifications in the
    /// same transaction.
    pub async fn end_login_session(&self, id: &TokenHash) -> Result<()> {
        self.write_all(vec![
            enqueue_session_logout(id),
            Stmt::new(
                "DELETE FROM web_sessions WHERE id_hash = $1",
                [id.as_str().into()],
            ),
        ])
        .await?;
        Ok(())
    }

    /// Whether any notification is due (a read, so an idle sender never takes the writer).
    pub async fn logouts_due(&self) -> Result<bool> {
        let t = now();
        let row: Option<(i64,)> = on_pool!(self, p => sqlx::query_as(
            "SELECT CAST(1 AS BIGINT) FROM logout_outbox WHERE claimed_until <= $1 AND next_attempt_at <= $1 LIMIT 1")
            .bind(t).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    /// Claims up to `limit` due notifications for `lease` seconds: a conditional
    /// UPDATE per row, so of several processes exactly one gets each row.
    pub async fn claim_logouts(&self, limit: i64, lease: i64) -> Result<Vec<OutboxRow>> {
        let t = now();
        Ok(on_writer!(self, p => sqlx::query_as(
            "UPDATE logout_outbox SET claimed_until = $1, attempts = attempts + 1 \
             WHERE claimed_until <= $2 AND next_attempt_at <= $2 AND (sid, application_id) IN \
             (SELECT sid, application_id FROM logout_outbox WHERE claimed_until <= $2 AND next_attempt_at <= $2 \
              ORDER BY created_at LIMIT $3) \
             RETURNING sid, application_id, user_id, attempts")
            .bind(t + lease).bind(t).bind(limit).fetch_all(p).await)?)
    }

    /// Sent, or given up: the row goes.
    pub async fn finish_logout(&self, sid: &str, application_id: &str) -> Result<()> {
        on_writer!(self, p => sqlx::query("DELETE FROM logout_outbox WHERE sid = $1 AND application_id = $2")
            .bind(sid).bind(application_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Not sent: try again at `at`.
    pub async fn retry_logout(&self, sid: &str, application_id: &str, at: i64) -> Result<()> {
        on_writer!(self, p => sqlx::query(
            "UPDATE logout_outbox SET next_attempt_at = $1, claimed_until = 0 WHERE sid = $2 AND application_id = $3")
            .bind(at).bind(sid).bind(application_id).execute(p).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Notifications waiting (tests and metrics).
    pub async fn pending_logouts(&self) -> Result<i64> {
        let (n,): (i64,) = on_pool!(self, p => sqlx::query_as("SELECT COUNT(*) FROM logout_outbox").fetch_one(p).await)?;
        Ok(n)
    }
}
