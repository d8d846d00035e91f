//! Minting access and refresh tokens: the one place a token response is built.

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::model::Application;
use crate::scope::Scopes;
use crate::secret::{PlainToken, TokenHash, prefix};
use crate::storage::{NewToken, Result, new_id, now};
use crate::successor::Successor;

pub struct Issue<'a> {
    pub app: &'a Application,
    pub user_id: Option<&'a str>,
    /// The access token's scope (what the response reports).
    pub scope: &'a Scopes,
    /// The refresh token's scope, when one is issued (RFC 6749 §6: unchanged on refresh).
    pub refresh_scope: Option<&'a Scopes>,
    pub family_id: &'a str,
}

/// Tokens minted for one response, not yet stored.
pub struct Minted {
    access: PlainToken,
    access_id: String,
    refresh: Option<(PlainToken, String)>,
    expires_at: i64,
    refresh_expires_at: i64,
}

impl Minted {
    /// Fresh random values for an access token (and a refresh token when `refresh_scope` is set).
    pub fn new(server: &AuthServer, i: &Issue<'_>) -> Self {
        let s = &server.settings;
        let t = now();
        Self {
            access: PlainToken::generate(prefix::ACCESS),
            access_id: new_id(),
            refresh: i
                .refresh_scope
                .map(|_| (PlainToken::generate(prefix::REFRESH), new_id())),
            expires_at: t + s.access_token_expire_seconds,
            refresh_expires_at: t + s.refresh_token_expire_seconds,
        }
    }

    /// The rows to store: hashes only.
    pub fn rows<'a>(
        &'a self,
        i: &'a Issue<'a>,
        hashes: &'a Hashes,
    ) -> (NewToken<'a>, Option<NewToken<'a>>) {
        let access = NewToken {
            id: &self.access_id,
            hash: &hashes.access,
            application_id: &i.app.id,
            user_id: i.user_id,
            scope: i.scope,
            family_id: i.family_id,
            expires_at: self.expires_at,
        };
        let refresh = match (&self.refresh, i.refresh_scope, &hashes.refresh) {
            (Some((_, id)), Some(scope), Some(hash)) => Some(NewToken {
                id,
                hash,
                application_id: &i.app.id,
                user_id: i.user_id,
                scope,
                family_id: i.family_id,
                expires_at: self.refresh_expires_at,
            }),
            _ => None,
        };
        (access, refresh)
    }

    pub fn hashes(&self) -> Hashes {
        Hashes {
            access: self.access.hash(),
            refresh: self.refresh.as_ref().map(|(t, _)| t.hash()),
        }
    }

    /// The pair in clear, to be sealed for a retry inside the grace window.
    pub fn successor(&self, scope: &Scopes) -> Option<Successor> {
        let (refresh, _) = self.refresh.as_ref()?;
        Some(Successor {
            access_token: self.access.expose().to_owned(),
            refresh_token: refresh.expose().to_owned(),
            scope: scope.to_string(),
            access_expires_at: self.expires_at,
        })
    }

    /// The django-oauth-toolkit-shaped response.
    pub fn response(self, server: &AuthServer, scope: &Scopes) -> TokenResponse {
        TokenResponse {
            access_token: self.access.expose().to_owned(),
            token_type: "Bearer".to_owned(),
            expires_in: server.settings.access_token_expire_seconds,
            refresh_token: self.refresh.map(|(r, _)| r.expose().to_owned()),
            scope: scope.to_string(),
            id_token: None,
        }
    }
}

/// The response a rotation gave, again (a retry inside the grace window): the
/// same tokens, with the access token's remaining lifetime.
pub fn resend(s: Successor) -> TokenResponse {
    TokenResponse {
        access_token: s.access_token,
        token_type: "Bearer".to_owned(),
        expires_in: (s.access_expires_at - now()).max(0),
        refresh_token: Some(s.refresh_token),
        scope: s.scope,
        id_token: None,
    }
}

/// The stored form of [`Minted`]'s values.
pub struct Hashes {
    access: TokenHash,
    refresh: Option<TokenHash>,
}

/// Stores a new access token (and refresh token when `refresh_scope` is set),
/// in one transaction, and returns the django-oauth-toolkit-shaped response.
pub async fn issue(server: &AuthServer, i: Issue<'_>) -> Result<TokenResponse> {
    let minted = Minted::new(server, &i);
    let hashes = minted.hashes();
    let (access, refresh) = minted.rows(&i, &hashes);
    server.db.store_tokens(&access, refresh.as_ref()).await?;
    Ok(minted.response(server, i.scope))
}
