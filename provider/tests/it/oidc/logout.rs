//! RP-Initiated Logout 1.0 at /oauth2/logout/.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;

use super::{POST_LOGOUT, authorize_path, signed_in};
use crate::on_both;
use crate::support::{Backend, TestApp, csrf_from, location, param};

on_both!(
    logout_with_hint,
    logout_refusals,
    logout_without_hint_confirms
);

fn q(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    format!("/oauth2/logout/?{}", s.finish())
}

/// Whether `t.http` is still signed in (authorize sends it to the login page if not).
async fn signed_in_still(t: &TestApp, client_id: &str) -> bool {
    let r = t
        .http
        .get(t.url(&authorize_path(client_id, "&scope=openid")))
        .send()
        .await
        .unwrap();
    !location(&r).starts_with("/accounts/login/")
}

async fn logout_with_hint(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_logout").await else {
        return;
    };
    let (id, _, tok) = signed_in(&t, "&scope=openid").await;
    let hint = tok["id_token"].as_str().unwrap();
    assert!(signed_in_still(&t, &id).await);
    let r = t
        .http
        .get(t.url(&q(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", POST_LOGOUT),
            ("state", "bye-1"),
        ])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(to.starts_with(POST_LOGOUT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("bye-1"));
    assert!(
        !signed_in_still(&t, &id).await,
        "the provider session ended"
    );
    // Signed out already: the same request just redirects again (idempotent).
    let r = t
        .http
        .post(t.url("/oauth2/logout/"))
        .form(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", POST_LOGOUT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(location(&r), POST_LOGOUT);
    // An expired ID Token of ours is still a good hint (§2: the OP SHOULD accept it).
    let signer = t.server.oidc.keys.signer(&t.server.db).await.unwrap();
    let expired = signer
        .sign(
            "JWT",
            &json!({"iss": t.base, "aud": id, "sub": "x", "iat": 1, "exp": 2}),
        )
        .unwrap();
    let r = t
        .http
        .get(t.url(&q(&[
            ("id_token_hint", &expired),
            ("post_logout_redirect_uri", POST_LOGOUT),
        ])))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
}

async fn logout_refusals(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_logout_bad").await else {
        return;
    };
    let (id, _, tok) = signed_in(&t, "&scope=openid").await;
    let hint = tok["id_token"].as_str().unwrap();
    let refused = |r: &reqwest::Response| {
        r.status() == StatusCode::BAD_REQUEST && r.headers().get("location").is_none()
    };
    // Unregistered, or nearly registered, post-logout URIs: an error page, no redirect.
    for uri in [
        "https://evil.example/",
        "http://localhost:3000/bye/",
        "http://localhost:3000/bye?x=1",
        "HTTP://localhost:3000/bye",
        "http://localhost:3000/bye#f",
    ] {
        let r = t
            .http
            .get(t.url(&q(&[
                ("id_token_hint", hint),
                ("post_logout_redirect_uri", uri),
            ])))
            .send()
            .await
            .unwrap();
        assert!(refused(&r), "{uri}: {}", r.status());
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // No client named: the URI cannot be checked.
    let r = t
        .http
        .get(t.url(&q(&[("post_logout_redirect_uri", POST_LOGOUT)])))
        .send()
        .await
        .unwrap();
    assert!(refused(&r));
    // A hint signed by a foreign key, even under our kid, is refused.
    let kid = jsonwebtoken::decode_header(hint).unwrap().kid;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = kid;
    let foreign_pem = include_str!("../../../../bff/tests/fixtures/id_token_test_rsa.pem");
    let forged = jsonwebtoken::encode(
        &header,
        &json!({"iss": t.base, "aud": id, "sub": "x", "iat": 1, "exp": 9_999_999_999i64}),
        &EncodingKey::from_rsa_pem(foreign_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    for bad in [forged.as_str(), "not.a.jwt", "", &"A".repeat(2000)] {
        let r = t
            .http
            .get(t.url(&q(&[
                ("id_token_hint", bad),
                ("post_logout_redirect_uri", POST_LOGOUT),
            ])))
            .send()
            .await
            .unwrap();
        if bad.is_empty() {
            // An empty parameter counts as absent: then no client is named.
            assert!(refused(&r));
        } else {
            assert!(refused(&r), "{bad:.20}");
        }
    }
    // The hint's audience must include client_id.
    let (other, _) = super::rp(&t, None).await;
    let r = t
        .http
        .get(t.url(&q(&[("id_token_hint", hint), ("client_id", &other)])))
        .send()
        .await
        .unwrap();
    assert!(refused(&r));
    // An unknown client_id.
    let r = t
        .http
        .get(t.url(&q(&[("client_id", "nope")])))
        .send()
        .await
        .unwrap();
    assert!(refused(&r));
    // None of that signed the user out.
    let r = t
        .http
        .get(t.url(&authorize_path(&id, "&scope=openid")))
        .send()
        .await
        .unwrap();
    assert!(param(&location(&r), "code").is_some());
}

async fn logout_without_hint_confirms(b: Backend) {
    let Some(t) = TestApp::spawn(b, "oidc_logout_confirm").await else {
        return;
    };
    let (id, _, _) = signed_in(&t, "&scope=openid").await;
    let path = q(&[
        ("client_id", &id),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", "z"),
    ]);
    let r = t.http.get(t.url(&path)).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a confirmation page, not a logout"
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let html = r.text().await.unwrap();
    assert!(html.contains("Sign out?"), "{html}");
    let csrf = csrf_from(&html);
    let form = [
        ("client_id", id.as_str()),
        ("post_logout_redirect_uri", POST_LOGOUT),
        ("state", "z"),
        ("confirm", "yes"),
    ];
    // Without the CSRF token, or from another origin: 403, still signed in.
    let r = t
        .http
        .post(t.url("/oauth2/logout/"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let mut with_csrf = form.to_vec();
    with_csrf.push(("csrfmiddlewaretoken", &csrf));
    let r = t
        .http
        .post(t.url("/oauth2/logout/"))
        .header("origin", "https://evil.example")
        .form(&with_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A POST from the RP without `confirm` is a request, not a confirmation.
    let r = t
        .http
        .post(t.url("/oauth2/logout/"))
        .form(&form[..3])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .http
        .post(t.url("/oauth2/logout/"))
        .form(&with_csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = location(&r);
    assert!(
        to.starts_with(POST_LOGOUT) && to.contains("state=z"),
        "{to}"
    );
    // Without a post-logout URI: a "signed out" page.
    let r = t.http.get(t.url("/oauth2/logout/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("signed out"));
}
