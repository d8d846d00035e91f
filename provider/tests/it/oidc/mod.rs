//! OpenID Connect: ID Tokens, keys, discovery, UserInfo, prompt, logout (RP-initiated
//! and back-channel). Helpers for the submodules.

mod admin;
mod backchannel;
mod discovery;
mod id_token;
mod keys;
mod logout;
mod prompt;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use latchkey_provider::model::{AppGrant, ClientType};
use latchkey_provider::storage::oidc::LogoutSettings;
use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{REDIRECT, TestApp, location, param};

pub const POST_LOGOUT: &str = "http://localhost:3000/bye";

pub fn authorize_path(client_id: &str, extra: &str) -> String {
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    format!(
        "/oauth2/authorize/?response_type=code&client_id={client_id}&redirect_uri={redirect}{extra}"
    )
}

/// A confidential, consent-skipping code-flow app with a post-logout URI and,
/// when given, a back-channel logout URI. Returns (client_id, secret).
pub async fn rp(t: &TestApp, backchannel: Option<&str>) -> (String, String) {
    let (id, secret) = t
        .app(ClientType::Confidential, AppGrant::AuthorizationCode, |f| {
            f.skip_authorization = true
        })
        .await;
    let app = t
        .server
        .db
        .application_by_client_id(&id)
        .await
        .unwrap()
        .unwrap();
    t.server
        .db
        .set_logout_settings(
            &app.id,
            &LogoutSettings {
                post_logout_redirect_uris: vec![POST_LOGOUT.to_owned()],
                backchannel_logout_uri: backchannel.map(str::to_owned),
                backchannel_logout_session_required: false,
            },
        )
        .await
        .unwrap();
    (id, secret.unwrap())
}

/// The signed-in `t.http` gets a code for `client_id` (`extra`: more query).
pub async fn code(t: &TestApp, client_id: &str, extra: &str) -> String {
    let r = t
        .http
        .get(t.url(&authorize_path(client_id, extra)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    param(&to, "code").unwrap_or_else(|| panic!("no code in {to}"))
}

/// Exchanges a code; returns the token response.
pub async fn exchange(t: &TestApp, client_id: &str, secret: &str, code: &str) -> Value {
    let (s, tok) = t
        .token(&[
            ("client_id", client_id),
            ("client_secret", secret),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    tok
}

/// alice signed in, an RP, and its OpenID token response for `extra`.
pub async fn signed_in(t: &TestApp, extra: &str) -> (String, String, Value) {
    t.user("alice", "pw-alice").await;
    t.login("alice", "pw-alice").await;
    let (id, secret) = rp(t, None).await;
    let c = code(t, &id, extra).await;
    let tok = exchange(t, &id, &secret, &c).await;
    (id, secret, tok)
}

pub async fn jwks(t: &TestApp) -> JwkSet {
    t.http
        .get(t.url("/oauth2/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Verifies a JWS against the published JWKS (signature, `iss`, `aud`, `exp`); its claims.
pub fn verify(set: &JwkSet, token: &str, issuer: &str, aud: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let jwk = set
        .find(header.kid.as_deref().unwrap())
        .expect("the kid is published");
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[aud]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap()
        .claims
}

/// A new browser at `base` signed in as `username` through the login form.
pub async fn browser_signed_in(base: &str, username: &str, password: &str) -> reqwest::Client {
    let http = crate::support::browser(base);
    let page = http
        .get(format!("{base}/accounts/login/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = http
        .post(format!("{base}/accounts/login/"))
        .form(&[
            ("username", username),
            ("password", password),
            ("next", "/"),
            ("csrfmiddlewaretoken", &crate::support::csrf_from(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    http
}

/// Submits the provider's own logout form (`/accounts/logout/`, from the start page).
pub async fn logout_form(http: &reqwest::Client, base: &str) {
    let page = http
        .get(format!("{base}/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = http
        .post(format!("{base}/accounts/logout/"))
        .form(&[("csrfmiddlewaretoken", crate::support::csrf_from(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}
