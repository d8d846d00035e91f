//! Creating users and applications, with the validation every entry point
//! shares (the CLI, the demo's seeding, the admin UI).

use crate::model::{AppGrant, Application, ClientType, User};
use crate::password;
use crate::redirect_uri;
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
    password: &str,
    email: &str,
    is_staff: bool,
    groups: &[String],
) -> Result<User, ManagementError> {
    validate_username(username)?;
    if password.is_empty() || password.len() > 1024 {
        return Err(invalid("the password must be 1–1024 characters"));
    }
    let pw = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&pw))
        .await
        .map_err(|e| invalid(e.to_string()))?
        .map_err(|e| invalid(e.to_string()))?;
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

/// A fresh client id: 40 characters, like django-oauth-toolkit's.
pub fn generate_client_id() -> String {
    PlainToken::generate("")
        .expose()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(40)
        .collect()
}

/// Checks the fields an operator gave (redirect URIs, client id, grant/type pairing).
pub fn validate_fields(f: &AppFields) -> Result<(), ManagementError> {
    if f.client_id.is_empty()
        || f.client_id.len() > 100
        || !f.client_id.chars().all(|c| c.is_ascii_graphic())
    {
        return Err(invalid(
            "the client id must be 1–100 printable ASCII characters without spaces",
        ));
    }
    for uri in &f.redirect_uris {
        redirect_uri::validate_registration(uri).map_err(invalid)?;
    }
    if f.grant == AppGrant::AuthorizationCode && f.redirect_uris.is_empty() {
        return Err(invalid(
            "the authorization code grant needs at least one redirect URI",
        ));
    }
    if f.grant == AppGrant::ClientCredentials && f.client_type == ClientType::Public {
        return Err(invalid(
            "client credentials needs a confidential application (RFC 6749 §4.4)",
        ));
    }
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
