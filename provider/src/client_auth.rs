//! Client authentication at the token, revocation and introspection endpoints
//! (RFC 6749 §2.3.1): HTTP Basic or `client_id`/`client_secret` in the body —
//! never both at once. Public clients identify themselves with `client_id` alone.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::{ErrorCode, OAuthError};
use crate::model::Application;
use crate::params::Params;
use crate::secret::PlainToken;
use crate::storage::Db;

#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<PlainToken>,
    pub via_basic: bool,
}

fn invalid_client(via_basic: bool, description: &'static str) -> OAuthError {
    OAuthError {
        basic_challenge: via_basic,
        ..OAuthError::new(ErrorCode::InvalidClient, description)
    }
}

/// Reads the credentials from the `Authorization` header and/or the parameters.
pub fn credentials(
    authorization: Option<&str>,
    params: &Params,
) -> Result<ClientCredentials, OAuthError> {
    let basic = authorization.and_then(|h| {
        let (scheme, rest) = h.split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
    });
    let Some(encoded) = basic else {
        let client_id = params.get("client_id").ok_or_else(|| {
            invalid_client(false, "client authentication is required (client_id)")
        })?;
        return Ok(ClientCredentials {
            client_id: client_id.to_owned(),
            secret: params.get("client_secret").map(PlainToken::from_client),
            via_basic: false,
        });
    };
    // RFC 6749 §2.3.1: MUST NOT use more than one authentication method per request.
    if params.has("client_secret") {
        return Err(OAuthError::invalid_request(
            "use either HTTP Basic or client_secret in the body, not both",
        ));
    }
    let decoded = STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_client(true, "malformed HTTP Basic credentials"))?;
    let (id, secret) = decoded
        .split_once(':')
        .ok_or_else(|| invalid_client(true, "malformed HTTP Basic credentials"))?;
    // The id and secret are form-urlencoded before being joined (RFC 6749 §2.3.1).
    let id = form_decode(id);
    let secret = form_decode(secret);
    if id.contains('\0') || secret.contains('\0') {
        return Err(invalid_client(true, "malformed HTTP Basic credentials"));
    }
    if params.get("client_id").is_some_and(|body_id| body_id != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the HTTP Basic one",
        ));
    }
    Ok(ClientCredentials {
        client_id: id,
        secret: (!secret.is_empty()).then(|| PlainToken::from_client(secret)),
        via_basic: true,
    })
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space,
/// `%XX` a byte. A literal `&` is part of the value (the parser would split there).
fn form_decode(s: &str) -> String {
    form_urlencoded::parse(format!("v={}", s.replace('&', "%26")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Checks the credentials: confidential clients must present their secret
/// (compared as SHA-256 digests, in constant time).
pub async fn authenticate(db: &Db, creds: &ClientCredentials) -> Result<Application, OAuthError> {
    let app = db
        .application_by_client_id(&creds.client_id)
        .await?
        .ok_or_else(|| invalid_client(creds.via_basic, "unknown client"))?;
    if app.is_public() {
        return Ok(app);
    }
    let (Some(secret), Some(stored)) = (&creds.secret, &app.client_secret_hash) else {
        return Err(invalid_client(
            creds.via_basic,
            "client authentication failed",
        ));
    };
    if !stored.matches(&secret.hash()) {
        return Err(invalid_client(
            creds.via_basic,
            "client authentication failed",
        ));
    }
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        let c = credentials(Some(&header), &Params::default()).expect("parses");
        assert_eq!(c.client_id, "my app");
        assert_eq!(c.secret.as_ref().map(PlainToken::expose), Some("s:cret"));
        assert!(c.via_basic);
    }

    #[test]
    fn basic_credentials_keep_ampersands() {
        let header = format!("Basic {}", STANDARD.encode("app:a&b=c"));
        let c = credentials(Some(&header), &Params::default()).expect("parses");
        assert_eq!(c.secret.as_ref().map(PlainToken::expose), Some("a&b=c"));
    }

    #[test]
    fn two_methods_at_once_are_refused() {
        let header = format!("Basic {}", STANDARD.encode("a:b"));
        let params = Params::parse(b"client_secret=b").expect("parses");
        let e = credentials(Some(&header), &params).expect_err("refused");
        assert_eq!(e.code, ErrorCode::InvalidRequest);
    }
}
