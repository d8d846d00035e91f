//! Creating users and applications, with the validation every entry point
//! shares (the CLI, the demo's seeding, the admin UI).

use crate::model::{AppGrant, Application, ClientType, User};
use crate::password::{self, Password};
use crate::redirect_uri;
use crate::scope::Scopes;
use crate::secret::{PlainToken, prefix};
use crate::storage::{AppFields, Db, NewUser, StorageError};

/// User-supplied client secrets shorter than this are refused.
pub const MIN_CLIENT_SECRET_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn invalid(msg: impl Into<String>) -> ManagementError {
    ManagementError::Invalid(msg.into())
}

pub fn validate_username(username: &str) -> Result<(), ManagementError> {
    let ok = !username.is_empty()
        && username.len() <= 150
        && username
            .chars()
            .all(|c| c.is_alphanumeric() || "@.+-_".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid("usernames are 1–150 letters, digits and @ . + - _"))
    }
}

pub async fn create_user(
    db: &Db,
    username: &str,
    password: &Password,
    email: &str,
    is_staff: bool,
    groups: &[String],
) -> Result<User, ManagementError> {
    validate_username(username)?;
    let hash = hash_password(password).await?;
    Ok(db
        .create_user(NewUser {
            username,
            email,
            password_hash: &hash,
            is_staff,
            groups,
        })
        .await?)
}

/// A fresh client id: 40 random letters and digits, like django-oauth-toolkit's.
pub fn generate_client_id() -> String {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(40);
    while id.len() < 40 {
        let mut bytes = [0u8; 64];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut bytes);
        // Rejection sampling keeps every character equally likely (248 = 4 × 62).
        id.extend(
            bytes
                .iter()
                .filter(|b| **b < 248)
                .map(|b| ALPHABET[usize::from(*b % 62)] as char)
                .take(40 - id.len()),
        );
    }
    id
}

/// Checks the fields an operator gave (redirect URIs, client id, grant/type pairing).
pub fn validate_fields(f: &AppFields) -> Result<(), ManagementError> {
    validate_client_id(&f.client_id)?;
    validate_redirect_uris(f.grant, &f.redirect_uris)?;
    validate_resource_server(f)?;
    validate_grant_pairing(f.grant, f.client_type)
}

pub fn validate_client_id(client_id: &str) -> Result<(), ManagementError> {
    if client_id.is_empty()
        || client_id.len() > 100
        || !client_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(invalid(
            "the client id must be 1–100 printable ASCII characters without spaces",
        ));
    }
    Ok(())
}

/// Each URI per [`redirect_uri::validate_registration`]; the code grant needs
/// at least one (RFC 6749 §3.1.2.2).
pub fn validate_redirect_uris(grant: AppGrant, uris: &[String]) -> Result<(), ManagementError> {
    for uri in uris {
        redirect_uri::validate_registration(uri).map_err(invalid)?;
    }
    if grant == AppGrant::AuthorizationCode && uris.is_empty() {
        return Err(invalid(
            "the authorization code grant needs at least one redirect URI",
        ));
    }
    Ok(())
}

pub fn validate_resource_server(f: &AppFields) -> Result<(), ManagementError> {
    if f.is_resource_server && f.client_type == ClientType::Public {
        return Err(invalid(
            "a resource server must be a confidential application (it authenticates to introspect)",
        ));
    }
    Ok(())
}

pub fn validate_grant_pairing(grant: AppGrant, kind: ClientType) -> Result<(), ManagementError> {
    if grant == AppGrant::ClientCredentials && kind == ClientType::Public {
        return Err(invalid(
            "client credentials needs a confidential application (RFC 6749 §4.4)",
        ));
    }
    Ok(())
}

/// An operator's allowed-scopes list: empty means every scope the server knows;
/// otherwise each must be one of `known` (RFC 6749 §3.3 syntax).
pub fn parse_allowed_scopes(
    input: &str,
    known: &Scopes,
) -> Result<Option<Scopes>, ManagementError> {
    let scopes = Scopes::parse(input.trim())
        .ok_or_else(|| invalid("scopes are space-separated names without quotes or backslashes"))?;
    if scopes.is_empty() {
        return Ok(None);
    }
    if let Some(unknown) = scopes.iter().find(|s| !known.contains(s)) {
        return Err(invalid(format!(
            "unknown scope {unknown:?}; this server knows: {known}"
        )));
    }
    Ok(Some(scopes))
}

pub fn validate_password(password: &Password) -> Result<(), ManagementError> {
    let p = password.expose();
    if p.is_empty() || p.len() > 1024 {
        return Err(invalid("the password must be 1–1024 characters"));
    }
    Ok(())
}

async fn hash_password(password: &Password) -> Result<String, ManagementError> {
    validate_password(password)?;
    password::hash_bounded(password)
        .await
        .map_err(|e| invalid(e.to_string()))
}

/// Replaces a user's password and signs the user out everywhere, in one
/// transaction: whoever knew the old password keeps no session, access token or
/// refresh token (and reactivation brings none back). `false`: no such user.
pub async fn set_password(
    db: &Db,
    user_id: &str,
    password: &Password,
) -> Result<bool, ManagementError> {
    let hash = hash_password(password).await?;
    Ok(db.sign_out_user(user_id, Some(&hash)).await?)
}

/// Revokes every token, login session and unused code of a user, for good.
pub async fn sign_out_everywhere(db: &Db, user_id: &str) -> Result<bool, ManagementError> {
    Ok(db.sign_out_user(user_id, None).await?)
}

/// An operator sets a user's active and staff flags. Operators cannot deactivate
/// themselves or drop their own staff flag (so the last operator cannot lock
/// everyone out by accident); deactivating signs the user out everywhere.
pub async fn set_user_flags(
    db: &Db,
    operator: &User,
    user: &User,
    is_active: bool,
    is_staff: bool,
) -> Result<(), ManagementError> {
    if user.id == operator.id && !(is_active && is_staff) {
        return Err(invalid(
            "You cannot deactivate yourself or remove your own staff status: ask another operator.",
        ));
    }
    db.set_user_flags(&user.id, is_active, is_staff).await?;
    Ok(())
}

/// Creates an application. Confidential apps get `secret` (≥ 32 characters) or
/// a generated one; the returned secret is the only time it is seen in clear.
pub async fn create_application(
    db: &Db,
    fields: AppFields,
    secret: Option<&str>,
) -> Result<(Application, Option<PlainToken>), ManagementError> {
    validate_fields(&fields)?;
    let secret = match (fields.client_type, secret) {
        (ClientType::Public, None) => None,
        (ClientType::Public, Some(_)) => {
            return Err(invalid("public applications have no client secret"));
        }
        (ClientType::Confidential, Some(s)) if s.chars().count() < MIN_CLIENT_SECRET_LEN => {
            return Err(invalid(format!(
                "client secrets must be at least {MIN_CLIENT_SECRET_LEN} characters"
            )));
        }
        (ClientType::Confidential, Some(s)) => Some(PlainToken::from_client(s)),
        (ClientType::Confidential, None) => Some(PlainToken::generate(prefix::CLIENT_SECRET)),
    };
    let app = db
        .create_application(&fields, secret.as_ref().map(PlainToken::hash).as_ref())
        .await?;
    Ok((app, secret))
}

/// Issues a new secret for a confidential app; the old one stops working at once.
pub async fn rotate_secret(db: &Db, app: &Application) -> Result<PlainToken, ManagementError> {
    if app.is_public() {
        return Err(invalid("public applications have no client secret"));
    }
    let secret = PlainToken::generate(prefix::CLIENT_SECRET);
    db.set_client_secret(&app.id, &secret.hash()).await?;
    Ok(secret)
}

/// Saves an operator's edit. A public app loses its secret; an app that became
/// confidential without one gets a fresh secret, returned to be shown once.
pub async fn update_application(
    db: &Db,
    app: &Application,
    fields: &AppFields,
) -> Result<Option<PlainToken>, ManagementError> {
    validate_fields(fields)?;
    db.update_application(&app.id, fields).await?;
    // The tokens were issued under the old client type (a confidential app proved
    // its secret): they do not carry over to the new one.
    if fields.client_type != app.client_type {
        db.revoke_application_tokens(&app.id).await?;
    }
    match fields.client_type {
        ClientType::Public if app.client_secret_hash.is_some() => {
            db.clear_client_secret(&app.id).await?;
            Ok(None)
        }
        ClientType::Confidential if app.client_secret_hash.is_none() => {
            let secret = PlainToken::generate(prefix::CLIENT_SECRET);
            db.set_client_secret(&app.id, &secret.hash()).await?;
            Ok(Some(secret))
        }
        _ => Ok(None),
    }
}

/// An application as the admin's list shows it: with its owner's username.
#[derive(Debug)]
pub struct ListedApplication {
    pub app: Application,
    /// Empty when the app has no owner (or the owner is gone).
    pub owner: String,
}

/// A page of applications (see [`Db::list_applications`]) with their owners'
/// usernames: two queries for the page, not one more per row.
pub async fn list_applications(
    db: &Db,
    search: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<ListedApplication>, StorageError> {
    let apps = db.list_applications(search, limit, offset).await?;
    let mut ids: Vec<&str> = apps.iter().filter_map(|a| a.user_id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = db.usernames_by_id(&ids).await?;
    Ok(apps
        .into_iter()
        .map(|app| ListedApplication {
            owner: app
                .user_id
                .as_deref()
                .and_then(|id| names.get(id).cloned())
                .unwrap_or_default(),
            app,
        })
        .collect())
}

/// The username of an application's owner, or empty.
pub async fn owner_name(db: &Db, user_id: Option<&str>) -> Result<String, StorageError> {
    let ids: Vec<&str> = user_id.into_iter().collect();
    let mut names = db.usernames_by_id(&ids).await?;
    Ok(user_id.and_then(|id| names.remove(id)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_client_ids_are_always_40_alphanumerics() {
        for _ in 0..500 {
            let id = super::generate_client_id();
            assert_eq!(id.len(), 40);
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }
}
