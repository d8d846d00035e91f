//! The admin's forms: field errors, and the application form as typed,
//! checked field by field with the rules `management` applies to every entry
//! point (CLI, seeding, admin), so each problem is shown next to its field.

use crate::AuthServer;
use crate::error::PageError;
use crate::management::{self, ManagementError};
use crate::model::{AppGrant, Application, ClientType};
use crate::params::Params;
use crate::storage::{AppFields, StorageError};

/// Field errors of a form, by field name.
#[derive(Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn add(&mut self, field: &'static str, e: impl ToString) {
        self.0.push((field, e.to_string()));
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The form as the operator typed it (kept when it is re-rendered with errors).
#[derive(Debug, Default)]
pub struct AppForm {
    pub client_id: String,
    pub client_type: String,
    pub grant: String,
    pub redirect_uris: String,
    pub name: String,
    pub skip_authorization: bool,
    pub require_pkce: bool,
    pub is_resource_server: bool,
    pub allowed_scopes: String,
    pub owner: String,
    /// OpenID Connect logout (one URI per line; one URI).
    pub post_logout_redirect_uris: String,
    pub backchannel_logout_uri: String,
}

impl AppForm {
    pub(super) fn from_params(p: &Params) -> Self {
        let text = |k: &str| p.get(k).unwrap_or("").to_owned();
        Self {
            client_id: text("client_id").trim().to_owned(),
            client_type: text("client_type"),
            grant: text("authorization_grant_type"),
            redirect_uris: text("redirect_uris"),
            name: text("name").trim().to_owned(),
            skip_authorization: p.has("skip_authorization"),
            require_pkce: p.has("require_pkce"),
            is_resource_server: p.has("is_resource_server"),
            allowed_scopes: text("allowed_scopes"),
            owner: text("user").trim().to_owned(),
            post_logout_redirect_uris: text("post_logout_redirect_uris"),
            backchannel_logout_uri: text("backchannel_logout_uri").trim().to_owned(),
        }
    }

    /// The logout settings (checked by [`Self::validate`]).
    pub(super) fn logout(&self) -> crate::storage::oidc::LogoutSettings {
        crate::oidc::registration::parse(
            &self.post_logout_redirect_uris,
            &self.backchannel_logout_uri,
        )
        .unwrap_or_default()
    }

    pub(super) async fn from_app(
        server: &AuthServer,
        a: &Application,
    ) -> Result<Self, StorageError> {
        let logout = server.db.logout_settings(&a.id).await?;
        Ok(Self {
            post_logout_redirect_uris: logout.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: logout.backchannel_logout_uri.unwrap_or_default(),
            client_id: a.client_id.clone(),
            client_type: a.client_type.as_str().to_owned(),
            grant: a.grant.as_str().to_owned(),
            redirect_uris: a.redirect_uris.join("\n"),
            name: a.name.clone(),
            skip_authorization: a.skip_authorization,
            require_pkce: a.require_pkce,
            is_resource_server: a.is_resource_server,
            allowed_scopes: a
                .allowed_scopes
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            owner: management::owner_name(&server.db, a.user_id.as_deref()).await?,
        })
    }

    /// Checks every field (with the rules `management` applies to all entry
    /// points), reporting each problem next to its field.
    pub(super) async fn validate(&self, server: &AuthServer) -> Result<AppFields, Errors> {
        let mut errors = Errors::default();
        if let Err(e) = management::validate_client_id(&self.client_id) {
            errors.add("client_id", e);
        }
        let client_type = ClientType::parse(&self.client_type);
        if client_type.is_none() {
            errors.add("client_type", "Choose confidential or public.");
        }
        let grant = AppGrant::parse(&self.grant);
        if grant.is_none() {
            errors.add("authorization_grant_type", "Choose a grant type.");
        }
        let uris: Vec<String> = self
            .redirect_uris
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if let Err(e) =
            management::validate_redirect_uris(grant.unwrap_or(AppGrant::Password), &uris)
        {
            errors.add("redirect_uris", e);
        }
        if let (Some(g), Some(t)) = (grant, client_type)
            && let Err(e) = management::validate_grant_pairing(g, t)
        {
            errors.add("authorization_grant_type", e);
        }
        if let Err(e) = crate::oidc::registration::parse(&self.post_logout_redirect_uris, "") {
            errors.add("post_logout_redirect_uris", e);
        }
        if let Err(e) = crate::oidc::registration::parse("", &self.backchannel_logout_uri) {
            errors.add("backchannel_logout_uri", e);
        }
        if self.name.chars().count() > 255 {
            errors.add("name", "The name is at most 255 characters.");
        }
        let scopes =
            management::parse_allowed_scopes(&self.allowed_scopes, &server.settings.scopes)
                .map_err(|e| errors.add("allowed_scopes", e))
                .ok()
                .flatten();
        let mut user_id = None;
        if !self.owner.is_empty() {
            match server.db.user_by_username(&self.owner).await {
                Ok(Some(u)) => user_id = Some(u.id),
                Ok(None) => errors.add("user", "No user has this username."),
                Err(e) => errors.add("user", PageError::from(e).message),
            }
        }
        match (client_type, grant) {
            (Some(client_type), Some(grant)) if errors.is_empty() => Ok(AppFields {
                client_id: self.client_id.clone(),
                client_type,
                grant,
                name: self.name.clone(),
                redirect_uris: uris,
                skip_authorization: self.skip_authorization,
                require_pkce: self.require_pkce,
                allowed_scopes: scopes,
                user_id,
                is_resource_server: self.is_resource_server,
            }),
            _ => Err(errors),
        }
    }
}

/// Attributes a failure of the final save to a field, or to the form as a whole.
pub(super) fn save_error(e: ManagementError) -> Result<Errors, PageError> {
    let mut errors = Errors::default();
    match e {
        ManagementError::Storage(StorageError::Conflict(_)) => errors.add(
            "client_id",
            "An application with this client id already exists.",
        ),
        ManagementError::Invalid(m) => errors.add("__all__", m),
        ManagementError::Storage(e) => return Err(e.into()),
    }
    Ok(errors)
}
