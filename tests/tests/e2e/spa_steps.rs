//! The SPA driven as a person would: sign in through the provider's form, click the API
//! buttons, and look for tokens everywhere the browser could hold one.

use crate::chrome::Browser;
use crate::recorder::Recorder;

/// Every provider token carries one of these prefixes.
pub const TOKEN_PREFIXES: [&str; 2] = ["lka_", "lkr_"];

/// Sign in through the SPA and the provider's form; ends on the signed-in page.
pub async fn sign_in(browser: &mut Browser, app: &str) {
    browser.goto(app).await;
    browser.click("#sign-in").await;
    browser.fill("input[name=username]", "admin").await;
    browser.fill("input[name=password]", "admin").await;
    browser.shot("provider-login").await;
    browser.click("form button[type=submit]").await;
    browser.visible("#signed-in").await;
    browser.text_contains("#username", "admin").await;
}

/// Clicks an API button and waits for its status line; returns the result text.
pub async fn call_api(browser: &Browser, button: &str, status_line: &str) -> String {
    browser.click(button).await;
    browser.text_contains("#status", status_line).await;
    browser.text_contains("#result", "").await
}

/// No token in the page's storage, nor in any response it received.
pub async fn assert_no_token_in_browser(browser: &Browser, recorder: &Recorder) {
    for script in [
        "return document.cookie",
        "return JSON.stringify(Object.assign({}, localStorage))",
        "return JSON.stringify(Object.assign({}, sessionStorage))",
        "return document.documentElement.outerHTML",
    ] {
        let seen = browser.eval(script).await;
        for prefix in TOKEN_PREFIXES {
            assert!(!seen.contains(prefix), "{prefix} in `{script}`: {seen}");
        }
    }
    let received = recorder.received();
    assert!(
        received
            .iter()
            .any(|r| r.url.ends_with("/api/me/") && r.text.contains("admin")),
        "the recorder saw the API's answers"
    );
    for response in &received {
        for prefix in TOKEN_PREFIXES {
            assert!(
                !response.text.contains(prefix),
                "{prefix} in the response to {} ({}), request {}",
                response.url,
                response.status,
                response.request
            );
        }
    }
}
