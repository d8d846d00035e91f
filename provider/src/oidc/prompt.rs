//! The authorization request's OpenID Connect parameters (OIDC Core §3.1.2.1):
//! `nonce`, `prompt`, `max_age`, `login_hint`, and what they decide about the login.

use crate::error::ErrorCode;
use crate::params::Params;

/// What an authorization request asked of the login.
#[derive(Debug, Clone, Default)]
pub struct OidcRequest {
    /// Echoed in the ID Token of the code (§3.1.2.1), stored with the code.
    pub nonce: Option<String>,
    /// `prompt=none`: no page at all, an error instead (§3.1.2.6).
    pub none: bool,
    /// `prompt=login`: a fresh sign-in even when signed in.
    pub login: bool,
    /// `prompt=consent`: the consent page even when it could be skipped.
    pub consent: bool,
    /// `max_age`: a login older than this many seconds must be redone.
    pub max_age: Option<i64>,
    /// `login_hint`: the username the login form is prefilled with.
    pub login_hint: Option<String>,
}

impl OidcRequest {
    /// `Err` is an `invalid_request` description.
    pub fn parse(p: &Params) -> Result<Self, &'static str> {
        let mut r = Self {
            nonce: p.get("nonce").map(str::to_owned),
            login_hint: p.get("login_hint").map(str::to_owned),
            ..Self::default()
        };
        if let Some(prompt) = p.get("prompt") {
            for v in prompt.split(' ').filter(|v| !v.is_empty()) {
                match v {
                    "none" => r.none = true,
                    "login" => r.login = true,
                    "consent" => r.consent = true,
                    // `select_account`, and values we do not know: ignored (§3.1.2.1).
                    _ => {}
                }
            }
            if r.none && (r.login || r.consent) {
                return Err("prompt=none cannot be combined with other values");
            }
        }
        if let Some(m) = p.get("max_age") {
            r.max_age = Some(
                Some(m)
                    .filter(|m| m.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|m| m.parse::<i64>().ok())
                    .ok_or("max_age must be a non-negative integer")?,
            );
        }
        Ok(r)
    }
}

/// The signed-in user's login, as the decision needs it.
pub struct CurrentLogin<'a> {
    pub username: &'a str,
    pub auth_time: i64,
}

/// What the authorization endpoint does about the login.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginDecision {
    /// The current login will do.
    Proceed,
    /// Send the user to the login form (then back, without the parameters that forced it).
    SignIn,
    /// `prompt=none` and a page would be needed: this error, by redirect.
    Fail(ErrorCode),
}

pub fn decide(r: &OidcRequest, current: Option<&CurrentLogin<'_>>, now: i64) -> LoginDecision {
    let needed = match current {
        None => Some(ErrorCode::LoginRequired),
        Some(c) if r.max_age.is_some_and(|m| now - c.auth_time > m) => {
            Some(ErrorCode::LoginRequired)
        }
        // Another user is signed in than the one the client named: choosing an
        // account needs the user (interaction_required under prompt=none).
        Some(c) if r.login_hint.as_deref().is_some_and(|h| h != c.username) => {
            Some(ErrorCode::InteractionRequired)
        }
        Some(_) if r.login => Some(ErrorCode::LoginRequired),
        Some(_) => None,
    };
    match (needed, r.none) {
        (None, _) => LoginDecision::Proceed,
        (Some(e), true) => LoginDecision::Fail(e),
        (Some(_), false) => LoginDecision::SignIn,
    }
}

/// The authorization URL to come back to after the login form: the same request
/// without what forced the login (`prompt`'s `login`, `max_age`, `login_hint`), so
/// the fresh login is not asked for again.
pub fn return_path(path: &str, query: &str) -> String {
    let forcing = |k: &str| matches!(k, "prompt" | "max_age" | "login_hint");
    if !form_urlencoded::parse(query.as_bytes()).any(|(k, _)| forcing(&k)) {
        return format!("{path}?{query}");
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match &*k {
            "max_age" | "login_hint" => {}
            "prompt" => {
                let rest: Vec<&str> = v
                    .split(' ')
                    .filter(|p| *p != "login" && !p.is_empty())
                    .collect();
                if !rest.is_empty() {
                    out.append_pair("prompt", &rest.join(" "));
                }
            }
            _ => {
                out.append_pair(&k, &v);
            }
        }
    }
    format!("{path}?{}", out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> Result<OidcRequest, &'static str> {
        OidcRequest::parse(&Params::parse(q.as_bytes()).expect("parses"))
    }

    #[test]
    fn prompt_and_max_age_parse_strictly() {
        assert!(req("prompt=none%20login").is_err());
        assert!(req("max_age=-1").is_err());
        assert!(req("max_age=1e3").is_err());
        assert!(req("max_age=+5").is_err());
        let r = req("prompt=login%20consent&max_age=0&nonce=n").expect("ok");
        assert!(r.login && r.consent && !r.none);
        assert_eq!(r.max_age, Some(0));
        assert_eq!(r.nonce.as_deref(), Some("n"));
    }

    #[test]
    fn decisions() {
        let alice = CurrentLogin {
            username: "alice",
            auth_time: 100,
        };
        let none = req("prompt=none").expect("ok");
        assert_eq!(
            decide(&none, None, 200),
            LoginDecision::Fail(ErrorCode::LoginRequired)
        );
        assert_eq!(decide(&none, Some(&alice), 200), LoginDecision::Proceed);
        let old = req("prompt=none&max_age=50").expect("ok");
        assert_eq!(
            decide(&old, Some(&alice), 200),
            LoginDecision::Fail(ErrorCode::LoginRequired)
        );
        let hint = req("prompt=none&login_hint=bob").expect("ok");
        assert_eq!(
            decide(&hint, Some(&alice), 200),
            LoginDecision::Fail(ErrorCode::InteractionRequired)
        );
        assert_eq!(
            decide(&req("prompt=login").expect("ok"), Some(&alice), 200),
            LoginDecision::SignIn
        );
        assert_eq!(
            decide(&req("max_age=100").expect("ok"), Some(&alice), 200),
            LoginDecision::Proceed
        );
    }

    #[test]
    fn the_way_back_drops_what_forced_the_login() {
        assert_eq!(
            return_path(
                "/oauth2/authorize/",
                "client_id=a&prompt=login%20consent&max_age=0&login_hint=x&state=s"
            ),
            "/oauth2/authorize/?client_id=a&prompt=consent&state=s"
        );
    }
}
