//! The OAuth2 / OpenID Connect client side: provider endpoints and calls ([`provider`],
//! [`discovery`]), login and logout, ID Token validation, userinfo, and single-flight
//! refresh.

pub mod discovery;
pub mod id_token;
pub mod login;
pub mod logout;
pub mod provider;
pub mod refresh;
pub mod userinfo;
