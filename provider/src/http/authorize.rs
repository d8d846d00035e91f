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
use crate::consent;
use crate::error::{AuthorizeError, PageError};
use crate::model::User;

pub async fn show(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(params): Query,
) -> Result<Response, AuthorizeError> {
    let v = authorize::validate(&server, params).await?;
    let Some(user) = web::current_user(&server, &headers).await? else {
        let next = uri
            .path_and_query()
            .map_or("/oauth2/authorize/", |p| p.as_str());
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        return Ok(found(&format!("/accounts/login/?{q}")));
    };
    // First-party apps (django-oauth-toolkit's skip_authorization) and scopes the
    // user granted this app before skip the consent page.
    if consent::covers(&server, &user, &v.app, &v.scope).await? {
        return Ok(found(&authorize::approve(&server, &v, &user).await?));
    }
    Ok(consent_page(&server, &headers, &v, &user))
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
    let user = web::current_user(&server, &headers)
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
    consent::remember(&server, &user, &v.app, &v.scope)
        .await
        .map_err(|e| PageError::from(e).into_response())?;
    let to = authorize::approve(&server, &v, &user)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok(found(&to))
}
