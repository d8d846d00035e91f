//! Real-browser tests of the demo: headless Chromium drives `latchkey-demo` through the
//! SPA's UI and the provider's login form; a recording proxy sees every response the page
//! gets, so the "no token in the browser" claim is checked against all of them.

use crate::chrome::Browser;
use crate::demo_process::Demo;
use crate::harness::TempDir;
use crate::loud;
use crate::recorder::Recorder;
use crate::spa_steps::{assert_no_token_in_browser, call_api, sign_in};

/// The SPA's console has no errors (chromedriver's browser log): no script error, no CSP
/// violation, no failed load from the SPA's origin. Expected: the `401` of `/auth/session`
/// while signed out. (The provider's pages are not the SPA's: their favicon 404 is theirs.)
async fn assert_no_console_errors(browser: &Browser, app: &str) {
    let entries = browser.console_log().await;
    let errors: Vec<_> = entries
        .iter()
        .filter(|e| e["level"] == "SEVERE")
        .filter(|e| {
            let message = e["message"].as_str().unwrap_or("");
            let network = e["source"] == "network";
            !network || (message.starts_with(app) && !message.contains(" 401 "))
        })
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test]
async fn demo_in_chromium_sign_in_call_apis_sign_out() {
    let recorder = Recorder::start().await;
    let Some(mut browser) = Browser::launch("demo-flow", &recorder.url).await else {
        return;
    };
    let data = TempDir::new("demo");
    let demo = Demo::start(&data.0, None).await;
    assert!(demo.banner.contains("and sign in as admin / admin"));

    // A failed login is explained.
    browser
        .goto(&format!("{}/?login_error=access_denied", demo.app))
        .await;
    browser.text_contains("#reason", "Sign-in failed").await;
    browser.goto(&demo.app).await;
    browser.visible("#sign-in").await;
    browser.shot("signed-out").await;

    sign_in(&mut browser, &demo.app).await;
    browser.shot("signed-in").await;
    let me = call_api(&browser, "#call-me", "GET /api/me/ → 200").await;
    assert!(me.contains("\"username\": \"admin\""), "{me}");
    browser.shot("api-me").await;
    let groups = call_api(&browser, "#call-groups", "GET /api/groups/ → 200").await;
    assert!(groups.contains("demo"), "{groups}");
    browser.shot("api-groups").await;
    let note = call_api(&browser, "#call-note", "POST /api/notes/ → 201").await;
    assert!(note.contains("Hello from the demo"), "{note}");
    browser.shot("api-note").await;

    // A second tab shares the session.
    let first = browser.client.window().await.unwrap();
    let second = browser.client.new_window(true).await.unwrap().handle;
    browser
        .client
        .switch_to_window(second.clone())
        .await
        .unwrap();
    browser.goto(&demo.app).await;
    browser.text_contains("#username", "admin").await;
    browser.shot("second-tab-signed-in").await;
    browser.client.switch_to_window(first).await.unwrap();

    assert_no_token_in_browser(&browser, &recorder).await;
    assert_no_console_errors(&browser, &demo.app).await;

    browser.click("#sign-out").await;
    browser.text_contains("#reason", "You signed out.").await;
    browser.shot("signed-out-after-sign-out").await;
    call_api(&browser, "#call-me", "GET /api/me/ → 401").await;
    browser.text_contains("#reason", "You are signed out").await;
    browser.shot("api-after-sign-out").await;

    // The stale second tab flips to signed out on its next call.
    browser.client.switch_to_window(second).await.unwrap();
    browser.visible("#signed-in").await;
    call_api(&browser, "#call-groups", "GET /api/groups/ → 401").await;
    browser.visible("#sign-in").await;
    browser.shot("second-tab-flipped").await;

    browser.client.clone().close().await.unwrap();
    demo.interrupt().await;
}

#[tokio::test]
async fn demo_session_survives_a_restart_with_redis() {
    let Ok(redis) = std::env::var("LATCHKEY_TEST_REDIS_URL") else {
        loud("SKIPPED: demo_session_survives_a_restart_with_redis needs LATCHKEY_TEST_REDIS_URL");
        return;
    };
    let recorder = Recorder::start().await;
    let Some(mut browser) = Browser::launch("demo-redis-restart", &recorder.url).await else {
        return;
    };
    let redis = format!("{}/14", redis.trim_end_matches('/'));
    let data = TempDir::new("demo-redis");
    let demo = Demo::start(&data.0, Some(&redis)).await;
    assert!(demo.banner.contains("Redis"), "{}", demo.banner);
    sign_in(&mut browser, &demo.app).await;
    call_api(&browser, "#call-me", "GET /api/me/ → 200").await;
    browser.shot("before-restart").await;
    demo.interrupt().await;

    // Same data (a second run reuses it), new ports: cookies ignore ports.
    let demo = Demo::start(&data.0, Some(&redis)).await;
    browser.goto(&demo.app).await;
    browser.text_contains("#username", "admin").await;
    let me = call_api(&browser, "#call-me", "GET /api/me/ → 200").await;
    assert!(me.contains("admin"), "{me}");
    browser.shot("after-restart-still-signed-in").await;
    assert_no_token_in_browser(&browser, &recorder).await;
    browser.client.clone().close().await.unwrap();
    demo.interrupt().await;
}
