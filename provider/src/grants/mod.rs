//! The token endpoint's grants, one file each. `exchange` authenticates the
//! client, checks the grant is the app's own, and hands over to the grant.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;

use std::net::IpAddr;

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::client_auth::{self, ClientCredentials};
use crate::error::OAuthError;
use crate::model::{AppGrant, Application};
use crate::scope::Scopes;
use crate::token_request::TokenRequest;

/// Runs one token request end to end.
pub async fn exchange(
    server: &AuthServer,
    creds: &ClientCredentials,
    request: TokenRequest,
    client_ip: IpAddr,
) -> Result<TokenResponse, OAuthError> {
    // Password logins queue for hashing first: over the queue's bound they are
    // refused before any database work.
    let ticket = match &request {
        TokenRequest::Password { .. } => Some(crate::throttle::queue_ticket(server, client_ip)?),
        _ => None,
    };
    let app = client_auth::authenticate(&server.db, creds).await?;
    if !grant_allowed(&app, &request) {
        return Err(OAuthError::unauthorized_client(format!(
            "this application may not use the {} grant",
            request.grant_type()
        )));
    }
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            authorization_code::exchange(
                server,
                &app,
                &code,
                redirect_uri.as_deref(),
                code_verifier.as_deref(),
            )
            .await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh_token::exchange(server, &app, &refresh_token, scope.as_ref()).await,
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            password::exchange(
                server,
                ticket,
                &app,
                &username,
                &password,
                scope.as_ref(),
                client_ip,
            )
            .await
        }
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::exchange(server, &app, scope.as_ref()).await
        }
    }
}

/// django-oauth-toolkit's rule: an app uses its own grant type, plus refresh
/// for the grants that issue refresh tokens.
fn grant_allowed(app: &Application, request: &TokenRequest) -> bool {
    matches!(
        (app.grant, request),
        (
            AppGrant::AuthorizationCode,
            TokenRequest::AuthorizationCode { .. } | TokenRequest::RefreshToken { .. }
        ) | (
            AppGrant::Password,
            TokenRequest::Password { .. } | TokenRequest::RefreshToken { .. }
        ) | (
            AppGrant::ClientCredentials,
            TokenRequest::ClientCredentials { .. }
        )
    )
}

/// Every scope the app may have now.
pub fn allowed_scopes(server: &AuthServer, app: &Application) -> Scopes {
    match &app.allowed_scopes {
        Some(a) => a.intersect(&server.settings.scopes),
        None => server.settings.scopes.clone(),
    }
}

/// The scope a new grant gets: what was asked for, which must be within what the
/// app may have; when nothing was asked for, all of that except OpenID Connect's
/// scopes (RFC 6749 §3.3; OIDC Core §3.1.2.1: an OpenID request names `openid`), or
/// all of it when only those are allowed.
pub fn resolve_scope(
    server: &AuthServer,
    app: &Application,
    requested: Option<&Scopes>,
) -> Result<Scopes, OAuthError> {
    let allowed = allowed_scopes(server, app);
    match requested {
        None => Ok(plain_default(allowed)),
        Some(r) if r.is_empty() => Ok(plain_default(allowed)),
        Some(r) if r.is_subset_of(&allowed) => Ok(r.clone()),
        Some(_) => Err(OAuthError::invalid_scope(format!(
            "scope must be within \"{allowed}\""
        ))),
    }
}

fn plain_default(allowed: Scopes) -> Scopes {
    let oidc = Scopes::from_stored(&crate::oidc::SCOPES.join(" "));
    let plain = Scopes::from_stored(
        &allowed
            .iter()
            .filter(|s| !oidc.contains(s))
            .collect::<Vec<_>>()
            .join(" "),
    );
    if plain.is_empty() { allowed } else { plain }
}
