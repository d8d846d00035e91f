//! A user's view of the applications they have authorized: live tokens and
//! remembered consents, per application; and revoking one application.

use std::collections::BTreeMap;

use super::batch::Stmt;
use super::{Db, Result, now, on_pool};
use crate::scope::Scopes;

/// One application the user has authorized.
#[derive(Debug, Clone)]
pub struct AuthorizedApp {
    pub application_id: String,
    pub client_id: String,
    pub name: String,
    /// Scopes of the live access and refresh tokens (first seen first).
    pub token_scope: Scopes,
    /// Live access and refresh tokens.
    pub tokens: usize,
    /// The latest token's issue or consent's time.
    pub last_at: i64,
    pub consent: Option<Scopes>,
}

type Row = (String, String, String, String, i64);

/// Each live token family member or consent is one row; more than this many of a
/// user's tokens are not read (the page lists applications, not tokens).
const MAX_ROWS: i64 = 2000;

/// The application of `row`, added on first sight; its time is the latest seen.
fn entry<'a>(apps: &'a mut BTreeMap<String, AuthorizedApp>, row: &Row) -> &'a mut AuthorizedApp {
    let (id, client_id, name, _, at) = row;
    let e = apps.entry(id.clone()).or_insert_with(|| AuthorizedApp {
        application_id: id.clone(),
        client_id: client_id.clone(),
        name: name.clone(),
        token_scope: Scopes::default(),
        tokens: 0,
        last_at: 0,
        consent: None,
    });
    e.last_at = e.last_at.max(*at);
    e
}

impl Db {
    /// The applications `user_id` has live tokens for or a remembered consent to,
    /// by name.
    pub async fn authorized_apps(&self, user_id: &str) -> Result<Vec<AuthorizedApp>> {
        let t = now();
        let consents: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT a.id, a.client_id, a.name, c.scope, c.updated_at FROM consents c \
             JOIN applications a ON a.id = c.application_id WHERE c.user_id = $1 LIMIT $2")
            .bind(user_id).bind(MAX_ROWS).fetch_all(p).await)?;
        let access: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT a.id, a.client_id, a.name, t.scope, t.created_at FROM access_tokens t \
             JOIN applications a ON a.id = t.application_id \
             WHERE t.user_id = $1 AND t.expires_at > $2 LIMIT $3")
            .bind(user_id).bind(t).bind(MAX_ROWS).fetch_all(p).await)?;
        let refresh: Vec<Row> = on_pool!(self, p => sqlx::query_as(
            "SELECT a.id, a.client_id, a.name, t.scope, t.created_at FROM refresh_tokens t \
             JOIN applications a ON a.id = t.application_id \
             WHERE t.user_id = $1 AND t.expires_at > $2 AND t.revoked_at IS NULL \
             AND t.rotated_at IS NULL LIMIT $3")
            .bind(user_id).bind(t).bind(MAX_ROWS).fetch_all(p).await)?;
        let mut apps: BTreeMap<String, AuthorizedApp> = BTreeMap::new();
        for r in &consents {
            entry(&mut apps, r).consent = Some(Scopes::from_stored(&r.3));
        }
        for r in access.iter().chain(&refresh) {
            let a = entry(&mut apps, r);
            a.token_scope = a.token_scope.union(&Scopes::from_stored(&r.3));
            a.tokens += 1;
        }
        let mut list: Vec<_> = apps.into_values().collect();
        list.sort_by(|a, b| a.name.cmp(&b.name).then(a.client_id.cmp(&b.client_id)));
        Ok(list)
    }

    /// Revokes everything `user_id` gave `application_id`, in one transaction: refresh
    /// tokens revoked (a later use is refused, reuse still detected), access tokens,
    /// unused codes, approved but unredeemed device requests and the consent deleted.
    pub async fn revoke_authorization(&self, user_id: &str, application_id: &str) -> Result<()> {
        let both = || [user_id.into(), application_id.into()];
        self.write_all(vec![
            Stmt::new(
                "UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 \
                 AND application_id = $3 AND revoked_at IS NULL",
                [now().into(), user_id.into(), application_id.into()],
            ),
            Stmt::new(
                "DELETE FROM access_tokens WHERE user_id = $1 AND application_id = $2",
                both(),
            ),
            Stmt::new(
                "DELETE FROM grants WHERE user_id = $1 AND application_id = $2 AND used_at IS NULL",
                both(),
            ),
            Stmt::new(
                "DELETE FROM device_codes WHERE user_id = $1 AND application_id = $2 \
                 AND status = 'approved'",
                both(),
            ),
            Stmt::new(
                "DELETE FROM consents WHERE user_id = $1 AND application_id = $2",
                both(),
            ),
        ])
        .await?;
        Ok(())
    }
}
