//! Who is logged in: the userinfo endpoint (OIDC Core §5.3), or the validated ID Token's
//! claims when there is no userinfo endpoint or it refuses the token.

use url::Url;

use crate::oauth::provider::PROVIDER_TIMEOUT;
use crate::secret::AccessToken;

/// Why the userinfo endpoint gave nothing.
#[derive(Debug)]
pub enum Failure {
    /// 401/403: the token is not accepted there (e.g. no `openid` scope, RFC 6750 §3.1).
    Refused(reqwest::StatusCode),
    Other(String),
}

/// Fetches user info and keeps only small scalar fields (the session record stays small).
pub async fn fetch(
    http: &reqwest::Client,
    url: &Url,
    token: &AccessToken,
) -> Result<serde_json::Value, Failure> {
    let response = http
        .get(url.clone())
        .bearer_auth(token.expose())
        .timeout(PROVIDER_TIMEOUT)
        .send()
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
        return Err(Failure::Refused(status));
    }
    if !status.is_success() {
        return Err(Failure::Other(format!("HTTP {status}")));
    }
    let value: serde_json::Value = response
        .json()
        .await
        .map_err(|e| Failure::Other(e.to_string()))?;
    Ok(minimal_user(&value))
}

pub fn minimal_user(value: &serde_json::Value) -> serde_json::Value {
    let mut user = serde_json::Map::new();
    if let Some(object) = value.as_object() {
        for (key, field) in object.iter().take(32) {
            let small = match field {
                serde_json::Value::String(s) => s.len() <= 256,
                serde_json::Value::Bool(_) | serde_json::Value::Number(_) => true,
                _ => false,
            };
            if small && !key.contains("token") {
                user.insert(key.clone(), field.clone());
            }
        }
    }
    serde_json::Value::Object(user)
}

/// The user of a new session: userinfo when the endpoint answers, else the ID Token's
/// claims (no endpoint, or it refused the token), else `{}`.
pub async fn resolve(
    http: &reqwest::Client,
    url: Option<&Url>,
    token: &AccessToken,
    id_claims: Option<serde_json::Value>,
) -> serde_json::Value {
    let fetched = match url {
        Some(url) => match fetch(http, url, token).await {
            Ok(user) => Some(user),
            Err(Failure::Refused(status)) => {
                tracing::warn!(%status, "userinfo refused the token; using the ID Token's claims");
                None
            }
            Err(Failure::Other(reason)) => {
                tracing::warn!(%reason, "userinfo failed; using the ID Token's claims");
                None
            }
        },
        None => None,
    };
    match (fetched, id_claims) {
        (Some(user), Some(id)) => {
            // OIDC Core §5.3.4: a userinfo `sub` differing from the ID Token's must not
            // be used.
            if user
                .get("sub")
                .is_some_and(|sub| Some(sub) != id.get("sub"))
            {
                tracing::warn!("userinfo sub differs from the ID Token's; ignoring userinfo");
                id
            } else {
                user
            }
        }
        (Some(user), None) => user,
        (None, Some(id)) => id,
        (None, None) => serde_json::json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_user_drops_nested_and_tokens() {
        let v = serde_json::json!({"username": "alice", "scope": "read", "access_token": "x", "nested": {"a": 1}});
        let user = minimal_user(&v);
        assert_eq!(
            user,
            serde_json::json!({"username": "alice", "scope": "read"})
        );
    }
}
