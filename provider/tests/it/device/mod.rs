//! The device authorization grant (RFC 8628): the device's requests, the user's
//! code entry and decision, polling; `attacks` has the hostile inputs.

mod attacks;

use latchkey_provider::model::{AppGrant, ClientType};
use reqwest::StatusCode;
use serde_json::Value;

use crate::on_both;
use crate::support::{Backend, TestApp, csrf_from, json_of, location};

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device app of `kind`: (client_id, secret).
pub async fn device_app(t: &TestApp, kind: ClientType) -> (String, Option<String>) {
    t.app(kind, AppGrant::DeviceCode, |f| f.name = "TV app".into())
        .await
}

fn with_client<'a>(
    client_id: &'a str,
    secret: Option<&'a str>,
    mut form: Vec<(&'a str, &'a str)>,
) -> Vec<(&'a str, &'a str)> {
    form.push(("client_id", client_id));
    if let Some(s) = secret {
        form.push(("client_secret", s));
    }
    form
}

/// §3.1: returns the status and body.
pub async fn start(
    t: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    scope: Option<&str>,
) -> (StatusCode, Value) {
    let mut form = vec![];
    if let Some(s) = scope {
        form.push(("scope", s));
    }
    let r = t
        .http
        .post(t.url("/oauth2/device-authorization/"))
        .form(&with_client(client_id, secret, form))
        .send()
        .await
        .unwrap();
    json_of(r).await
}

/// §3.4: one poll.
pub async fn poll(
    t: &TestApp,
    client_id: &str,
    secret: Option<&str>,
    device_code: &str,
) -> (StatusCode, Value) {
    t.token(&with_client(
        client_id,
        secret,
        vec![("grant_type", GRANT), ("device_code", device_code)],
    ))
    .await
}

/// Posts the code form (signed in as `t.http`'s user) with `action`.
pub async fn submit(t: &TestApp, action: &str, user_code: &str) -> reqwest::Response {
    let page = t.http.get(t.url("/oauth2/device/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_from(&page.text().await.unwrap());
    t.http
        .post(t.url("/oauth2/device/"))
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("user_code", user_code),
            ("action", action),
        ])
        .send()
        .await
        .unwrap()
}

pub fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("")
}

on_both!(
    device_flow_public_client,
    denial_is_access_denied_every_time,
    confidential_client_and_refusals,
);

async fn device_flow_public_client(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_flow").await else {
        return;
    };
    t.user("alice", "pw").await;
    let (client_id, _) = device_app(&t, ClientType::Public).await;

    let (s, meta) = json_of(
        t.http
            .get(t.url("/.well-known/oauth-authorization-server"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        meta["device_authorization_endpoint"],
        t.url("/oauth2/device-authorization/")
    );
    assert!(
        meta["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&GRANT.into())
    );

    let (s, d) = start(&t, &client_id, None, Some("read")).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let user_code = d["user_code"].as_str().unwrap().to_owned();
    let device_code = d["device_code"].as_str().unwrap().to_owned();
    assert_eq!(user_code.len(), 9, "{user_code}");
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .chars()
            .all(|c| c == '-' || "BCDFGHJKLMNPQRSTVWXZ".contains(c))
    );
    assert_eq!(d["verification_uri"], t.url("/oauth2/device/"));
    assert_eq!(
        d["verification_uri_complete"],
        t.url(&format!("/oauth2/device/?user_code={user_code}"))
    );
    assert_eq!(d["expires_in"], 600);
    assert_eq!(d["interval"], 5);

    // Pending, then too fast: slow_down, with the interval raised to 10 s.
    let (s, e) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "authorization_pending"),
        "{e}"
    );
    let (_, e) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(error_of(&e), "slow_down", "{e}");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("10 seconds"),
        "{e}"
    );

    // The complete URI, signed out: to the login page and back.
    let complete = d["verification_uri_complete"].as_str().unwrap();
    let r = t.http.get(complete).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(
        location(&r).starts_with("/accounts/login/?next=%2Foauth2%2Fdevice%2F%3Fuser_code%3D"),
        "{}",
        location(&r)
    );
    t.login("alice", "pw").await;
    // Prefilled, but nothing is decided by opening the link (RFC 8628 §5.4).
    let html = t
        .http
        .get(complete)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&format!("value=\"{user_code}\"")), "{html}");
    let (_, e) = poll(&t, &client_id, None, &device_code).await;
    assert!(
        ["authorization_pending", "slow_down"].contains(&error_of(&e)),
        "{e}"
    );

    // Continue: the consent page names the app, the code and the scopes.
    let r = submit(&t, "continue", &user_code.to_lowercase()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("Authorize TV app on your device?"), "{html}");
    assert!(
        html.contains(&user_code) && html.contains("<code>read</code>"),
        "{html}"
    );
    let r = submit(&t, "approve", &user_code).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Device connected"));

    // Tokens once (a refresh token too), then the code is spent.
    let (s, tok) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(s, StatusCode::OK, "{tok}");
    assert_eq!(tok["scope"], "read");
    let access = tok["access_token"].as_str().unwrap();
    assert_eq!(t.api("/api/me/", access).await, StatusCode::OK);
    let (s, e) = poll(&t, &client_id, None, &device_code).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let (s, r) = t
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", &client_id),
            ("refresh_token", tok["refresh_token"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    // Deciding a used code again is refused.
    let r = submit(&t, "approve", &user_code).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn denial_is_access_denied_every_time(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_denied").await else {
        return;
    };
    t.user("alice", "pw").await;
    let (client_id, _) = device_app(&t, ClientType::Public).await;
    let (_, d) = start(&t, &client_id, None, None).await;
    assert_eq!(d["scope"], Value::Null, "the response has no scope field");
    let (user_code, device_code) = (
        d["user_code"].as_str().unwrap(),
        d["device_code"].as_str().unwrap(),
    );
    t.login("alice", "pw").await;
    let r = submit(&t, "deny", user_code).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("Request denied"));
    for _ in 0..3 {
        let (s, e) = poll(&t, &client_id, None, device_code).await;
        assert_eq!(
            (s, error_of(&e)),
            (StatusCode::BAD_REQUEST, "access_denied"),
            "{e}"
        );
    }
    // Once denied, it cannot be approved after all.
    assert_eq!(
        submit(&t, "approve", user_code).await.status(),
        StatusCode::BAD_REQUEST
    );
    let (_, e) = poll(&t, &client_id, None, device_code).await;
    assert_eq!(error_of(&e), "access_denied");
}

async fn confidential_client_and_refusals(b: Backend) {
    let Some(t) = TestApp::spawn(b, "device_clients").await else {
        return;
    };
    let (client_id, secret) = device_app(&t, ClientType::Confidential).await;
    let secret = secret.unwrap();
    // Secret in the body, or HTTP Basic; none → invalid_client.
    let (s, _) = start(&t, &client_id, Some(&secret), Some("read write")).await;
    assert_eq!(s, StatusCode::OK);
    let r = t
        .http
        .post(t.url("/oauth2/device-authorization/"))
        .basic_auth(&client_id, Some(&secret))
        .form(&[("scope", "read")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let (s, e) = start(&t, &client_id, None, None).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let (s, e) = start(&t, &client_id, Some("wrong"), None).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    let (s, e) = start(&t, "nobody", None, None).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::UNAUTHORIZED, "invalid_client")
    );
    // Scopes outside the server's, or malformed.
    let (s, e) = start(&t, &client_id, Some(&secret), Some("admin")).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    let (s, e) = start(&t, &client_id, Some(&secret), Some("re\"ad")).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "invalid_scope")
    );
    // Apps of other grants may not start a device request, nor poll with one.
    let (code_app, _) = t
        .app(ClientType::Public, AppGrant::AuthorizationCode, |_| {})
        .await;
    let (s, e) = start(&t, &code_app, None, None).await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    let (_, e) = poll(&t, &code_app, None, "lkd_x").await;
    assert_eq!(error_of(&e), "unauthorized_client");
    // A device app may not use the password grant.
    let (s, e) = t
        .token(&[
            ("grant_type", "password"),
            ("client_id", &client_id),
            ("client_secret", &secret),
            ("username", "u"),
            ("password", "p"),
        ])
        .await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "unauthorized_client")
    );
    // A poll without device_code.
    let (s, e) = t
        .token(&[
            ("grant_type", GRANT),
            ("client_id", &client_id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(
        (s, error_of(&e)),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
}
