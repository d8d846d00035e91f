//! Signing out at our own provider signs the SPA out on every BFF replica: the provider
//! POSTs its back-channel logout token (OpenID Back-Channel Logout 1.0 §2.5) to the
//! replica its app registered, which ends the session through the shared index; the
//! other replica's near cache is dropped by Redis client tracking.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::{Bff, BffOptions, Provider};
use crate::sessions::{login_with_cookie, session_status};
use crate::{poll, redis};

/// The CSRF token of the provider's start page (its "Sign out" form).
async fn sign_out_form_token(client: &reqwest::Client, provider: &Provider) -> String {
    let page = client
        .get(format!("{}/", provider.url))
        .send()
        .await
        .expect("start page")
        .text()
        .await
        .expect("start page body");
    let marker = r#"name="csrfmiddlewaretoken" value=""#;
    let start = page.find(marker).expect("a sign-out form (signed in)") + marker.len();
    page[start..].split('"').next().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_at_the_provider_ends_the_session_on_both_replicas() {
    let Some(url) = redis::url(
        2,
        "signing_out_at_the_provider_ends_the_session_on_both_replicas",
    ) else {
        return;
    };
    redis::flush(&url).await;
    // Replica A's address must be registered before it starts.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port();
    let backchannel = format!("http://127.0.0.1:{port}/auth/backchannel-logout");
    let provider = Provider::start_with_app_args(&["--backchannel-logout-uri", &backchannel]).await;
    let options = BffOptions {
        redis_url: Some(url.clone()),
        // The provider lists the apps that got a code in the session, with `openid`.
        extra_args: vec![
            "--scope".into(),
            "openid read write groups".into(),
            "--session-cache-seconds".into(),
            "600".into(),
        ],
        ..BffOptions::default()
    };
    let a = Bff::start(
        &provider,
        BffOptions {
            listen: Some(format!("127.0.0.1:{port}")),
            ..options.clone()
        },
    )
    .await;
    let b = Bff::start(&provider, options).await;
    let (client, cookie) = login_with_cookie(&a).await;
    // Both near caches hold the session.
    assert_eq!(session_status(&a, &cookie).await, StatusCode::OK);
    assert_eq!(session_status(&b, &cookie).await, StatusCode::OK);

    let token = sign_out_form_token(&client, &provider).await;
    let started = Instant::now();
    let response = client
        .post(format!("{}/accounts/logout/", provider.url))
        .header("origin", &provider.url)
        .form(&[("csrfmiddlewaretoken", token.as_str())])
        .send()
        .await
        .expect("sign out at the provider");
    assert!(
        response.status().is_redirection() || response.status().is_success(),
        "provider sign-out: {}",
        response.status()
    );
    let a_ref = &a;
    let b_ref = &b;
    let cookie_ref = &cookie;
    poll::eventually(
        Duration::from_secs(1),
        "both replicas refusing the cookie",
        || async move {
            let a_done = session_status(a_ref, cookie_ref).await == StatusCode::UNAUTHORIZED;
            let b_done = session_status(b_ref, cookie_ref).await == StatusCode::UNAUTHORIZED;
            (a_done && b_done).then_some(())
        },
    )
    .await;
    poll::loud(&format!(
        "provider sign-out → both BFF replicas refuse the session: {} ms",
        started.elapsed().as_millis()
    ));
}
