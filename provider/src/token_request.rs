//! The token request (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6), parsed from the flat
//! form into one variant per grant holding exactly that grant's fields.

use crate::error::{ErrorCode, OAuthError};
use crate::model::DEVICE_CODE_GRANT;
use crate::params::Params;
use crate::password::Password;
use crate::scope::Scopes;
use crate::secret::PlainToken;

#[derive(Debug)]
pub enum TokenRequest {
    AuthorizationCode {
        code: PlainToken,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: PlainToken,
        scope: Option<Scopes>,
    },
    Password {
        username: String,
        password: Password,
        scope: Option<Scopes>,
    },
    ClientCredentials {
        scope: Option<Scopes>,
    },
    /// RFC 8628 §3.4.
    DeviceCode {
        device_code: PlainToken,
    },
}

impl TokenRequest {
    /// The `grant_type` value, as registered in RFC 6749.
    pub fn grant_type(&self) -> &'static str {
        match self {
            Self::AuthorizationCode { .. } => "authorization_code",
            Self::RefreshToken { .. } => "refresh_token",
            Self::Password { .. } => "password",
            Self::ClientCredentials { .. } => "client_credentials",
            Self::DeviceCode { .. } => DEVICE_CODE_GRANT,
        }
    }

    pub fn parse(p: &Params) -> Result<Self, OAuthError> {
        let grant_type = p
            .get("grant_type")
            .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
        Ok(match grant_type {
            "authorization_code" => Self::AuthorizationCode {
                code: PlainToken::from_client(required(p, "code")?),
                redirect_uri: p.get("redirect_uri").map(str::to_owned),
                code_verifier: p.get("code_verifier").map(str::to_owned),
            },
            "refresh_token" => Self::RefreshToken {
                refresh_token: PlainToken::from_client(required(p, "refresh_token")?),
                scope: scope(p)?,
            },
            "password" => Self::Password {
                username: required(p, "username")?.to_owned(),
                password: Password::new(required(p, "password")?),
                scope: scope(p)?,
            },
            "client_credentials" => Self::ClientCredentials { scope: scope(p)? },
            DEVICE_CODE_GRANT => Self::DeviceCode {
                device_code: PlainToken::from_client(required(p, "device_code")?),
            },
            _ => {
                return Err(OAuthError::new(
                    ErrorCode::UnsupportedGrantType,
                    "grant_type must be authorization_code, refresh_token, password, client_credentials or urn:ietf:params:oauth:grant-type:device_code",
                ));
            }
        })
    }
}

fn required<'a>(p: &'a Params, key: &'static str) -> Result<&'a str, OAuthError> {
    p.get(key)
        .ok_or_else(|| OAuthError::invalid_request(format!("{key} is required")))
}

fn scope(p: &Params) -> Result<Option<Scopes>, OAuthError> {
    match p.get("scope") {
        None => Ok(None),
        Some(s) => Scopes::parse(s).map(Some).ok_or_else(|| {
            OAuthError::invalid_scope("scope contains characters RFC 6749 §3.3 does not allow")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_grant_parses_into_its_variant() {
        let p =
            Params::parse(b"grant_type=password&username=u&password=p&scope=read").expect("parses");
        assert!(matches!(
            TokenRequest::parse(&p),
            Ok(TokenRequest::Password { .. })
        ));
        let p = Params::parse(b"grant_type=implicit").expect("parses");
        assert_eq!(
            TokenRequest::parse(&p).expect_err("refused").code,
            ErrorCode::UnsupportedGrantType
        );
        let p = Params::parse(b"grant_type=authorization_code").expect("parses");
        assert_eq!(
            TokenRequest::parse(&p).expect_err("refused").code,
            ErrorCode::InvalidRequest
        );
    }
}
