//! Token revocation (RFC 7009).

use crate::AuthServer;
use crate::model::Application;
use crate::secret::PlainToken;
use crate::storage::Result;

/// Revokes `token` if it belongs to `app`. Unknown tokens, or tokens of other
/// clients, are ignored: the answer is 200 either way (RFC 7009 §2.2), so the
/// endpoint tells nothing about tokens the caller does not own.
/// Revoking a refresh token revokes its whole family, access tokens included
/// (RFC 7009 §2.1).
pub async fn revoke(
    server: &AuthServer,
    app: &Application,
    token: &PlainToken,
    hint: Option<&str>,
) -> Result<()> {
    let hash = token.hash();
    let db = &server.db;
    // The hint only orders the search (RFC 7009 §2.1).
    let refresh_first = hint == Some("refresh_token");
    for try_refresh in [refresh_first, !refresh_first] {
        if try_refresh {
            if let Some(r) = db.refresh_token_by_hash(&hash).await? {
                if r.application_id == app.id {
                    db.revoke_family(&r.family_id).await?;
                }
                return Ok(());
            }
        } else if let Some((id, application_id)) = db.access_token_owner(&hash).await? {
            if application_id == app.id {
                db.delete_access_token(&id).await?;
            }
            return Ok(());
        }
    }
    Ok(())
}
