//! `/admin/oauth2/application/…`: list, add, change, rotate the secret, delete.
//!
//! Client secrets are generated (32 random bytes, 256 bits) and stored only as
//! SHA-256; the clear value appears once, in the body of the POST that created
//! or rotated it (never behind a GET that could be reloaded or cached).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::super::extract::{PageForm, Query};
use super::{Pager, Staff, checked_form, fmt_time, not_found, notice, page, query};
use crate::AuthServer;
use crate::error::PageError;
use crate::management::{self, ManagementError};
use crate::model::{AppGrant, Application, ClientType};
use crate::storage::active_tokens::{TokenFilter, TokenKind};

use super::forms::{AppForm, Errors, save_error};

pub struct Row {
    pub id: String,
    pub name: String,
    pub client_id: String,
    pub client_type: &'static str,
    pub grant: &'static str,
    pub owner: String,
    pub skip_authorization: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/application_list.html")]
struct ListPage {
    csrf_token: String,
    staff_name: String,
    notice: Option<&'static str>,
    search: String,
    rows: Vec<Row>,
    pager: Pager,
}

pub async fn list(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(q): Query,
) -> Result<Response, PageError> {
    let q = query(q)?;
    let search = q.get("q").unwrap_or("").trim().to_owned();
    let total = server.db.count_applications(&search).await?;
    let pager = Pager::new(&q, total, &[("q", &search)]);
    let apps = management::list_applications(&server.db, &search, super::PAGE_SIZE, pager.offset())
        .await?;
    let rows: Vec<Row> = apps
        .into_iter()
        .map(|management::ListedApplication { app: a, owner }| Row {
            owner,
            id: a.id,
            name: a.name,
            client_id: a.client_id,
            client_type: a.client_type.as_str(),
            grant: grant_label(a.grant),
            skip_authorization: a.skip_authorization,
            created: fmt_time(a.created_at),
        })
        .collect();
    Ok(page(&server, &headers, StatusCode::OK, |csrf_token| {
        ListPage {
            csrf_token,
            staff_name: me.username,
            notice: notice(&q),
            search,
            rows,
            pager,
        }
    }))
}

pub fn grant_label(g: AppGrant) -> &'static str {
    match g {
        AppGrant::AuthorizationCode => "Authorization code",
        AppGrant::Password => "Resource owner password",
        AppGrant::ClientCredentials => "Client credentials",
    }
}

#[derive(Template)]
#[template(path = "admin/application_form.html")]
struct FormPage {
    csrf_token: String,
    staff_name: String,
    notice: Option<&'static str>,
    /// `None` on the add page.
    app_id: Option<String>,
    has_secret: bool,
    form: AppForm,
    errors: Errors,
    known_scopes: String,
}

#[allow(clippy::too_many_arguments)]
fn form_page(
    server: &AuthServer,
    headers: &HeaderMap,
    me: String,
    app: Option<&Application>,
    form: AppForm,
    errors: Errors,
    notice: Option<&'static str>,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(server, headers, status, |csrf_token| FormPage {
        csrf_token,
        staff_name: me,
        notice,
        app_id: app.map(|a| a.id.clone()),
        has_secret: app.is_some_and(|a| a.client_secret_hash.is_some()),
        form,
        errors,
        known_scopes: server.settings.scopes.to_string(),
    })
}

#[derive(Template)]
#[template(path = "admin/application_secret.html")]
struct SecretPage {
    csrf_token: String,
    staff_name: String,
    heading: &'static str,
    app_id: String,
    app_name: String,
    client_id: String,
    secret: Option<String>,
}

/// The page that shows a new secret, once (the response is `no-store`).
fn secret_page(
    server: &AuthServer,
    headers: &HeaderMap,
    me: String,
    heading: &'static str,
    app: &Application,
    secret: Option<String>,
) -> Response {
    page(server, headers, StatusCode::OK, |csrf_token| SecretPage {
        csrf_token,
        staff_name: me,
        heading,
        app_id: app.id.clone(),
        app_name: app.name.clone(),
        client_id: app.client_id.clone(),
        secret,
    })
}

pub async fn add_form(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
) -> Response {
    let form = AppForm {
        client_id: management::generate_client_id(),
        client_type: ClientType::Confidential.as_str().to_owned(),
        grant: AppGrant::AuthorizationCode.as_str().to_owned(),
        // Off by default so the seed's flow (a confidential app, no PKCE) works as
        // written; public apps need PKCE whatever this says (RFC 9700 §2.1.1).
        require_pkce: false,
        ..AppForm::default()
    };
    form_page(
        &server,
        &headers,
        me.username,
        None,
        form,
        Errors::default(),
        None,
    )
}

pub async fn add(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let params = checked_form(&server, &headers, form)?;
    let form = AppForm::from_params(&params);
    let fields = match form.validate(&server).await {
        Ok(f) => f,
        Err(errors) => {
            return Ok(form_page(
                &server,
                &headers,
                me.username,
                None,
                form,
                errors,
                None,
            ));
        }
    };
    let created = match management::create_application(&server.db, fields, None).await {
        Ok((app, secret)) => crate::oidc::registration::save(&server.db, &app.id, &form.logout())
            .await
            .map(|()| (app, secret)),
        Err(e) => Err(e),
    };
    match created {
        Ok((app, secret)) => Ok(secret_page(
            &server,
            &headers,
            me.username,
            "Application created",
            &app,
            secret.map(|s| s.expose().to_owned()),
        )),
        Err(e) => {
            let errors = save_error(e)?;
            Ok(form_page(
                &server,
                &headers,
                me.username,
                None,
                form,
                errors,
                None,
            ))
        }
    }
}

async fn find(server: &AuthServer, id: &str) -> Result<Application, PageError> {
    server
        .db
        .application_by_id(id)
        .await?
        .ok_or_else(|| not_found("application"))
}

pub async fn change_form(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query,
) -> Result<Response, PageError> {
    let q = query(q)?;
    let app = find(&server, &id).await?;
    let form = AppForm::from_app(&server, &app).await?;
    Ok(form_page(
        &server,
        &headers,
        me.username,
        Some(&app),
        form,
        Errors::default(),
        notice(&q),
    ))
}

pub async fn change(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let params = checked_form(&server, &headers, form)?;
    let app = find(&server, &id).await?;
    let form = AppForm::from_params(&params);
    let fields = match form.validate(&server).await {
        Ok(f) => f,
        Err(errors) => {
            return Ok(form_page(
                &server,
                &headers,
                me.username,
                Some(&app),
                form,
                errors,
                None,
            ));
        }
    };
    let saved = match management::update_application(&server.db, &app, &fields).await {
        Ok(secret) => crate::oidc::registration::save(&server.db, &app.id, &form.logout())
            .await
            .map(|()| secret),
        Err(e) => Err(e),
    };
    match saved {
        Ok(Some(secret)) => {
            let app = find(&server, &id).await?;
            Ok(secret_page(
                &server,
                &headers,
                me.username,
                "Application saved: it is now confidential",
                &app,
                Some(secret.expose().to_owned()),
            ))
        }
        Ok(None) => Ok(Redirect::to("/admin/oauth2/application/?done=saved").into_response()),
        Err(e) => {
            let errors = save_error(e)?;
            Ok(form_page(
                &server,
                &headers,
                me.username,
                Some(&app),
                form,
                errors,
                None,
            ))
        }
    }
}

pub async fn rotate_secret(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    checked_form(&server, &headers, form)?;
    let app = find(&server, &id).await?;
    match management::rotate_secret(&server.db, &app).await {
        Ok(secret) => Ok(secret_page(
            &server,
            &headers,
            me.username,
            "New client secret",
            &app,
            Some(secret.expose().to_owned()),
        )),
        Err(ManagementError::Invalid(m)) => Err(PageError::new(400, format!("{m}."))),
        Err(ManagementError::Storage(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/application_delete.html")]
struct DeletePage {
    csrf_token: String,
    staff_name: String,
    app_id: String,
    app_name: String,
    client_id: String,
    access_tokens: i64,
    refresh_tokens: i64,
}

pub async fn delete_form(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let app = find(&server, &id).await?;
    let filter = TokenFilter {
        application_id: app.id.clone(),
        ..TokenFilter::default()
    };
    let access_tokens = server
        .db
        .count_active_tokens(TokenKind::Access, &filter)
        .await?;
    let refresh_tokens = server
        .db
        .count_active_tokens(TokenKind::Refresh, &filter)
        .await?;
    Ok(page(&server, &headers, StatusCode::OK, |csrf_token| {
        DeletePage {
            csrf_token,
            staff_name: me.username,
            app_id: app.id,
            app_name: app.name,
            client_id: app.client_id,
            access_tokens,
            refresh_tokens,
        }
    }))
}

/// Deletes the application; its codes and tokens go with it (ON DELETE CASCADE).
pub async fn delete(
    Staff(_): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    checked_form(&server, &headers, form)?;
    if !server.db.delete_application(&id).await? {
        return Err(not_found("application"));
    }
    Ok(Redirect::to("/admin/oauth2/application/?done=deleted").into_response())
}
