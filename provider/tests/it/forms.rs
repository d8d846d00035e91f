//! The provider's forms: CSRF tokens the server issued, a required same-origin
//! `Origin` (or, without one, `Referer`), scheme-exact, pages
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
    let with = |cookie: String, field: String, header: Option<(&'static str, String)>| {
        let t = &t;
        async move {
            let mut r = crate::support::bare_browser()
                .post(t.url("/accounts/login/"))
                .header("cookie", format!("csrftoken={cookie}"))
                .form(&[
                    ("username", "admin"),
                    ("password", "admin"),
                    ("csrfmiddlewaretoken", field.as_str()),
                ]);
            if let Some((name, value)) = header {
                r = r.header(name, value);
            }
            r.send().await.unwrap().status()
        }
    };
    let login = |cookie: String, field: String, origin: Option<String>| {
        with(cookie, field, origin.map(|o| ("origin", o)))
    };
    // Any equal pair used to pass: only a token this server signed does now.
    assert_eq!(
        login("a".into(), "a".into(), Some(t.base.clone())).await,
        StatusCode::FORBIDDEN
    );
    let forged = "A".repeat(43);
    assert_eq!(
        login(forged.clone(), forged, Some(t.base.clone())).await,
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
    // Neither Origin nor Referer: refused, however good the token.
    assert_eq!(
        login(token.clone(), token.clone(), None).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        login(token.clone(), token.clone(), Some("null".into())).await,
        StatusCode::FORBIDDEN
    );
    // Without Origin, the Referer's scheme, host and port must be this site's.
    for (referer, expected) in [
        (
            format!("{}/accounts/login/?next=/", t.base),
            StatusCode::SEE_OTHER,
        ),
        (
            format!("{}/accounts/login/", t.base.replace("http://", "https://")),
            StatusCode::FORBIDDEN,
        ),
        (
            "http://evil.example/accounts/login/".into(),
            StatusCode::FORBIDDEN,
        ),
        ("not a url".into(), StatusCode::FORBIDDEN),
    ] {
        let got = with(
            token.clone(),
            token.clone(),
            Some(("referer", referer.clone())),
        )
        .await;
        assert_eq!(got, expected, "{referer}");
    }
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
