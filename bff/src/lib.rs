//! Latchkey BFF: the SPA's only backend, an OAuth2 confidential client that keeps every
//! token server-side (draft-ietf-oauth-browser-based-apps, BFF section).

pub mod app;
pub mod config;
pub mod csrf;
pub mod discovery;
pub mod error;
pub mod id_token;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod provider;
pub mod proxy;
pub mod refresh;
pub mod routes;
pub mod secret;
pub mod session;
pub mod store;
pub mod upstream;
pub mod userinfo;

pub use app::{AppState, router, serve};
pub use config::Config;
