//! Client credentials grant (RFC 6749 §4.4): a confidential app acting for itself.
//! No refresh token (§4.4.3).

use latchkey_shared::TokenResponse;

use crate::AuthServer;
use crate::error::OAuthError;
use crate::issue::{Issue, issue};
use crate::model::Application;
use crate::scope::Scopes;
use crate::storage::new_id;

pub async fn exchange(
    server: &AuthServer,
    app: &Application,
    scope: Option<&Scopes>,
) -> Result<TokenResponse, OAuthError> {
    // RFC 6749 §4.4: MUST only be used by confidential clients.
    if app.is_public() {
        return Err(OAuthError::unauthorized_client(
            "client_credentials needs a confidential application",
        ));
    }
    let scope = super::resolve_scope(server, app, scope)?;
    let family = new_id();
    Ok(issue(
        server,
        Issue {
            app,
            user_id: None,
            scope: &scope,
            refresh_scope: None,
            family_id: &family,
        },
    )
    .await?)
}
