//! The device authorization grant (RFC 8628) end to end with real processes: a
//! CLI (a plain HTTP client) asks the provider for a code and polls the token
//! endpoint, while a scripted user signs in, enters the code and approves in
//! headless Chromium; then the denial path, and the user revoking the CLI on
//! "Your authorized apps". Screenshots of each page (docs/device-code.png and
//! docs/authorized-apps.png come from them).

use std::time::Duration;

use serde_json::Value;

use crate::chrome::Browser;
use crate::harness::{PASSWORD, Provider, USERNAME};
use crate::recorder::Recorder;

const CLI_ID: &str = "latchkey-cli";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The CLI's side: no browser, no cookies, just HTTP.
struct Cli {
    http: reqwest::Client,
    provider: String,
}

impl Cli {
    async fn start(&self) -> Value {
        let r = self
            .http
            .post(format!("{}/oauth2/device-authorization/", self.provider))
            .form(&[("client_id", CLI_ID), ("scope", "read write")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json().await.unwrap()
    }

    /// One poll: `Ok(tokens)` or `Err(error code)`.
    async fn poll(&self, device_code: &str) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("{}/oauth2/token/", self.provider))
            .form(&[
                ("grant_type", GRANT),
                ("device_code", device_code),
                ("client_id", CLI_ID),
            ])
            .send()
            .await
            .unwrap();
        let ok = r.status() == 200;
        let body: Value = r.json().await.unwrap();
        if ok {
            Ok(body)
        } else {
            Err(body["error"].as_str().unwrap_or("").to_owned())
        }
    }

    /// Polls as RFC 8628 §3.5 says: every `interval` seconds, 5 more after a
    /// slow_down, until tokens or another error.
    async fn wait_for_tokens(&self, device_code: &str, mut interval: u64) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            // The protocol's pacing, not a synchronisation: the result decides.
            tokio::time::sleep(Duration::from_secs(interval)).await;
            match self.poll(device_code).await {
                Err(e) if e == "authorization_pending" => {}
                Err(e) if e == "slow_down" => interval += 5,
                other => return other,
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no decision in 90 s"
            );
        }
    }

    async fn me(&self, access_token: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/api/me/", self.provider))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap()
    }
}

/// Signs in on the provider's login page the browser was sent to.
async fn sign_in(browser: &Browser) {
    browser.fill("#id_username", USERNAME).await;
    browser.fill("#id_password", PASSWORD).await;
    browser.click("button[type=submit]").await;
}

#[tokio::test]
async fn device_flow_cli_polls_while_the_user_approves_in_chromium() {
    let recorder = Recorder::start().await;
    let Some(mut browser) = Browser::launch("device-flow", &recorder.url).await else {
        return;
    };
    let provider =
        Provider::start_with_args(3600, 86_400, &["--device-code-interval-seconds", "1"]).await;
    let out = provider.manage(&[
        "createapplication",
        "--client-id",
        CLI_ID,
        "--name",
        "Latchkey CLI",
        "public",
        "device-code",
    ]);
    assert!(out.contains(CLI_ID), "{out}");
    let cli = Cli {
        http: reqwest::Client::new(),
        provider: provider.url.clone(),
    };

    // The CLI asks for a code, polls at once (pending) and again too soon (slow_down).
    let d = cli.start().await;
    let device_code = d["device_code"].as_str().unwrap().to_owned();
    let user_code = d["user_code"].as_str().unwrap().to_owned();
    assert_eq!(d["interval"], 1);
    assert_eq!(
        cli.poll(&device_code).await.unwrap_err(),
        "authorization_pending"
    );
    assert_eq!(cli.poll(&device_code).await.unwrap_err(), "slow_down");
    // From now on it polls politely in the background, at the raised interval.
    let poller = {
        let cli = Cli {
            http: cli.http.clone(),
            provider: cli.provider.clone(),
        };
        let device_code = device_code.clone();
        tokio::spawn(async move { cli.wait_for_tokens(&device_code, 6).await })
    };

    // The user opens the link the CLI printed: sign in, then the code is prefilled
    // but needs a click (RFC 8628 §5.4); the next page shows the app, code and scopes.
    browser
        .goto(d["verification_uri_complete"].as_str().unwrap())
        .await;
    browser.visible("#id_username").await;
    sign_in(&browser).await;
    let field = browser.visible("#id_user_code").await;
    assert_eq!(
        field.prop("value").await.unwrap().as_deref(),
        Some(user_code.as_str())
    );
    let shot = browser.shot("device-code").await;
    assert!(shot.exists());
    browser.click("button[value=continue]").await;
    browser
        .text_contains("h1", "Authorize Latchkey CLI on your device?")
        .await;
    browser.text_contains("main", &user_code).await;
    browser.shot("device-confirm").await;
    browser.click("button[value=approve]").await;
    browser.text_contains("h1", "Device connected").await;
    browser.shot("device-approved").await;

    // The CLI's next poll gets the tokens; they work on the API.
    let tokens = poller.await.unwrap().expect("tokens after approval");
    assert_eq!(tokens["scope"], "read write");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let me = cli.me(&access).await;
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], USERNAME);
    assert_eq!(me["application"]["client_id"], CLI_ID);
    assert_eq!(cli.poll(&device_code).await.unwrap_err(), "invalid_grant");

    // Denial: the user types a second code by hand and chooses Deny.
    let d2 = cli.start().await;
    let code2 = d2["user_code"].as_str().unwrap().to_owned();
    browser.goto(d2["verification_uri"].as_str().unwrap()).await;
    browser.fill("#id_user_code", &code2.to_lowercase()).await;
    browser.click("button[value=continue]").await;
    browser.text_contains("main", &code2).await;
    browser.click("button[value=deny]").await;
    browser.text_contains("h1", "Request denied").await;
    let device2 = d2["device_code"].as_str().unwrap();
    assert_eq!(cli.poll(device2).await.unwrap_err(), "access_denied");

    // "Your authorized apps" lists the CLI; revoking it ends its tokens.
    browser
        .goto(&format!("{}/oauth2/authorized_tokens/", provider.url))
        .await;
    browser.text_contains("table", "Latchkey CLI").await;
    browser.shot("authorized-apps").await;
    browser
        .click("button[aria-label='Revoke Latchkey CLI']")
        .await;
    browser.text_contains(".notice", "Access revoked").await;
    browser.shot("authorized-apps-revoked").await;
    assert_eq!(cli.me(&access).await.status(), 401);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let r = cli
        .http
        .post(format!("{}/oauth2/token/", provider.url))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", CLI_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
