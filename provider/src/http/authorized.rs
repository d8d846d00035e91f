//! "Your authorized apps" (django-oauth-toolkit's `authorized_tokens/`): a
//! signed-in user's applications, each with a CSRF-protected "revoke" that ends
//! its tokens and forgets the consent.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::errors::found;
use super::extract::{PageForm, Query};
use super::pages::RenderOrPlain;
use super::web;
use crate::AuthServer;
use crate::error::PageError;
use crate::scope::Scopes;

pub const PATH: &str = "/oauth2/authorized_tokens/";

struct Row {
    application_id: String,
    client_id: String,
    name: String,
    token_scope: Scopes,
    tokens: usize,
    consent: Option<Scopes>,
    when: String,
}

#[derive(Template)]
#[template(path = "authorized_tokens.html")]
struct ListPage<'a> {
    csrf_token: &'a str,
    username: &'a str,
    apps: Vec<Row>,
    revoked: bool,
}

pub async fn list(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(q): Query,
) -> Result<Response, PageError> {
    let Some(user) = web::current_user(&server, &headers).await? else {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", PATH)
            .finish();
        return Ok(found(&format!("/accounts/login/?{q}")));
    };
    let apps = server
        .db
        .authorized_apps(&user.id)
        .await?
        .into_iter()
        .map(|a| Row {
            name: if a.name.is_empty() {
                a.client_id.clone()
            } else {
                a.name
            },
            application_id: a.application_id,
            client_id: a.client_id,
            token_scope: a.token_scope,
            tokens: a.tokens,
            consent: a.consent,
            when: super::admin::fmt_time(a.last_at),
        })
        .collect();
    let revoked = q.is_ok_and(|q| q.get("revoked").is_some());
    Ok(web::form_page(&server, &headers, StatusCode::OK, |csrf| {
        ListPage {
            csrf_token: csrf,
            username: &user.username,
            apps,
            revoked,
        }
        .render_or_plain()
    }))
}

/// Django-oauth-toolkit's `authorized-token-delete`, per application: the user's
/// access tokens and refresh tokens for it (every family), unused codes, approved
/// device requests and the remembered consent.
pub async fn revoke(
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(application_id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let form = form.map_err(|e| PageError::new(400, format!("The form is malformed: {e}.")))?;
    web::check_csrf(&server, &headers, form.get(web::CSRF_FIELD))?;
    let user = web::current_user(&server, &headers)
        .await?
        .ok_or_else(|| PageError::new(403, "You are not signed in any more."))?;
    // Only the user's own rows are touched: another app id revokes nothing.
    server
        .db
        .revoke_authorization(&user.id, &application_id)
        .await?;
    Ok(Redirect::to(&format!("{PATH}?revoked=1")).into_response())
}
