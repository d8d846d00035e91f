//! The user's claims by scope (OIDC Core §5.4), shared by the ID Token and UserInfo.

use serde_json::{Map, Value};

use crate::scope::Scopes;

/// Who the claims describe.
pub struct Subject<'a> {
    /// `sub`: the user's row id — random, never reused, never changed (OIDC Core §2:
    /// "locally unique and never reassigned"), unlike the username.
    pub id: &'a str,
    pub username: &'a str,
    pub email: &'a str,
}

/// The claims this server can release (discovery's `claims_supported`).
pub const SUPPORTED: [&str; 13] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "azp",
    "sid",
    "name",
    "preferred_username",
    "email",
];

/// `sub` plus what `scope` releases: `profile` → `name`, `preferred_username`
/// (the username: the user model has no other name); `email` → `email` when set
/// (no `email_verified`: operators enter addresses, nobody verified them).
pub fn for_scope(s: &Subject<'_>, scope: &Scopes) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("sub".into(), s.id.into());
    if scope.contains(super::PROFILE) {
        m.insert("name".into(), s.username.into());
        m.insert("preferred_username".into(), s.username.into());
    }
    if scope.contains(super::EMAIL) && !s.email.is_empty() {
        m.insert("email".into(), s.email.into());
    }
    m
}
