//! `/admin/oauth2/accesstoken/` and `/admin/oauth2/refreshtoken/`: live tokens
//! by user and application — ids, scopes and expiry only; the values are stored
//! hashed and never shown — and revocation of one, of all of a user's, or of
//! all of an application's.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::super::extract::{PageForm, Query};
use super::{Pager, Staff, checked_form, fmt_time, notice, page, query};
use crate::AuthServer;
use crate::error::PageError;
use crate::params::Params;
use crate::storage::active_tokens::{TokenFilter, TokenKind};

pub struct Row {
    pub id: String,
    pub scope: String,
    pub expires: String,
    pub created: String,
    pub application_id: String,
    pub application_name: String,
    pub client_id: String,
    pub user_id: String,
    pub username: String,
}

#[derive(Template)]
#[template(path = "admin/token_list.html")]
struct ListPage {
    csrf_token: String,
    staff_name: String,
    notice: Option<&'static str>,
    /// "accesstoken" or "refreshtoken": the path segment of this list.
    kind: &'static str,
    title: &'static str,
    filter: TokenFilter,
    filter_username: String,
    filter_app_name: String,
    rows: Vec<Row>,
    pager: Pager,
}

fn segment(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "accesstoken",
        TokenKind::Refresh => "refreshtoken",
    }
}

/// The `user` / `application` filter of a query or form (ids; empty = any).
fn filter_of(p: &Params) -> TokenFilter {
    TokenFilter {
        user_id: p.get("user").unwrap_or("").to_owned(),
        application_id: p.get("application").unwrap_or("").to_owned(),
    }
}

/// Where to go after a revocation: the list it came from, same filter.
fn back_to(kind: TokenKind, f: &TokenFilter) -> Response {
    let q = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            [("user", &f.user_id), ("application", &f.application_id)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty()),
        )
        .append_pair("done", "revoked")
        .finish();
    Redirect::to(&format!("/admin/oauth2/{}/?{q}", segment(kind))).into_response()
}

async fn list(
    kind: TokenKind,
    me: String,
    server: &AuthServer,
    headers: &HeaderMap,
    q: Result<Params, String>,
) -> Result<Response, PageError> {
    let q = query(q)?;
    let filter = filter_of(&q);
    let total = server.db.count_active_tokens(kind, &filter).await?;
    let pager = Pager::new(
        &q,
        total,
        &[
            ("user", &filter.user_id),
            ("application", &filter.application_id),
        ],
    );
    let rows: Vec<Row> = server
        .db
        .list_active_tokens(kind, &filter, super::PAGE_SIZE, pager.offset())
        .await?
        .into_iter()
        .map(|t| Row {
            id: t.id,
            scope: t.scope,
            expires: fmt_time(t.expires_at),
            created: fmt_time(t.created_at),
            application_id: t.application_id,
            application_name: t.application_name,
            client_id: t.client_id,
            user_id: t.user_id.unwrap_or_default(),
            username: t.username.unwrap_or_default(),
        })
        .collect();
    let filter_username = match filter.user_id.as_str() {
        "" => String::new(),
        id => server
            .db
            .user_by_id(id)
            .await?
            .map_or_else(|| "(unknown user)".to_owned(), |u| u.username),
    };
    let filter_app_name = match filter.application_id.as_str() {
        "" => String::new(),
        id => server
            .db
            .application_by_id(id)
            .await?
            .map_or_else(|| "(unknown application)".to_owned(), |a| a.name),
    };
    Ok(page(server, headers, StatusCode::OK, |csrf_token| {
        ListPage {
            csrf_token,
            staff_name: me,
            notice: notice(&q),
            kind: segment(kind),
            title: match kind {
                TokenKind::Access => "Access tokens",
                TokenKind::Refresh => "Refresh tokens",
            },
            filter,
            filter_username,
            filter_app_name,
            rows,
            pager,
        }
    }))
}

pub async fn list_access(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(q): Query,
) -> Result<Response, PageError> {
    list(TokenKind::Access, me.username, &server, &headers, q).await
}

pub async fn list_refresh(
    Staff(me): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Query(q): Query,
) -> Result<Response, PageError> {
    list(TokenKind::Refresh, me.username, &server, &headers, q).await
}

/// Revokes one access token (its refresh token, if any, stays: RFC 7009 §2.1
/// makes that optional, and the operator can revoke it from its own list).
pub async fn revoke_access(
    Staff(_): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    server.db.delete_access_token(&id).await?;
    Ok(back_to(TokenKind::Access, &filter_of(&p)))
}

/// Revokes a refresh token with its whole family and their access tokens
/// (RFC 7009 §2.1: revoking a refresh token SHOULD revoke the grant's access tokens).
pub async fn revoke_refresh(
    Staff(_): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    if let Some(family) = server.db.refresh_token_family(&id).await? {
        server.db.revoke_family(&family).await?;
    }
    Ok(back_to(TokenKind::Refresh, &filter_of(&p)))
}

/// Revokes every token of a user, or of an application (access and refresh
/// tokens, and unused authorization codes).
pub async fn revoke_all(
    Staff(_): Staff,
    State(server): State<Arc<AuthServer>>,
    headers: HeaderMap,
    PageForm(form): PageForm,
) -> Result<Response, PageError> {
    let p = checked_form(&server, &headers, form)?;
    let filter = filter_of(&p);
    if filter.user_id.is_empty() && filter.application_id.is_empty() {
        return Err(PageError::new(
            400,
            "Choose a user or an application whose tokens to revoke.",
        ));
    }
    server.db.revoke_tokens(&filter).await?;
    let kind = match p.get("back") {
        Some("refreshtoken") => TokenKind::Refresh,
        _ => TokenKind::Access,
    };
    Ok(back_to(kind, &filter))
}
