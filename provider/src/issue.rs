//! Minting access and refresh tokens: the one place a token response is built.

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::model::Application;
use crate::scope::Scopes;
use crate::secret::{PlainToken, prefix};
use crate::storage::{NewToken, Result, new_id, now};

pub struct Issue<'a> {
    pub app: &'a Application,
    pub user_id: Option<&'a str>,
    /// The access token's scope (what the response reports).
    pub scope: &'a Scopes,
    /// The refresh token's scope, when one is issued (RFC 6749 §6: unchanged on refresh).
    pub refresh_scope: Option<&'a Scopes>,
    pub family_id: &'a str,
}

/// Stores a new access token (and refresh token when `refresh_scope` is set)
/// and returns the django-oauth-toolkit-shaped response.
pub async fn issue(server: &AuthServer, i: Issue<'_>) -> Result<TokenResponse> {
    let s = &server.settings;
    let access = PlainToken::generate(prefix::ACCESS);
    let access_id = new_id();
    let t = now();
    server
        .db
        .insert_access_token(&NewToken {
            id: &access_id,
            hash: &access.hash(),
            application_id: &i.app.id,
            user_id: i.user_id,
            scope: i.scope,
            family_id: i.family_id,
            expires_at: t + s.access_token_expire_seconds,
        })
        .await?;
    let refresh = match i.refresh_scope {
        None => None,
        Some(refresh_scope) => {
            let refresh = PlainToken::generate(prefix::REFRESH);
            server
                .db
                .insert_refresh_token(
                    &NewToken {
                        id: &new_id(),
                        hash: &refresh.hash(),
                        application_id: &i.app.id,
                        user_id: i.user_id,
                        scope: refresh_scope,
                        family_id: i.family_id,
                        expires_at: t + s.refresh_token_expire_seconds,
                    },
                    &access_id,
                )
                .await?;
            Some(refresh)
        }
    };
    Ok(TokenResponse {
        access_token: access.expose().to_owned(),
        token_type: "Bearer".to_owned(),
        expires_in: s.access_token_expire_seconds,
        refresh_token: refresh.map(|r| r.expose().to_owned()),
        scope: i.scope.to_string(),
    })
}
