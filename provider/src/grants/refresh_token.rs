//! Refresh token grant (RFC 6749 §6) with rotation and reuse detection.
//!
//! Each refresh spends the token and issues a new one in the same family. A
//! spent token presented again revokes the whole family (RFC 9700 §4.14.2),
//! except within the grace window after its rotation: such a retry (a lost
//! response, or two requests racing) gets a fresh access + refresh token pair
//! of the same family and revokes nothing. (The earlier pair cannot be sent
//! again: only hashes are stored.)

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::OAuthError;
use crate::issue::{Issue, Minted, issue};
use crate::model::Application;
use crate::scope::Scopes;
use crate::secret::PlainToken;
use crate::storage::{Refresh, RefreshClaim, now};

pub async fn exchange(
    server: &AuthServer,
    app: &Application,
    token: &PlainToken,
    requested: Option<&Scopes>,
) -> Result<TokenResponse, OAuthError> {
    let db = &server.db;
    let hash = token.hash();
    let Some(stored) = db.refresh_token_by_hash(&hash).await? else {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    };
    // RFC 6749 §6: the refresh token must have been issued to this client.
    // Checked before anything changes, so a stranger cannot burn it.
    if stored.application_id != app.id || stored.revoked_at.is_some() || stored.expires_at <= now()
    {
        return Err(OAuthError::invalid_grant("invalid refresh token"));
    }
    // RFC 6749 §6: the new scope must not exceed the original.
    let scope = match requested {
        Some(r) if !r.is_empty() => {
            if !r.is_subset_of(&stored.scope) {
                return Err(OAuthError::invalid_scope(
                    "scope exceeds the original grant",
                ));
            }
            r.clone()
        }
        _ => stored.scope.clone(),
    };
    if let Some(user_id) = &stored.user_id
        && db.user_by_id(user_id).await?.is_none_or(|u| !u.is_active)
    {
        return Err(OAuthError::invalid_grant("the user is no longer active"));
    }

    if stored.rotated_at.is_some() {
        return retry_or_reuse(server, app, &stored, &scope).await;
    }
    // Claim the old token and store the new pair in one transaction.
    let next = Issue {
        app,
        user_id: stored.user_id.as_deref(),
        scope: &scope,
        refresh_scope: Some(&stored.scope),
        family_id: &stored.family_id,
    };
    let minted = Minted::new(server, &next);
    let hashes = minted.hashes();
    let (access, Some(refresh)) = minted.rows(&next, &hashes) else {
        // `refresh_scope` is set above, so a refresh token is always minted.
        return Err(OAuthError::new(
            crate::error::ErrorCode::ServerError,
            "no refresh token minted",
        ));
    };
    match db.rotate_refresh_token(&hash, &access, &refresh).await? {
        RefreshClaim::Claimed(_) => Ok(minted.response(server, &scope)),
        RefreshClaim::Unavailable(r) => {
            // Lost a race with another request: judge by the fresh row.
            let Some(r) = r.filter(|r| r.revoked_at.is_none()) else {
                return Err(OAuthError::invalid_grant("invalid refresh token"));
            };
            retry_or_reuse(server, app, &r, &scope).await
        }
    }
}

async fn retry_or_reuse(
    server: &AuthServer,
    app: &Application,
    r: &Refresh,
    scope: &Scopes,
) -> Result<TokenResponse, OAuthError> {
    let grace = server.settings.refresh_token_grace_period_seconds;
    match r.rotated_at {
        Some(at) if now() - at <= grace => new_pair(server, app, r, scope).await,
        _ => {
            // RFC 9700 §4.14.2: reuse of a rotated refresh token → revoke the family.
            server.db.revoke_family(&r.family_id).await?;
            tracing::warn!(client_id = %app.client_id, "refresh token reused; its family is revoked");
            Err(OAuthError::invalid_grant(
                "refresh token already used; the session is revoked",
            ))
        }
    }
}

async fn new_pair(
    server: &AuthServer,
    app: &Application,
    r: &Refresh,
    scope: &Scopes,
) -> Result<TokenResponse, OAuthError> {
    Ok(issue(
        server,
        Issue {
            app,
            user_id: r.user_id.as_deref(),
            scope,
            refresh_scope: Some(&r.scope),
            family_id: &r.family_id,
        },
    )
    .await?)
}
