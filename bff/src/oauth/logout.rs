//! `POST /auth/logout`: revoke at the provider (RFC 7009), destroy the session, expire the
//! cookie. `?everywhere=true` also ends every other session of the same user, on every
//! replica, through the per-user index ([`crate::session::index`]).
//!
//! Then, when the provider has an `end_session_endpoint` (OpenID RP-Initiated Logout 1.0)
//! and the session had an ID Token, the answer is `200 {"redirect": URL}` instead of
//! `204`: the SPA sends the browser there (a `fetch` cannot follow a cross-origin
//! redirect into a navigation), with `id_token_hint`, `client_id`,
//! `post_logout_redirect_uri` and `state` (§2), so the provider's session ends too.
//! `--provider-logout false` turns that off.
//!
//! The other sessions' refresh tokens cannot be revoked from here: they are sealed under
//! their own cookies' keys, which the BFF does not keep. Their records are deleted, so
//! nobody holds those tokens any more; they lapse at the provider.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use oauth2::CsrfToken;
use serde::Deserialize;
use tower_sessions::Session;
use url::Url;

use crate::error::Result;
use crate::secret::IdToken;
use crate::session::{self, KEY, Owner, SessionData};
use crate::state::{AppState, SharedState};

/// Longest ID Token kept for the hint (a session record stays small; one of the bundled
/// provider's RS256 tokens is ≈ 0.8 KiB).
const MAX_HINT_BYTES: usize = 4096;

#[derive(Debug, Default, Deserialize)]
pub struct LogoutQuery {
    #[serde(default)]
    everywhere: Option<String>,
}

/// The ID Token a new session keeps: only when it can serve as a logout hint.
pub fn hint_to_keep(state: &AppState, id_token: Option<IdToken>) -> Option<IdToken> {
    id_token.filter(|token| {
        state.config.provider_logout
            && state.endpoints.end_session.is_some()
            && token.expose().len() <= MAX_HINT_BYTES
    })
}

/// RP-Initiated Logout 1.0 §2: the provider's logout URL for this session, if any.
pub fn provider_logout_url(state: &AppState, data: &SessionData) -> Option<Url> {
    let endpoint = state.endpoints.end_session.as_ref()?;
    let hint = data.id_token.as_ref()?;
    if !state.config.provider_logout {
        return None;
    }
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("id_token_hint", hint.expose())
        .append_pair("client_id", &state.config.client_id)
        .append_pair(
            "post_logout_redirect_uri",
            state.config.post_logout_redirect_uri().as_str(),
        )
        .append_pair("state", CsrfToken::new_random_len(16).secret());
    Some(url)
}

pub async fn logout(
    State(state): State<SharedState>,
    Query(query): Query<LogoutQuery>,
    session: Session,
) -> Result<Response> {
    let Some(data) = session.get::<SessionData>(KEY).await? else {
        // Already logged out: idempotent.
        return Ok(StatusCode::NO_CONTENT.into_response());
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
    Ok(match provider_logout_url(&state, &data) {
        Some(url) => Json(serde_json::json!({"redirect": url.as_str()})).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}
