//! ID Tokens from the code flow and refresh; UserInfo.

use reqwest::StatusCode;
use serde_json::Value;

use super::{code, exchange, jwks, rp, signed_in, verify};
use crate::on_both;
use crate::support::{Backend, TestApp};

on_both!(
    code_flow_id_token,
    nonce_is_echoed_only_when_sent,
    no_openid_no_id_token,
    refresh_gives_a_new_id_token,
    userinfo_endpoint,
);

const OPENID: &str = "&scope=openid%20profile%20email&nonce=n-0S6_WzA2Mj&state=s";

async fn code_flow_id_token(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_id_token").await else {
        return;
    };
    let (id, secret, tok) = signed_in(&t, OPENID).await;
    assert_eq!(tok["expires_in"], 36000);
    assert_eq!(tok["scope"], "openid profile email");
    let id_token = tok["id_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let c = verify(&jwks(&t).await, id_token, &t.base, &id);
    let user = t
        .server
        .db
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        c["sub"], user.id,
        "sub is the user's row id, not the username"
    );
    assert_eq!(c["azp"], id);
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    assert_eq!(c["preferred_username"], "alice");
    assert!(c.get("email").is_none(), "alice has no email: no claim");
    let at = latchkey_provider::oidc::id_token::at_hash(tok["access_token"].as_str().unwrap());
    assert_eq!(c["at_hash"], at);
    let (iat, exp, auth) = (
        c["iat"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
        c["auth_time"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 36000);
    assert!(auth <= iat && iat - auth < 60, "auth_time is the login's");
    assert!(c["sid"].as_str().is_some_and(|s| s.len() >= 32), "{c}");
    // Another app in the same login session: the same sid, auth_time and sub.
    let (other, other_secret) = rp(&t, None).await;
    let c2 = code(&t, &other, OPENID).await;
    let tok2 = exchange(&t, &other, &other_secret, &c2).await;
    let o = verify(
        &jwks(&t).await,
        tok2["id_token"].as_str().unwrap(),
        &t.base,
        &other,
    );
    for k in ["sid", "auth_time", "sub"] {
        assert_eq!(o[k], c[k], "{k}");
    }
    let _ = secret;
}

async fn nonce_is_echoed_only_when_sent(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_nonce").await else {
        return;
    };
    let (id, secret, tok) = signed_in(&t, "&scope=openid").await;
    let c = verify(
        &jwks(&t).await,
        tok["id_token"].as_str().unwrap(),
        &t.base,
        &id,
    );
    assert!(c.get("nonce").is_none(), "{c}");
    assert!(
        c.get("preferred_username").is_none(),
        "no profile scope: {c}"
    );
    // Two requests with the same nonce: each code's token echoes it once; the code
    // cannot be replayed to get another ID Token.
    let first = code(&t, &id, "&scope=openid&nonce=same").await;
    let second = code(&t, &id, "&scope=openid&nonce=same").await;
    for c in [&first, &second] {
        let tok = exchange(&t, &id, &secret, c).await;
        let claims = verify(
            &jwks(&t).await,
            tok["id_token"].as_str().unwrap(),
            &t.base,
            &id,
        );
        assert_eq!(claims["nonce"], "same");
    }
    let (s, replay) = t
        .token(&[
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("code", first.as_str()),
            ("redirect_uri", crate::support::REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(replay.get("id_token").is_none(), "{replay}");
    // A huge nonce is refused at the authorization endpoint (parameter limit).
    let huge = format!("&scope=openid&nonce={}", "n".repeat(5000));
    let r = t
        .http
        .get(t.url(&super::authorize_path(&id, &huge)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn no_openid_no_id_token(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_plain").await else {
        return;
    };
    // No scope asked for: the OAuth2 default (OpenID's scopes left out), the old shape.
    let (_, _, tok) = signed_in(&t, "").await;
    assert_eq!(tok["scope"], "read write groups");
    assert_eq!(tok.as_object().unwrap().len(), 5, "{tok}");
}

async fn refresh_gives_a_new_id_token(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_refresh").await else {
        return;
    };
    let (id, secret, tok) = signed_in(&t, OPENID).await;
    let set = jwks(&t).await;
    let first = verify(&set, tok["id_token"].as_str().unwrap(), &t.base, &id);
    let (s, again) = t
        .token(&[
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("refresh_token", tok["refresh_token"].as_str().unwrap()),
            ("grant_type", "refresh_token"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["expires_in"], 36000);
    let second = verify(&set, again["id_token"].as_str().unwrap(), &t.base, &id);
    assert!(
        second.get("nonce").is_none(),
        "no nonce on refresh: {second}"
    );
    for k in ["sub", "auth_time", "sid", "aud"] {
        assert_eq!(first[k], second[k], "{k}");
    }
    assert_eq!(
        second["at_hash"],
        latchkey_provider::oidc::id_token::at_hash(again["access_token"].as_str().unwrap())
    );
    // Narrowed to a scope without openid: no ID Token.
    let (s, narrow) = t
        .token(&[
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
            ("refresh_token", again["refresh_token"].as_str().unwrap()),
            ("grant_type", "refresh_token"),
            ("scope", "profile"),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{narrow}");
    assert!(narrow.get("id_token").is_none(), "{narrow}");
}

async fn userinfo_endpoint(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_userinfo").await else {
        return;
    };
    let (_, _, tok) = signed_in(&t, OPENID).await;
    let access = tok["access_token"].as_str().unwrap();
    let url = t.url("/oauth2/userinfo/");
    let r = t.http.get(&url).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["preferred_username"], "alice");
    assert!(me["sub"].is_string());
    // POST: the header, or the form body (RFC 6750 §2.2) — not both.
    let r = t.http.post(&url).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .http
        .post(&url)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["sub"], me["sub"]);
    let r = t
        .http
        .post(&url)
        .bearer_auth(access)
        .form(&[("access_token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // RFC 6750 §3: no token → bare challenge; a bad one → invalid_token.
    let r = t.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer realm=\"latchkey\"");
    let r = t
        .http
        .get(&url)
        .bearer_auth("lka_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    // A token without openid: insufficient_scope (403); /api/me/ still answers it.
    let (svc, svc_secret) = t.service().await;
    let (_, cc) = t
        .token(&[
            ("client_id", svc.as_str()),
            ("client_secret", svc_secret.as_str()),
            ("grant_type", "client_credentials"),
        ])
        .await;
    let cc = cc["access_token"].as_str().unwrap();
    let r = t.http.get(&url).bearer_auth(cc).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    assert_eq!(t.api("/api/me/", cc).await, StatusCode::OK);
}
