//! Discovery at the issuer's and django-oauth-toolkit's paths, consistent with RFC 8414.

use serde_json::Value;

use crate::on_both;
use crate::support::{Backend, TestApp};

on_both!(discovery_documents_agree);

async fn discovery_documents_agree(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_discovery").await else {
        return;
    };
    let get = |p: &'static str| {
        let (http, url) = (t.http.clone(), t.url(p));
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let issuer_doc = get("/.well-known/openid-configuration").await;
    let dot_doc = get("/oauth2/.well-known/openid-configuration").await;
    let rfc8414 = get("/.well-known/oauth-authorization-server").await;
    assert_eq!(issuer_doc, dot_doc);
    assert_eq!(issuer_doc["issuer"], t.base);
    for (k, v) in rfc8414.as_object().unwrap() {
        if k != "userinfo_endpoint" {
            assert_eq!(&issuer_doc[k], v, "{k} differs from the RFC 8414 document");
        }
    }
    assert_eq!(rfc8414["userinfo_endpoint"], t.url("/api/me/"));
    assert_eq!(issuer_doc["userinfo_endpoint"], t.url("/oauth2/userinfo/"));
    assert_eq!(
        issuer_doc["jwks_uri"],
        t.url("/oauth2/.well-known/jwks.json")
    );
    assert_eq!(issuer_doc["end_session_endpoint"], t.url("/oauth2/logout/"));
    assert_eq!(
        issuer_doc["subject_types_supported"],
        serde_json::json!(["public"])
    );
    assert_eq!(
        issuer_doc["response_types_supported"],
        serde_json::json!(["code"])
    );
    assert_eq!(
        issuer_doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(issuer_doc["backchannel_logout_supported"], true);
    assert_eq!(issuer_doc["backchannel_logout_session_supported"], true);
    let list = |k: &str| -> Vec<String> { serde_json::from_value(issuer_doc[k].clone()).unwrap() };
    assert!(list("id_token_signing_alg_values_supported").contains(&"RS256".to_owned()));
    for s in ["openid", "profile", "email", "read"] {
        assert!(list("scopes_supported").contains(&s.to_owned()), "{s}");
    }
    for c in [
        "sub",
        "iss",
        "aud",
        "nonce",
        "sid",
        "auth_time",
        "at_hash",
        "email",
    ] {
        assert!(list("claims_supported").contains(&c.to_owned()), "{c}");
    }
    // Every endpoint named answers (none is a 404).
    for k in [
        "authorization_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ] {
        let url = issuer_doc[k].as_str().unwrap();
        let s = t.http.get(url).send().await.unwrap().status();
        assert_ne!(s, reqwest::StatusCode::NOT_FOUND, "{k}");
    }
    // The shared crate parses it (the BFF reads it with this type).
    let m: latchkey_shared::ServerMetadata = serde_json::from_value(issuer_doc.clone()).unwrap();
    assert_eq!(
        m.end_session_endpoint.as_deref(),
        Some(t.url("/oauth2/logout/").as_str())
    );
    assert_eq!(m.backchannel_logout_supported, Some(true));
}
