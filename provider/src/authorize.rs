//! Authorization endpoint (RFC 6749 §4.1.1–§4.1.2): validating the request,
//! issuing the code, or refusing.
//!
//! The order matters (RFC 6749 §4.1.2.1): until the client and the redirect
//! URI are known good, errors are shown to the user and never redirected.

use crate::AuthServer;
use crate::error::{AuthorizeError, ErrorCode};
use crate::model::{AppGrant, Application, User};
use crate::oidc::prompt::OidcRequest;
use crate::params::Params;
use crate::pkce;
use crate::redirect_uri;
use crate::scope::Scopes;
use crate::secret::{PlainToken, prefix};
use crate::storage::{Grant, new_id, now};

/// A request that passed every check: ready for login, consent, and a code.
#[derive(Debug, Clone)]
pub struct Validated {
    pub app: Application,
    pub redirect_uri: String,
    /// The request named `redirect_uri` (else: the app's only registered one).
    pub redirect_uri_given: bool,
    pub state: Option<String>,
    pub scope: Scopes,
    pub code_challenge: Option<String>,
    /// `nonce`, `prompt`, `max_age`, `login_hint` (OIDC Core §3.1.2.1).
    pub oidc: OidcRequest,
}

/// The user's login session at the provider, as a code records it.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// OIDC `sid`: the session's public id (never its cookie).
    pub sid: String,
    pub auth_time: i64,
}

impl Validated {
    pub fn error(&self, code: ErrorCode, description: &'static str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            code,
            description: description.into(),
        }
    }

    /// Where the user goes after choosing Cancel on the consent page.
    pub fn denied(&self) -> AuthorizeError {
        self.error(ErrorCode::AccessDenied, "the user denied the request")
    }

    /// The parameters that reproduce this request (the consent form's hidden fields).
    pub fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.app.client_id.clone()),
            ("scope", self.scope.to_string()),
        ];
        if self.redirect_uri_given {
            f.push(("redirect_uri", self.redirect_uri.clone()));
        }
        if let Some(s) = &self.state {
            f.push(("state", s.clone()));
        }
        if let Some(c) = &self.code_challenge {
            f.push(("code_challenge", c.clone()));
            f.push(("code_challenge_method", "S256".to_owned()));
        }
        if let Some(n) = &self.oidc.nonce {
            f.push(("nonce", n.clone()));
        }
        f
    }
}

pub async fn validate(
    server: &AuthServer,
    params: Result<Params, String>,
) -> Result<Validated, AuthorizeError> {
    let params = params.map_err(|e| {
        AuthorizeError::page(format!("The authorization request is malformed: {e}."))
    })?;
    let client_id = params
        .get("client_id")
        .ok_or_else(|| AuthorizeError::page("The authorization request has no client_id."))?;
    let app = server
        .db
        .application_by_client_id(client_id)
        .await?
        .ok_or_else(|| {
            AuthorizeError::page("The application that sent you here is not registered.")
        })?;
    // RFC 6749 §3.1.2.3 (and OAuth 2.1): with exactly one registered URI the
    // request may leave redirect_uri out; with several it must name one.
    let given = params.get("redirect_uri");
    let redirect = match (given, app.redirect_uris.as_slice()) {
        (Some(r), _) => r.to_owned(),
        (None, [only]) => only.clone(),
        (None, _) => {
            return Err(AuthorizeError::page(
                "The authorization request has no redirect_uri; it must name one of the application's registered URIs.",
            ));
        }
    };
    if !redirect_uri::is_registered(&redirect, &app.redirect_uris) {
        return Err(AuthorizeError::page(
            "The redirect_uri is not registered for this application, so you are not being sent back to it.",
        ));
    }
    let mut v = Validated {
        app,
        redirect_uri: redirect,
        redirect_uri_given: given.is_some(),
        state: params.get("state").map(str::to_owned),
        scope: Scopes::default(),
        code_challenge: None,
        oidc: OidcRequest::default(),
    };
    if v.app.grant != AppGrant::AuthorizationCode {
        return Err(v.error(
            ErrorCode::UnauthorizedClient,
            "this application may not use the authorization code grant",
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => return Err(v.error(ErrorCode::InvalidRequest, "response_type is required")),
        Some(_) => {
            return Err(v.error(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    v.oidc = OidcRequest::parse(&params).map_err(|e| v.error(ErrorCode::InvalidRequest, e))?;
    let requested = match params.get("scope") {
        None => None,
        Some(s) => Some(
            Scopes::parse(s).ok_or_else(|| v.error(ErrorCode::InvalidScope, "malformed scope"))?,
        ),
    };
    v.scope = crate::grants::resolve_scope(server, &v.app, requested.as_ref()).map_err(|_| {
        v.error(
            ErrorCode::InvalidScope,
            "the requested scope is not allowed for this application",
        )
    })?;
    if v.scope.is_empty() {
        return Err(v.error(
            ErrorCode::InvalidScope,
            "no scope is available to this application",
        ));
    }
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    ) {
        (Some(c), Some("S256")) if pkce::is_valid_challenge(c) => {
            v.code_challenge = Some(c.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(v.error(ErrorCode::InvalidRequest, "malformed code_challenge"));
        }
        // RFC 7636 §4.3: a missing method means `plain`, which we do not accept.
        (Some(_), _) => {
            return Err(v.error(
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256",
            ));
        }
        (None, Some(_)) => {
            return Err(v.error(
                ErrorCode::InvalidRequest,
                "code_challenge_method without code_challenge",
            ));
        }
        (None, None) if v.app.is_public() || v.app.require_pkce => {
            // RFC 9700 §2.1.1: PKCE is required for public clients (and opted-in apps).
            return Err(v.error(
                ErrorCode::InvalidRequest,
                "PKCE (code_challenge, S256) is required for this application",
            ));
        }
        (None, None) => {}
    }
    Ok(v)
}

/// Whether the consent page can be skipped for this user and request (without
/// `prompt=consent`): the app's `skip_authorization` (django-oauth-toolkit's rule).
/// The one place that decides it, `prompt=none` included.
pub async fn consent_can_be_skipped(
    _server: &AuthServer,
    v: &Validated,
    _user: &User,
) -> Result<bool, AuthorizeError> {
    Ok(v.app.skip_authorization)
}

/// Issues a code for the logged-in user and returns the client's redirect URL.
pub async fn approve(
    server: &AuthServer,
    v: &Validated,
    session: &Session,
) -> Result<String, AuthorizeError> {
    let user = &session.user;
    let code = PlainToken::generate(prefix::CODE);
    let grant = Grant {
        id: new_id(),
        application_id: v.app.id.clone(),
        user_id: user.id.clone(),
        redirect_uri: v.redirect_uri.clone(),
        redirect_uri_given: v.redirect_uri_given,
        scope: v.scope.clone(),
        code_challenge: v.code_challenge.clone(),
        expires_at: now() + server.settings.authorization_code_expire_seconds,
        nonce: v.oidc.nonce.clone(),
        auth_time: Some(session.auth_time),
        sid: Some(session.sid.clone()),
    };
    server.db.insert_grant(&grant, &code.hash()).await?;
    let mut params = vec![("code", code.expose())];
    if let Some(s) = &v.state {
        params.push(("state", s));
    }
    Ok(redirect_uri::with_params(&v.redirect_uri, &params))
}
