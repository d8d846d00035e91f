//! RP-Initiated Logout 1.0: checking a logout request before the provider's login
//! session is ended (the HTTP side, with its confirmation page, is `http::oidc`).
//!
//! Rules (§2, §3): `id_token_hint` must be an ID Token this server signed (expired
//! is fine, a foreign key or signature is not); `client_id`, when sent with a hint,
//! must be one of its audiences; `post_logout_redirect_uri` needs a known client and
//! must be one of its registered post-logout URIs, exactly — otherwise an error page,
//! never a redirect; `state` is echoed on that redirect.

use serde_json::Value;

use crate::AuthServer;
use crate::error::PageError;
use crate::model::Application;
use crate::params::Params;

/// A logout request that passed every check.
#[derive(Debug, Default)]
pub struct LogoutRequest {
    pub app: Option<Application>,
    /// Registered for `app`: where to send the browser afterwards (with `state`).
    pub redirect: Option<String>,
    pub state: Option<String>,
    /// The hint's `sub` and `sid`: who the RP thinks is signed in.
    pub hint_sub: Option<String>,
    pub hint_sid: Option<String>,
}

impl LogoutRequest {
    /// The fields that reproduce it on the confirmation form.
    pub fn hidden_fields(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::new();
        if let Some(app) = &self.app {
            f.push(("client_id", app.client_id.clone()));
        }
        if let Some(r) = &self.redirect {
            f.push(("post_logout_redirect_uri", r.clone()));
        }
        if let Some(s) = &self.state {
            f.push(("state", s.clone()));
        }
        f
    }

    /// Where the browser goes when done: the RP's URI with `state`, or nowhere.
    pub fn redirect_url(&self) -> Option<String> {
        let r = self.redirect.as_deref()?;
        Some(match &self.state {
            Some(s) => crate::redirect_uri::with_params(r, &[("state", s)]),
            None => r.to_owned(),
        })
    }

    /// Whether the hint names the signed-in user (and, when it has one, its session).
    pub fn identifies(&self, user_id: &str, sid: &str) -> bool {
        self.hint_sub.as_deref() == Some(user_id)
            && self.hint_sid.as_deref().is_none_or(|h| h == sid)
    }
}

fn bad(message: &'static str) -> PageError {
    PageError::new(400, message)
}

fn audiences(claims: &Value) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

pub async fn validate(server: &AuthServer, p: &Params) -> Result<LogoutRequest, PageError> {
    let mut req = LogoutRequest {
        state: p.get("state").map(str::to_owned),
        ..LogoutRequest::default()
    };
    let mut client_id = p.get("client_id").map(str::to_owned);
    if let Some(hint) = p.get("id_token_hint") {
        let claims = crate::oidc::keys::verify_ours(&server.db, hint)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "logout: key lookup failed");
                PageError::new(503, "The server could not complete the request. Try again.")
            })?
            .filter(|c| {
                c.get("iss").and_then(Value::as_str) == Some(server.settings.issuer.as_str())
            })
            .ok_or_else(|| bad("The id_token_hint was not issued by this server."))?;
        let aud = audiences(&claims);
        match &client_id {
            Some(c) if !aud.contains(c) => {
                return Err(bad("The id_token_hint was not issued to this client_id."));
            }
            Some(_) => {}
            None => client_id = aud.into_iter().next(),
        }
        req.hint_sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        req.hint_sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
    }
    if let Some(c) = client_id {
        req.app = Some(
            server
                .db
                .application_by_client_id(&c)
                .await?
                .ok_or_else(|| bad("The application that sent you here is not registered."))?,
        );
    }
    if let Some(uri) = p.get("post_logout_redirect_uri") {
        let Some(app) = &req.app else {
            return Err(bad(
                "post_logout_redirect_uri needs client_id or id_token_hint to say which application it belongs to.",
            ));
        };
        let registered = server
            .db
            .logout_settings(&app.id)
            .await?
            .post_logout_redirect_uris;
        // Exact match only (RP-Initiated Logout §3: "MUST NOT perform post-logout
        // redirection" to an unregistered URI).
        if !registered.iter().any(|r| r == uri) {
            return Err(bad(
                "The post_logout_redirect_uri is not registered for this application, so you are not being sent back to it.",
            ));
        }
        req.redirect = Some(uri.to_owned());
    }
    Ok(req)
}
