//! Newtypes for tokens and secrets: `Debug` never prints them, so neither do logs.

use serde::{Deserialize, Serialize};

macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value itself; call only where it leaves the process on purpose.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self(value.to_owned()))
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_newtype!(
    /// An OAuth2 access token (RFC 6749 §1.4).
    AccessToken
);
secret_newtype!(
    /// An OAuth2 refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_newtype!(
    /// An OpenID Connect ID Token (OIDC Core §2), kept only until it is validated.
    IdToken
);
secret_newtype!(
    /// The client secret of this confidential client (RFC 6749 §2.3.1).
    ClientSecret
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let token = AccessToken::new("very-secret");
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
        assert_eq!(token.expose(), "very-secret");
        let secret: ClientSecret = "s3cret".parse().expect("infallible");
        assert_eq!(format!("{secret:?}"), "ClientSecret(<redacted>)");
    }
}
