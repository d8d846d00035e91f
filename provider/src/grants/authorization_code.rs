//! Authorization code grant, token half (RFC 6749 §4.1.3).

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::OAuthError;
use crate::issue::{Issue, issue};
use crate::model::Application;
use crate::pkce;
use crate::secret::PlainToken;
use crate::storage::{GrantClaim, now};

pub async fn exchange(
    server: &AuthServer,
    app: &Application,
    code: &PlainToken,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    // The code is bound to the client it was issued to (RFC 6749 §4.1.3): only that
    // client can claim it, so another client cannot burn it.
    let grant = match server.db.claim_grant(&code.hash(), &app.id).await? {
        GrantClaim::Claimed(g) => g,
        GrantClaim::Replayed(g) => {
            // RFC 6749 §4.1.2: a code used twice is denied, and the tokens already
            // issued from it SHOULD be revoked. Every token from a code carries the
            // code's id as its family; a used code is kept as long as any token of
            // its family is (see `storage::cleanup`), so a late replay still finds it.
            server.db.revoke_family(&g.id).await?;
            tracing::warn!(client_id = %app.client_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::invalid_grant("authorization code already used"));
        }
        GrantClaim::NotFound => {
            return Err(OAuthError::invalid_grant("invalid authorization code"));
        }
    };
    if grant.expires_at <= now() {
        return Err(OAuthError::invalid_grant("authorization code expired"));
    }
    // RFC 6749 §4.1.3: redirect_uri is REQUIRED when it was sent to authorize, and
    // must be identical; when it was not (§3.1.2.3), it may be left out, and if sent
    // must be the one the code went to.
    match redirect_uri {
        None if grant.redirect_uri_given => {
            return Err(OAuthError::invalid_request("redirect_uri is required"));
        }
        None => {}
        Some(r) if r != grant.redirect_uri => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        Some(_) => {}
    }
    match (&grant.code_challenge, code_verifier) {
        (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => {}
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        // RFC 9700 §2.1.1: a challenge was sent, so the verifier is mandatory …
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // … and a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier sent but no code_challenge was used",
            ));
        }
        (None, None) => {}
    }
    let Some(user) = server
        .db
        .user_by_id(&grant.user_id)
        .await?
        .filter(|u| u.is_active)
    else {
        return Err(OAuthError::invalid_grant("the user is no longer active"));
    };
    let mut response = issue(
        server,
        Issue {
            app,
            user_id: Some(&grant.user_id),
            scope: &grant.scope,
            refresh_scope: Some(&grant.scope),
            family_id: &grant.id,
        },
    )
    .await?;
    if grant.scope.contains(crate::oidc::OPENID) {
        let login = crate::oidc::id_token::Login {
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
            sid: grant.sid.as_deref(),
        };
        response.id_token = Some(
            crate::oidc::id_token::mint(
                server,
                app,
                &user,
                &grant.scope,
                &response.access_token,
                &login,
            )
            .await?,
        );
    }
    Ok(response)
}
