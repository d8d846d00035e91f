//! `GET /oauth2/authorize/` (login → consent or skip → redirect) and the
//! consent form's `POST`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::errors::found;
use super::extract::{PageForm, Query};
use super::pages::{ConsentPage, RenderOrPlain, scope_description};
use super::web;
use crate::AuthServer;
use crate::authorize::{self, Validated};
use crate::error::{AuthorizeError, ErrorCode, PageError};
use crate::model::User;
use crate::oidc::prompt::{self, LoginDecision};
use crate::storage::now;

pub async fn show(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(params): Query,
) -> Result<Response, AuthorizeError> {
    let v = authorize::validate(&server, params).await?;
    let session = web::current_session(&server, &headers).await?;
    let current = session.as_ref().map(|s| prompt::CurrentLogin {
        username: &s.user.username,
        auth_time: s.auth_time,
    });
    match prompt::decide(&v.oidc, current.as_ref(), now()) {
        LoginDecision::Proceed => {}
        LoginDecision::Fail(code) => {
            let why = match code {
                ErrorCode::InteractionRequired => "another user is signed in than login_hint names",
                _ => "the user must sign in",
            };
            return Err(v.error(code, why));
        }
        LoginDecision::SignIn => {
            let next = prompt::return_path(uri.path(), uri.query().unwrap_or(""));
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("next", &next);
            if let Some(h) = &v.oidc.login_hint {
                q.append_pair("login_hint", h);
            }
            return Ok(found(&format!("/accounts/login/?{}", q.finish())));
        }
    }
    let Some(session) = session else {
        return Err(AuthorizeError::page("You are not signed in."));
    };
    // First-party apps skip the consent page (django-oauth-toolkit's skip_authorization),
    // unless the client asks for it (prompt=consent).
    if !v.oidc.consent && authorize::consent_can_be_skipped(&server, &v, &session.user).await? {
        return Ok(found(&authorize::approve(&server, &v, &session).await?));
    }
    if v.oidc.none {
        return Err(v.error(
            ErrorCode::ConsentRequired,
            "the user has not approved this application",
        ));
    }
    Ok(consent_page(&server, &headers, &v, &session.user))
}

fn consent_page(server: &AuthServer, headers: &HeaderMap, v: &Validated, user: &User) -> Response {
    web::form_page(server, headers, StatusCode::OK, |csrf| {
        ConsentPage {
            csrf_token: csrf,
            app_name: if v.app.name.is_empty() {
                &v.app.client_id
            } else {
                &v.app.name
            },
            username: &user.username,
            scopes: v
                .scope
                .iter()
                .map(|s| (s.to_owned(), scope_description(s)))
                .collect(),
            hidden: v.hidden_fields(),
        }
        .render_or_plain()
    })
}

/// The consent decision. Everything is validated again from the submitted
/// fields: nothing from the GET is trusted.
pub async fn decide(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, Response> {
    let form = form
        .map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")).into_response())?;
    web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))
        .map_err(IntoResponse::into_response)?;
    let session = web::current_session(&server, &headers)
        .await
        .map_err(|e| PageError::from(e).into_response())?
        .ok_or_else(|| {
            PageError::new(
                403,
                "You are not signed in any more. Start again from the application.",
            )
            .into_response()
        })?;
    let v = authorize::validate(&server, Ok(form.clone()))
        .await
        .map_err(IntoResponse::into_response)?;
    if form.get("allow").is_none() {
        return Err(v.denied().into_response());
    }
    let to = authorize::approve(&server, &v, &session)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(found(&to))
}
