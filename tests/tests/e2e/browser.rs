//! A browser stand-in: cookie store, no automatic redirects, logs in through the
//! provider's HTML form like a person would.

use reqwest::header::LOCATION;
use url::Url;

use crate::harness::{Bff, PASSWORD, USERNAME};

pub const GOOD_ORIGIN: &str = "http://localhost:3000";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

pub fn location(response: &reqwest::Response, base: &str) -> Url {
    let value = response
        .headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("expected a redirect, got {}", response.status()))
        .to_str()
        .expect("location");
    Url::parse(base)
        .expect("base")
        .join(value)
        .expect("location url")
}

/// The value of the hidden `csrfmiddlewaretoken` input of a Django-style form.
fn csrf_token(html: &str) -> String {
    let at = html
        .find("csrfmiddlewaretoken")
        .expect("csrfmiddlewaretoken in the form");
    let tag_start = html[..at].rfind('<').expect("input tag");
    let tag_end = at + html[at..].find('>').expect("end of tag");
    let tag = &html[tag_start..tag_end];
    let value = tag.split("value=\"").nth(1).expect("value attribute");
    value[..value.find('"').expect("closing quote")].to_owned()
}

/// `/auth/login` → provider authorize → login form → authorize → BFF callback.
/// Returns the callback response (a 302 to `return_to` on success).
pub async fn login(client: &reqwest::Client, bff: &Bff, return_to: &str) -> reqwest::Response {
    let callback = callback_url(client, bff, return_to).await;
    client.get(callback).send().await.expect("callback")
}

/// The whole login up to the BFF callback, not sent: its URL (the login cookie is in
/// `client`'s jar).
pub async fn callback_url(client: &reqwest::Client, bff: &Bff, return_to: &str) -> String {
    callback_url_as(client, &bff.url, USERNAME, PASSWORD, return_to).await
}

/// [`callback_url`] for any user, through the BFF at `bff_url`.
pub async fn callback_url_as(
    client: &reqwest::Client,
    bff_url: &str,
    username: &str,
    password: &str,
    return_to: &str,
) -> String {
    let response = client
        .get(format!("{bff_url}/auth/login"))
        .query(&[("return_to", return_to)])
        .send()
        .await
        .expect("login");
    assert!(response.status().is_redirection(), "GET /auth/login");
    let authorize = location(&response, bff_url);
    let query: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    for key in [
        "state",
        "code_challenge",
        "client_id",
        "redirect_uri",
        "scope",
    ] {
        assert!(
            query.iter().any(|(k, _)| k == key),
            "authorize URL lacks {key}"
        );
    }
    assert!(query.contains(&("code_challenge_method".into(), "S256".into())));
    assert!(!authorize.as_str().contains("client_secret"));

    let response = client
        .get(authorize.clone())
        .send()
        .await
        .expect("authorize");
    assert!(
        response.status().is_redirection(),
        "authorize without a provider session"
    );
    let login_page = location(&response, authorize.as_str());
    let next = login_page
        .query_pairs()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .expect("next");
    let html = client
        .get(login_page.clone())
        .send()
        .await
        .expect("login page")
        .text()
        .await
        .expect("html");
    let token = csrf_token(&html);
    // As a browser does on a form post (the provider refuses one with neither
    // Origin nor Referer): the login page's own origin.
    let response = client
        .post(login_page.clone())
        .header("origin", login_page.origin().ascii_serialization())
        .form(&[
            ("username", username),
            ("password", password),
            ("next", next.as_str()),
            ("csrfmiddlewaretoken", token.as_str()),
        ])
        .send()
        .await
        .expect("post login form");
    assert!(
        response.status().is_redirection(),
        "provider login: {}",
        response.status()
    );
    let authorize_again = location(&response, login_page.as_str());
    let response = client
        .get(authorize_again.clone())
        .send()
        .await
        .expect("authorize");
    assert!(
        response.status().is_redirection(),
        "authorize with a provider session"
    );
    let redirect = location(&response, authorize_again.as_str());
    // The registered redirect URI names localhost:3000; this BFF runs on a free port.
    format!(
        "{bff_url}/auth/callback?{}",
        redirect.query().unwrap_or_default()
    )
}

/// Logs in and asserts success.
pub async fn logged_in(bff: &Bff) -> reqwest::Client {
    let client = client();
    let response = login(&client, bff, "/app").await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()[LOCATION], "/app");
    let cookies: Vec<&str> = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("latchkey-bff="))
        .unwrap_or_else(|| panic!("session cookie set: {cookies:?}"));
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    assert!(!session.contains("Domain"), "no Domain in {session}");
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("latchkey-bff-login=;") && c.contains("Max-Age=0")),
        "pre-login cookie expired: {cookies:?}"
    );
    client
}
