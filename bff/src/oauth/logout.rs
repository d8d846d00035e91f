//! `POST /auth/logout`: revoke at the provider (RFC 7009), destroy the session, expire the
//! cookie. `?everywhere=true` also ends every other session of the same user, on every
//! replica, through the per-user index ([`crate::session::index`]).
//!
//! The other sessions' refresh tokens cannot be revoked from here: they are sealed under
//! their own cookies' keys, which the BFF does not keep. Their records are deleted, so
//! nobody holds those tokens any more; they lapse at the provider.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::Result;
use crate::session::{self, KEY, Owner, SessionData};
use crate::state::SharedState;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutQuery {
    #[serde(default)]
    everywhere: Option<String>,
}

pub async fn logout(
    State(state): State<SharedState>,
    Query(query): Query<LogoutQuery>,
    session: Session,
) -> Result<StatusCode> {
    let Some(data) = session.get::<SessionData>(KEY).await? else {
        return Ok(StatusCode::NO_CONTENT); // already logged out: idempotent
    };
    if let Some(refresh_token) = &data.refresh_token {
        // RFC 7009 §2.1; revoking the refresh token revokes its access tokens (§2.2).
        crate::oauth::provider::revoke(
            &state.http,
            &state.endpoints,
            &state.config,
            &state.client_secret,
            refresh_token,
        )
        .await;
    }
    if let Some(ticket) = session.id() {
        state.store.unindex_session(&ticket, &data.owners()).await?;
    }
    session::end(&state.metrics, &session).await?;
    let everywhere = matches!(query.everywhere.as_deref(), Some("true" | "1"));
    if everywhere && let Some(sub) = &data.sub {
        let ended = state.store.end_sessions(Owner::Subject(sub)).await?;
        state.metrics.signed_out_everywhere();
        tracing::info!(sessions = ended, "signed out everywhere");
    }
    Ok(StatusCode::NO_CONTENT)
}
