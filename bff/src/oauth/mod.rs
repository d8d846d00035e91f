//! The OAuth2 / OpenID Connect client side: provider endpoints and calls ([`provider`],
//! [`discovery`]), login and logout (RP-initiated and back-channel), ID Token and logout
//! token validation against the provider's keys ([`jwks`]), userinfo, and single-flight
//! refresh.

pub mod backchannel;
pub mod discovery;
pub mod id_token;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod logout_token;
pub mod provider;
pub mod refresh;
pub mod userinfo;
