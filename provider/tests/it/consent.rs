//! Remembered consent: the consent page is skipped for scopes the user granted
//! the app before, and shown again for a new one.

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, REDIRECT, TestApp, csrf_from, location, param};

on_both!(consent_remembered_then_asked_again_for_a_new_scope);

fn authorize_path(client_id: &str, scope: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", scope)
        .finish();
    format!("/oauth2/authorize/?{q}")
}

/// GET the authorize URL: `Some(page)` when the consent page is shown, `None`
/// when the code comes straight back.
pub async fn ask(t: &TestApp, client_id: &str, scope: &str) -> Option<String> {
    let r = t
        .http
        .get(t.url(&authorize_path(client_id, scope)))
        .send()
        .await
        .unwrap();
    match r.status() {
        StatusCode::OK => Some(r.text().await.unwrap()),
        StatusCode::FOUND => {
            let to = location(&r);
            assert!(to.starts_with(REDIRECT), "{to}");
            assert!(param(&to, "code").is_some(), "{to}");
            None
        }
        s => panic!("unexpected {s}"),
    }
}

pub async fn allow(t: &TestApp, page: &str, client_id: &str, scope: &str) {
    let r = t
        .http
        .post(t.url("/oauth2/authorize/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf_from(page).as_str()),
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("allow", "Authorize"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(param(&location(&r), "code").is_some());
}

async fn consent_remembered_then_asked_again_for_a_new_scope(b: Backend) {
    let Some(t) = TestApp::spawn(b, "consent_remembered").await else {
        return;
    };
    t.user("alice", "pw").await;
    let (client_id, _) = t
        .app(
            ClientType::Confidential,
            AppGrant::AuthorizationCode,
            |_| {},
        )
        .await;
    t.login("alice", "pw").await;

    let page = ask(&t, &client_id, "read")
        .await
        .expect("first time: asked");
    // Cancel remembers nothing.
    let r = t
        .http
        .post(t.url("/oauth2/authorize/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf_from(&page).as_str()),
            ("response_type", "code"),
            ("client_id", &client_id),
            ("redirect_uri", REDIRECT),
            ("scope", "read"),
            ("cancel", "Cancel"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        param(&location(&r), "error").as_deref(),
        Some("access_denied")
    );
    let page = ask(&t, &client_id, "read")
        .await
        .expect("cancelled: asked again");
    allow(&t, &page, &client_id, "read").await;
    assert!(ask(&t, &client_id, "read").await.is_none(), "remembered");

    // A new scope: asked again, for the whole request; then both are remembered.
    let page = ask(&t, &client_id, "read write")
        .await
        .expect("new scope: asked");
    assert!(page.contains("<code>write</code>"), "{page}");
    allow(&t, &page, &client_id, "read write").await;
    assert!(ask(&t, &client_id, "write").await.is_none());
    assert!(ask(&t, &client_id, "write read").await.is_none());
    assert!(ask(&t, &client_id, "read write groups").await.is_some());

    // Another user of the same app starts from nothing.
    t.user("bob", "pw").await;
    t.login("bob", "pw").await;
    assert!(ask(&t, &client_id, "read").await.is_some(), "bob is asked");
}
