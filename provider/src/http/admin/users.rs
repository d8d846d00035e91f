//! `/admin/users/…`: list, add (with a password), set a password,
//! activate/deactivate, grant/remove staff.
//!
//! A deactivated user's sessions and access tokens stop working at once (both
//! lookups check `is_active`). Operators cannot deactivate themselves or drop
//! their own staff flag, so the last operator cannot lock everyone out by accident.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::super::extract::{PageForm, Query};
use super::forms::Errors;
use super::{Pager, Staff, checked_form, fmt_time, not_found, notice, page, query};
use crate::AuthServer;
use crate::error::PageError;
use crate::management::{self, ManagementError};
use crate::model::User;
use crate::params::Params;
use crate::password::Password;
use crate::storage::StorageError;

pub struct Row {
    pub id: String,
    pub username: String,
    pub email: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub created: String,
}

#[derive(Template)]
#[template(path = "admin/user_list.html")]
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
    let total = server.db.count_users(&search).await?;
    let pager = Pager::new(&q, total, &[("q", &search)]);
    let rows = server
        .db
        .list_users_page(&search, super::PAGE_SIZE, pager.offset())
        .await?
        .into_iter()
        .map(|u| Row {
            created: fmt_time(u.created_at),
            id: u.id,
            username: u.username,
            email: u.email,
            is_staff: u.is_staff,
            is_active: u.is_active,
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

#[derive(Template)]
#[template(path = "admin/user_add.html")]
struct AddPage {
    csrf_token: String,
    staff_name: String,
    username: String,
    email: String,
    is_staff: bool,
    errors: Errors,
}

fn add_page(
    server: &AuthServer,
    headers: &HeaderMap,
    me: String,
    p: &Params,
    errors: Errors,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(server, headers, status, |csrf_token| AddPage {
        csrf_token,
        staff_name: me,
        username: p.get("username").unwrap_or("").trim().to_owned(),
        email: p.get("email").unwrap_or("").trim().to_owned(),
        is_staff: p.has("is_staff"),
        errors,
    })
}

pub async fn add_form(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
) -> Response {
    add_page(
        &server,
        &headers,
        me.username,
        &Params::default(),
        Errors::default(),
    )
}

/// Both password fields, checked: the new password, or the errors to show.
fn new_password(p: &Params, errors: &mut Errors) -> Option<Password> {
    let pw = Password::new(p.get("password1").unwrap_or(""));
    if let Err(e) = management::validate_password(&pw) {
        errors.add("password1", e);
        return None;
    }
    // Not secret-dependent timing worth guarding: the operator typed both.
    if p.get("password2").unwrap_or("") != pw.expose() {
        errors.add("password2", "The two passwords do not match.");
        return None;
    }
    Some(pw)
}

pub async fn add(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    let mut errors = Errors::default();
    let username = p.get("username").unwrap_or("").trim();
    let email = p.get("email").unwrap_or("").trim();
    if let Err(e) = management::validate_username(username) {
        errors.add("username", e);
    }
    if email.len() > 254 || (!email.is_empty() && !email.contains('@')) {
        errors.add("email", "Enter a valid email address, or leave it empty.");
    }
    let password = new_password(&p, &mut errors);
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return Ok(add_page(&server, &headers, me.username, &p, errors));
    };
    match management::create_user(
        &server.db,
        username,
        &password,
        email,
        p.has("is_staff"),
        &[],
    )
    .await
    {
        Ok(u) => Ok(Redirect::to(&format!("/admin/users/{}/?done=created", u.id)).into_response()),
        Err(ManagementError::Storage(StorageError::Conflict(_))) => {
            errors.add("username", "A user with this username already exists.");
            Ok(add_page(&server, &headers, me.username, &p, errors))
        }
        Err(ManagementError::Invalid(m)) => {
            errors.add("password1", m);
            Ok(add_page(&server, &headers, me.username, &p, errors))
        }
        Err(ManagementError::Storage(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "admin/user_detail.html")]
struct DetailPage {
    csrf_token: String,
    staff_name: String,
    notice: Option<&'static str>,
    user: User,
    is_me: bool,
    created: String,
    errors: Errors,
}

fn detail_page(
    server: &AuthServer,
    headers: &HeaderMap,
    me: &User,
    user: User,
    errors: Errors,
    notice: Option<&'static str>,
) -> Response {
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    page(server, headers, status, |csrf_token| DetailPage {
        csrf_token,
        staff_name: me.username.clone(),
        notice,
        is_me: user.id == me.id,
        created: fmt_time(user.created_at),
        user,
        errors,
    })
}

async fn find(server: &AuthServer, id: &str) -> Result<User, PageError> {
    server
        .db
        .user_by_id(id)
        .await?
        .ok_or_else(|| not_found("user"))
}

pub async fn detail(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query,
) -> Result<Response, PageError> {
    let q = query(q)?;
    let user = find(&server, &id).await?;
    Ok(detail_page(
        &server,
        &headers,
        &me,
        user,
        Errors::default(),
        notice(&q),
    ))
}

pub async fn set_password(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    let user = find(&server, &id).await?;
    let mut errors = Errors::default();
    let Some(password) = new_password(&p, &mut errors) else {
        return Ok(detail_page(&server, &headers, &me, user, errors, None));
    };
    match management::set_password(&server.db, &user.id, &password).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/users/{}/?done=password", user.id)).into_response())
        }
        Err(ManagementError::Invalid(m)) => {
            errors.add("password1", m);
            Ok(detail_page(&server, &headers, &me, user, errors, None))
        }
        Err(ManagementError::Storage(e)) => Err(e.into()),
    }
}

pub async fn set_flags(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    let user = find(&server, &id).await?;
    let (is_active, is_staff) = (p.has("is_active"), p.has("is_staff"));
    match management::set_user_flags(&server.db, &me, &user, is_active, is_staff).await {
        Ok(()) => {
            Ok(Redirect::to(&format!("/admin/users/{}/?done=flags", user.id)).into_response())
        }
        Err(ManagementError::Invalid(m)) => {
            let mut errors = Errors::default();
            errors.add("flags", m);
            Ok(detail_page(&server, &headers, &me, user, errors, None))
        }
        Err(ManagementError::Storage(e)) => Err(e.into()),
    }
}

/// "Sign this user out everywhere": every token, login session and unused code goes.
pub async fn sign_out(
    Staff(_me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    checked_form(&server, &headers, form)?;
    let user = find(&server, &id).await?;
    match management::sign_out_everywhere(&server.db, &user.id).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/admin/users/{}/?done=signedout", user.id)).into_response())
        }
        Err(ManagementError::Invalid(m)) => Err(PageError::new(400, m)),
        Err(ManagementError::Storage(e)) => Err(e.into()),
    }
}
