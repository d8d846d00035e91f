//! The BFF's back-channel logout receiver and its RP-initiated logout against an OpenID
//! provider nobody here wrote: node's `oidc-provider` from npm
//! (`tests/compat/oidc-provider/server.mjs`), with back-channel logout and RP-initiated
//! logout on and its development login forms, driven over plain HTTP.
//! Needs `LATCHKEY_TEST_OIDC_PROVIDER` (the node_modules dir `.ci/install-oidc-provider`
//! prints).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tokio::process::{Child, Command};
use url::Url;

use crate::browser::{self, GOOD_ORIGIN};
use crate::harness::{
    Bff, BffOptions, CLIENT_ID, CLIENT_SECRET, Echo, REGISTERED_REDIRECT, USERNAME, free_port,
    listening_url,
};
use crate::{eventually, loud};

const POST_LOGOUT: &str = "http://localhost:3000/";

struct NodeProvider {
    issuer: String,
    _child: Child,
}

impl NodeProvider {
    async fn start(modules: &Path, backchannel_uri: &str) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/oidc-provider/server.mjs");
        let client = json!({
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "redirect_uri": REGISTERED_REDIRECT, "backchannel_logout_uri": backchannel_uri,
            "post_logout_redirect_uri": POST_LOGOUT,
        });
        let mut child = Command::new("node")
            .arg(script)
            .arg(client.to_string())
            .env("LATCHKEY_TEST_OIDC_PROVIDER", modules)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn node (is node installed?)");
        let issuer = listening_url(&mut child, "oidc-provider").await;
        Self {
            issuer,
            _child: child,
        }
    }
}

fn location(response: &reqwest::Response, base: &Url) -> Url {
    browser::location(response, base.as_str())
}

/// `name="…" value="…"` of a hidden input, or a form's `action`.
fn attribute<'a>(html: &'a str, after: &str, name: &str) -> &'a str {
    let at = html
        .find(after)
        .unwrap_or_else(|| panic!("{after} in {html}"));
    let rest = &html[at..];
    let value = rest
        .split(&format!("{name}=\""))
        .nth(1)
        .unwrap_or_else(|| panic!("{name} after {after}"));
    &value[..value.find('"').expect("closing quote")]
}

/// `/auth/login` → oidc-provider's login and consent forms → the BFF's callback.
async fn sign_in(client: &reqwest::Client, bff: &Bff) {
    let response = client
        .get(format!("{}/auth/login?return_to=/app", bff.url))
        .send()
        .await
        .expect("login");
    let mut url = location(&response, &Url::parse(&bff.url).expect("bff url"));
    for _ in 0..12 {
        let response = client.get(url.clone()).send().await.expect("provider");
        let response = if response.status().is_redirection() {
            response
        } else {
            assert_eq!(response.status(), 200, "{url}");
            let html = response.text().await.expect("interaction page");
            let action = url
                .join(attribute(&html, "<form", "action"))
                .expect("action");
            let form: Vec<(&str, &str)> = if html.contains(r#"name="prompt" value="login""#) {
                vec![
                    ("prompt", "login"),
                    ("login", USERNAME),
                    ("password", "any"),
                ]
            } else {
                assert!(html.contains(r#"value="consent""#), "{html}");
                vec![("prompt", "consent")]
            };
            let response = client.post(action).form(&form).send().await.expect("form");
            assert!(response.status().is_redirection(), "{}", response.status());
            response
        };
        url = location(&response, &url);
        if url.as_str().starts_with(REGISTERED_REDIRECT) {
            // The registered redirect URI names localhost:3000; this BFF runs elsewhere.
            let callback = format!("{}/auth/callback?{}", bff.url, url.query().unwrap_or(""));
            let done = client.get(callback).send().await.expect("callback");
            assert_eq!(done.status(), 302);
            assert_eq!(
                done.headers()[LOCATION],
                "/app",
                "signed in through oidc-provider"
            );
            return;
        }
    }
    panic!("no callback after a dozen provider steps");
}

/// oidc-provider's logout confirmation (`GET end_session` → form → `POST` with
/// `logout=yes`); returns where the provider sends the browser afterwards.
async fn confirm_provider_logout(client: &reqwest::Client, end_session: Url) -> Url {
    let response = client
        .get(end_session.clone())
        .send()
        .await
        .expect("end session");
    assert_eq!(response.status(), 200, "logout confirmation page");
    let html = response.text().await.expect("html");
    let action = end_session
        .join(attribute(&html, "op.logoutForm", "action"))
        .expect("action");
    let xsrf = attribute(&html, "name=\"xsrf\"", "value").to_owned();
    let response = client
        .post(action.clone())
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .expect("confirm logout");
    assert_eq!(response.status(), 303, "logout confirmed");
    location(&response, &action)
}

async fn session_status(client: &reqwest::Client, bff: &Bff) -> u16 {
    let response = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .expect("session");
    response.status().as_u16()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in metrics"))
}

#[tokio::test]
async fn node_oidc_provider_back_channel_and_rp_initiated_logout() {
    let Some(modules) = std::env::var_os("LATCHKEY_TEST_OIDC_PROVIDER").map(PathBuf::from) else {
        loud(
            "SKIPPED (third-party OpenID provider): run .ci/install-oidc-provider and set \
             LATCHKEY_TEST_OIDC_PROVIDER to the node_modules dir it prints",
        );
        return;
    };
    // oidc-provider must know the BFF's back-channel URI before the BFF (which discovers
    // the provider at start) runs: the BFF gets a port picked beforehand.
    let port = free_port();
    let backchannel = format!("http://127.0.0.1:{port}/auth/backchannel-logout");
    let op = NodeProvider::start(&modules, &backchannel).await;
    let echo = Echo::start().await;
    let options = BffOptions {
        upstream: Some(echo.url.clone()),
        listen: Some(format!("127.0.0.1:{port}")),
        extra_args: ["--scope", "openid profile"]
            .iter()
            .map(ToString::to_string)
            .chain([
                "--post-logout-redirect-uri".to_owned(),
                POST_LOGOUT.to_owned(),
            ])
            .collect(),
        ..BffOptions::default()
    };
    let bff = Bff::start_for_issuer(&op.issuer, options).await;

    // 1. Back-channel: sign in through the BFF, sign out at the provider; the provider
    // posts a logout token (sid and sub) and the BFF's session is gone.
    let client = browser::client();
    sign_in(&client, &bff).await;
    assert_eq!(session_status(&client, &bff).await, 200);
    let api = client
        .get(format!("{}/api/x", bff.url))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 200, "signed in: the API answers");
    let session: Value = client
        .get(format!("{}/auth/session", bff.url))
        .send()
        .await
        .expect("session")
        .json()
        .await
        .expect("json");
    assert_eq!(session["user"]["sub"], USERNAME, "{session}");
    let end_session = Url::parse(&format!("{}/session/end?client_id={CLIENT_ID}", op.issuer))
        .expect("end session url");
    confirm_provider_logout(&client, end_session).await;
    eventually(
        Duration::from_secs(5),
        "the back-channel logout",
        || async { (session_status(&client, &bff).await == 401).then_some(()) },
    )
    .await;
    let api = client
        .get(format!("{}/api/x", bff.url))
        .send()
        .await
        .expect("api");
    assert_eq!(api.status(), 401, "the API is signed out too");
    let metrics = bff.metrics().await;
    assert_eq!(metric(&metrics, "bff_backchannel_logouts_total"), 1);
    assert_eq!(
        metric(&metrics, "bff_backchannel_logout_sessions_ended_total"),
        1
    );

    // 2. RP-initiated: the BFF's logout names oidc-provider's end_session_endpoint with
    // id_token_hint, client_id, post_logout_redirect_uri and state; oidc-provider accepts
    // them and comes back to the registered URI with the state.
    let client = browser::client();
    sign_in(&client, &bff).await;
    let response = client
        .post(format!("{}/auth/logout", bff.url))
        .header("x-csrf", "1")
        .header("origin", GOOD_ORIGIN)
        .send()
        .await
        .expect("logout");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("logout json");
    let redirect = Url::parse(body["redirect"].as_str().expect("redirect")).expect("url");
    assert!(
        redirect
            .as_str()
            .starts_with(&format!("{}/session/end?", op.issuer)),
        "{redirect}"
    );
    let query: std::collections::HashMap<String, String> =
        redirect.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], CLIENT_ID);
    assert_eq!(query["post_logout_redirect_uri"], POST_LOGOUT);
    assert!(query["id_token_hint"].split('.').count() == 3, "{query:?}");
    let state = &query["state"];
    assert!(state.len() >= 16, "{state}");
    assert_eq!(
        session_status(&client, &bff).await,
        401,
        "local session gone first"
    );
    let back = confirm_provider_logout(&client, redirect.clone()).await;
    assert_eq!(back.as_str(), format!("{POST_LOGOUT}?state={state}"));
    // The provider's back-channel call for the already ended session is still a 200.
    let metrics = bff.metrics().await;
    assert_eq!(metric(&metrics, "bff_backchannel_logouts_total"), 2);
    assert_eq!(metric(&metrics, "bff_backchannel_logout_refused_total"), 0);
}
