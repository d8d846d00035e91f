//! Remembered consent per user and application: the consent page is shown only
//! for scopes the user has not granted that application before.
//!
//! django-oauth-toolkit skips the page for `skip_authorization` apps (and, with
//! `approval_prompt=auto`, when a live token covers the request); Latchkey keeps
//! the user's decision itself, so it survives token expiry and is forgotten only
//! when the user revokes the app (`/oauth2/authorized_tokens/`).

use crate::AuthServer;
use crate::model::{Application, User};
use crate::scope::Scopes;
use crate::storage::Result;

/// Whether `requested` needs no consent page: a first-party app
/// (`skip_authorization`), or scopes all within what the user granted before.
pub async fn covers(
    server: &AuthServer,
    user: &User,
    app: &Application,
    requested: &Scopes,
) -> Result<bool> {
    if app.skip_authorization {
        return Ok(true);
    }
    Ok(server
        .db
        .consent(&user.id, &app.id)
        .await?
        .is_some_and(|granted| requested.is_subset_of(&granted)))
}

/// Records that the user granted `scope`, in addition to what they granted before.
/// (Two approvals racing may keep only one's new scopes: the user is then asked
/// again for the other, never granted more than they approved.)
pub async fn remember(
    server: &AuthServer,
    user: &User,
    app: &Application,
    scope: &Scopes,
) -> Result<()> {
    let granted = match server.db.consent(&user.id, &app.id).await? {
        Some(old) => old.union(scope),
        None => scope.clone(),
    };
    server.db.store_consent(&user.id, &app.id, &granted).await
}

/// Forgets the user's consent to `app` (the next authorization asks again).
pub async fn forget(server: &AuthServer, user: &User, app: &Application) -> Result<()> {
    server.db.delete_consent(&user.id, &app.id).await
}
