//! Refresh token grant (RFC 6749 §6) with rotation and reuse detection.
//!
//! Each refresh spends the token and issues a new pair in the same family. A spent
//! token presented again revokes the whole family (RFC 9700 §4.14.2), except within
//! the grace window after its rotation: such a retry (a lost response, or two
//! requests racing) gets **the same** successor pair back, however often — kept
//! sealed for the old token's holder (see [`crate::successor`]) — so a retry never
//! forks the family. A grace period of 0 turns the window off.
//!
//! Each refresh also re-checks the application as it is now: its grant
//! (`grants::exchange`) and its allowed scopes, which narrow the new pair.

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::{ErrorCode, OAuthError};
use crate::issue::{Issue, Minted, resend};
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
    let user = match &stored.user_id {
        Some(user_id) => match db.user_by_id(user_id).await?.filter(|u| u.is_active) {
            Some(u) => Some(u),
            None => return Err(OAuthError::invalid_grant("the user is no longer active")),
        },
        None => None,
    };
    let response = rotate(server, app, &stored, token, requested).await?;
    with_id_token(server, app, &stored, user.as_ref(), response).await
}

/// OIDC Core §12.2: a refresh of a family whose grant had `openid` gets a new ID
/// Token (no nonce; the code's `auth_time` and `sid`) — a retry inside the grace
/// window too (the same pair, a fresh ID Token).
async fn with_id_token(
    server: &AuthServer,
    app: &Application,
    stored: &Refresh,
    user: Option<&crate::model::User>,
    mut response: TokenResponse,
) -> Result<TokenResponse, OAuthError> {
    let scope = Scopes::from_stored(&response.scope);
    let Some(user) = user.filter(|_| scope.contains(crate::oidc::OPENID)) else {
        return Ok(response);
    };
    let (auth_time, sid) = server
        .db
        .grant_session(&stored.family_id)
        .await?
        .unwrap_or_default();
    let login = crate::oidc::id_token::Login {
        nonce: None,
        auth_time,
        sid: sid.as_deref(),
    };
    response.id_token = Some(
        crate::oidc::id_token::mint(server, app, user, &scope, &response.access_token, &login)
            .await?,
    );
    Ok(response)
}

async fn rotate(
    server: &AuthServer,
    app: &Application,
    stored: &Refresh,
    token: &PlainToken,
    requested: Option<&Scopes>,
) -> Result<TokenResponse, OAuthError> {
    let db = &server.db;
    let hash = token.hash();
    if stored.rotated_at.is_some() {
        return retry_or_reuse(server, app, stored, token).await;
    }
    // What the app may have now: an operator may have narrowed it since (RFC 6749 §6:
    // the new scope never exceeds the original; here nor the app's current allowance).
    let allowed = super::allowed_scopes(server, app);
    let refresh_scope = stored.scope.intersect(&allowed);
    let scope = match requested {
        Some(r) if !r.is_empty() => {
            if !r.is_subset_of(&stored.scope) {
                return Err(OAuthError::invalid_scope(
                    "scope exceeds the original grant",
                ));
            }
            r.intersect(&allowed)
        }
        _ => refresh_scope.clone(),
    };
    if scope.is_empty() {
        return Err(OAuthError::invalid_scope(
            "none of the granted scopes is allowed for this application any more",
        ));
    }
    // Claim the old token and store the new pair in one transaction.
    let next = Issue {
        app,
        user_id: stored.user_id.as_deref(),
        scope: &scope,
        refresh_scope: Some(&refresh_scope),
        family_id: &stored.family_id,
    };
    let minted = Minted::new(server, &next);
    let hashes = minted.hashes();
    let (access, Some(refresh)) = minted.rows(&next, &hashes) else {
        // `refresh_scope` is set above, so a refresh token is always minted.
        return Err(OAuthError::new(
            ErrorCode::ServerError,
            "no refresh token minted",
        ));
    };
    let sealed = minted
        .successor(&scope)
        .and_then(|s| crate::successor::seal(token, &stored.id, &s));
    match db
        .rotate_refresh_token(&hash, &access, &refresh, sealed.as_deref())
        .await?
    {
        RefreshClaim::Claimed(_) => Ok(minted.response(server, &scope)),
        RefreshClaim::Unavailable(r) => {
            // Lost a race with another request: judge by the fresh row.
            let Some(r) = r.filter(|r| r.revoked_at.is_none()) else {
                return Err(OAuthError::invalid_grant("invalid refresh token"));
            };
            retry_or_reuse(server, app, &r, token).await
        }
    }
}

/// A rotated token again: inside the window, the same successor pair; after it
/// (or with no window), reuse.
async fn retry_or_reuse(
    server: &AuthServer,
    app: &Application,
    r: &Refresh,
    token: &PlainToken,
) -> Result<TokenResponse, OAuthError> {
    let grace = server.settings.refresh_token_grace_period_seconds;
    let in_window = grace > 0 && r.rotated_at.is_some_and(|at| now() - at <= grace);
    let again = r
        .successor
        .as_deref()
        .filter(|_| in_window)
        .and_then(|sealed| crate::successor::open(token, &r.id, sealed));
    if let Some(s) = again {
        return Ok(resend(s));
    }
    // RFC 9700 §4.14.2: reuse of a rotated refresh token → revoke the family.
    server.db.revoke_family(&r.family_id).await?;
    tracing::warn!(client_id = %app.client_id, "refresh token reused; its family is revoked");
    Err(OAuthError::invalid_grant(
        "refresh token already used; the session is revoked",
    ))
}
