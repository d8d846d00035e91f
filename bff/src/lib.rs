//! Latchkey BFF: the SPA's only backend, an OAuth2 confidential client that keeps every
//! token server-side (RFC 10017, "OAuth 2.0 for Browser-Based Applications", BFF pattern).
//!
//! - [`http`]: router, middleware (CSRF, client IP, rate limits, cookies), listeners;
//! - [`session`]: what a session holds and how it is sealed and stored;
//! - [`oauth`]: login, logout, refresh and everything spoken with the provider;
//! - [`proxy`]: `/api/*` — route table, path and header rules, upstream client.

pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod oauth;
pub mod proxy;
pub mod secret;
pub mod session;
pub mod state;

pub use config::Config;
pub use http::{router, serve, serve_state};
pub use state::{AppState, SharedState};
