//! Resource owner password credentials grant (RFC 6749 §4.3), kept for the
//! seed's CLI app. RFC 9700 §2.4 says MUST NOT; we ship it per-app only,
//! Argon2id-verified, and throttled per username and per client IP.

use std::net::IpAddr;

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::OAuthError;
use crate::issue::{Issue, issue};
use crate::model::Application;
use crate::password::{Password, Ticket};
use crate::scope::Scopes;
use crate::storage::new_id;
use crate::throttle::{self, LoginError};

pub async fn exchange(
    server: &AuthServer,
    ticket: Option<Ticket>,
    app: &Application,
    username: &str,
    password: &Password,
    scope: Option<&Scopes>,
    ip: IpAddr,
) -> Result<TokenResponse, OAuthError> {
    let scope = super::resolve_scope(server, app, scope)?;
    let ticket = match ticket {
        Some(t) => t,
        None => throttle::queue_ticket(server, ip)?,
    };
    let user = match throttle::authenticate_user(server, ticket, username, password, ip).await {
        Ok(Some(user)) => user,
        Ok(None) => return Err(OAuthError::invalid_grant("invalid credentials given")),
        Err(LoginError::Throttled(t)) => return Err(t.into()),
        Err(LoginError::Storage(e)) => return Err(e.into()),
    };
    let family = new_id();
    Ok(issue(
        server,
        Issue {
            app,
            user_id: Some(&user.id),
            scope: &scope,
            refresh_scope: Some(&scope),
            family_id: &family,
        },
    )
    .await?)
}
