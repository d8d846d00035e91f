//! What a BFF session holds, and the `/auth/session` endpoint.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_sessions::Session;
use tower_sessions::session::Id;
use tower_sessions::session_store::SessionStore;

use super::store::Store;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::secret::{AccessToken, IdToken, RefreshToken};
use crate::state::SharedState;

/// The one key under which the record's data lives.
pub const KEY: &str = "bff";

/// Tokens, expiry and minimal user info: nothing else, so a record stays small.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionData {
    #[serde(rename = "at")]
    pub access_token: AccessToken,
    #[serde(rename = "rt")]
    pub refresh_token: Option<RefreshToken>,
    /// Access-token expiry, unix seconds.
    #[serde(rename = "exp")]
    pub expires_at: i64,
    #[serde(rename = "scp")]
    pub scope: String,
    #[serde(rename = "usr")]
    pub user: serde_json::Value,
    /// Session start, unix seconds (absolute lifetime).
    #[serde(rename = "iat")]
    pub created_at: i64,
    /// Last sliding-expiry write, unix seconds.
    #[serde(rename = "seen")]
    pub last_seen: i64,
    /// End of the absolute lifetime, unix seconds.
    #[serde(rename = "end")]
    pub ends_at: i64,
    /// The user's subject (userinfo or ID Token `sub`): the per-user index's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The provider's session id (ID Token `sid`, OIDC Back-Channel Logout §2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The login's ID Token, kept only for RP-Initiated Logout's `id_token_hint` (when
    /// the provider has an `end_session_endpoint` and `--provider-logout` is on).
    #[serde(rename = "idt", default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The session of this request: one store read (cached by tower-sessions for the request).
/// Past its absolute lifetime it is ended here.
pub async fn current(metrics: &Metrics, session: &Session) -> Result<SessionData> {
    let data = session
        .get::<SessionData>(KEY)
        .await?
        .ok_or(Error::Unauthenticated)?;
    if now() >= data.ends_at {
        end(metrics, session).await?;
        return Err(Error::SessionExpired);
    }
    Ok(data)
}

/// Reads the record straight from the store (not tower-sessions' per-request cache):
/// another request or replica may have refreshed the tokens meanwhile.
pub async fn reload(store: &Store, ticket: &Id) -> Result<Option<SessionData>> {
    let Some(record) = store.load(ticket).await? else {
        return Ok(None);
    };
    Ok(record
        .data
        .get(KEY)
        .and_then(|v| serde_json::from_value(v.clone()).ok()))
}

impl SessionData {
    /// Whose session this is, for the per-user index.
    pub fn owners(&self) -> Vec<super::Owner<'_>> {
        let mut owners = Vec::new();
        if let Some(sub) = &self.sub {
            owners.push(super::Owner::Subject(sub));
        }
        if let Some(sid) = &self.sid {
            owners.push(super::Owner::ProviderSession(sid));
        }
        owners
    }
}

/// Writes new data now (not at the end of the request), so other replicas see it.
pub async fn write(session: &Session, data: &SessionData) -> Result<()> {
    session
        .insert(KEY, data)
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    session.save().await?;
    Ok(())
}

/// Destroys the session in the store; tower-sessions then expires the cookie.
pub async fn end(metrics: &Metrics, session: &Session) -> Result<()> {
    session.flush().await?;
    metrics.session_destroyed();
    Ok(())
}

/// Coarse sliding idle expiry: at most one write per quarter idle period (and never under
/// a concurrent refresh: the write is made from a fresh store read while holding the lock).
pub async fn touch(
    store: &Store,
    idle_timeout_seconds: u64,
    session: &Session,
    data: &SessionData,
) -> Result<()> {
    let interval = i64::try_from(idle_timeout_seconds / 4).unwrap_or(i64::MAX);
    if now() - data.last_seen < interval.max(1) {
        return Ok(());
    }
    let Some(id) = session.id() else {
        return Ok(());
    };
    let Some(guard) = store.lock(&id, std::time::Duration::ZERO).await? else {
        return Ok(()); // someone is refreshing: they write anyway.
    };
    let result = async {
        if let Some(mut fresh) = reload(store, &id).await? {
            fresh.last_seen = now();
            write(session, &fresh).await?;
        }
        Ok(())
    }
    .await;
    store.unlock(guard).await;
    result
}

/// `GET /auth/session`: who is logged in; never any token.
pub async fn info(State(state): State<SharedState>, session: Session) -> Result<Response> {
    let data = match current(&state.metrics, &session).await {
        Ok(data) => data,
        Err(Error::Unauthenticated | Error::SessionExpired) => {
            return Ok((
                StatusCode::UNAUTHORIZED,
                Json(json!({"authenticated": false})),
            )
                .into_response());
        }
        Err(err) => return Err(err),
    };
    Ok(Json(json!({
        "authenticated": true,
        "user": data.user,
        "scope": data.scope,
        "expires_at": data.expires_at,
        "session_expires_at": data.ends_at,
    }))
    .into_response())
}
