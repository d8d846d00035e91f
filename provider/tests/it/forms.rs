//! The provider's forms: CSRF tokens the server issued, scheme-exact Origin, pages
//! never cached; and exact Content-Type matching at the token endpoint.

use reqwest::StatusCode;

use crate::on_both;
use crate::support::{Backend, TestApp, csrf_from, json_of};

on_both!(forms_need_a_server_issued_token_and_the_right_origin);

async fn forms_need_a_server_issued_token_and_the_right_origin(b: Backend) {
    let Some(t) = TestApp::spawn(b, "forms").await else {
        return;
    };
    t.user("admin", "admin").await;
    let login = |cookie: String, field: String, origin: Option<String>| {
        let t = &t;
        async move {
            let mut r = crate::support::browser()
                .post(t.url("/accounts/login/"))
                .header("cookie", format!("csrftoken={cookie}"))
                .form(&[
                    ("username", "admin"),
                    ("password", "admin"),
                    ("csrfmiddlewaretoken", field.as_str()),
                ]);
            if let Some(o) = origin {
                r = r.header("origin", o);
            }
            r.send().await.unwrap().status()
        }
    };
    // Any equal pair used to pass: only a token this server signed does now.
    assert_eq!(
        login("a".into(), "a".into(), None).await,
        StatusCode::FORBIDDEN
    );
    let forged = "A".repeat(43);
    assert_eq!(
        login(forged.clone(), forged, None).await,
        StatusCode::FORBIDDEN
    );
    let page = t.http.get(t.url("/accounts/login/")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let token = csrf_from(&page.text().await.unwrap());
    // The scheme is part of the origin.
    let https = t.base.replace("http://", "https://");
    assert_eq!(
        login(token.clone(), token.clone(), Some(https)).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        login(token.clone(), token.clone(), Some(t.base.clone())).await,
        StatusCode::SEE_OTHER
    );

    // Content-Type is the media type exactly, parameters allowed.
    let post = |ct: &'static str| {
        let t = &t;
        async move {
            let r = t
                .http
                .post(t.url("/oauth2/token/"))
                .header("content-type", ct)
                .body("grant_type=client_credentials&client_id=nope")
                .send()
                .await
                .unwrap();
            json_of(r).await
        }
    };
    let (s, e) = post("application/x-www-form-urlencodedX").await;
    assert_eq!(
        (s, e["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let (s, _) = post("Application/X-WWW-Form-Urlencoded; charset=UTF-8").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED); // parsed; the client is unknown
}
