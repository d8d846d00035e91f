//! `POST /auth/logout`: revoke at the provider (RFC 7009), destroy the session, expire the cookie.

use axum::extract::State;
use axum::http::StatusCode;
use tower_sessions::Session;

use crate::app::SharedState;
use crate::error::Result;
use crate::session::{self, KEY, SessionData};

pub async fn logout(State(state): State<SharedState>, session: Session) -> Result<StatusCode> {
    let Some(data) = session.get::<SessionData>(KEY).await? else {
        return Ok(StatusCode::NO_CONTENT); // already logged out: idempotent
    };
    if let Some(refresh_token) = &data.refresh_token {
        // RFC 7009 §2.1; revoking the refresh token revokes its access tokens (§2.2).
        crate::provider::revoke(
            &state.http,
            &state.endpoints,
            &state.config,
            &state.client_secret,
            refresh_token,
        )
        .await;
    }
    session::end(&state, &session).await?;
    Ok(StatusCode::NO_CONTENT)
}
