//! State, router and server.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::{Config, SameSite};
use crate::id_token::Verifier as IdTokenVerifier;
use crate::metrics::Metrics;
use crate::provider::{Endpoints, OAuthClient};
use crate::routes::Routes;
use crate::secret::ClientSecret;
use crate::store::Store;
use crate::upstream::Upstream;
use crate::{csrf, login, logout, metrics, proxy, session};

pub struct AppState {
    pub config: Config,
    /// The one HTTP client: pooled, never follows redirects.
    pub http: reqwest::Client,
    /// The client of `/api/*` (see [`crate::upstream`]).
    pub upstream: Upstream,
    pub oauth: OAuthClient,
    pub client_secret: ClientSecret,
    pub endpoints: Endpoints,
    /// Validates ID Tokens; holds the cached JWKS.
    pub id_tokens: IdTokenVerifier,
    pub store: Store,
    pub metrics: Metrics,
    pub routes: Routes,
    pub allowed_origins: Vec<String>,
}

pub type SharedState = Arc<AppState>;

impl AppState {
    pub async fn new(config: Config) -> anyhow::Result<SharedState> {
        let http = reqwest::Client::builder()
            // oauth2's advice: no redirects (SSRF); a proxy passes 3xx through anyway.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        let endpoints = Endpoints::resolve(&http, &config).await?;
        let client_secret = config.client_secret()?;
        let oauth = crate::provider::oauth_client(&config, &endpoints, &client_secret)?;
        let store = match &config.redis_url {
            Some(url) => Store::redis(url, config.store_timeout()).await?,
            None => Store::memory(config.store_timeout()),
        };
        let routes = Routes::new(config.upstream.clone(), &config.routes)?;
        let upstream = Upstream::new(Duration::from_secs(config.upstream_timeout_seconds))?;
        let id_tokens = IdTokenVerifier::new(
            endpoints.issuer.clone(),
            config.client_id.clone(),
            endpoints.jwks.clone(),
        );
        Ok(Arc::new(AppState {
            allowed_origins: config.allowed_origins(),
            id_tokens,
            config,
            http,
            upstream,
            oauth,
            client_secret,
            endpoints,
            store,
            metrics: Metrics::default(),
            routes,
        }))
    }
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<SharedState>) -> Response {
    let store = state.store.ping().await;
    let provider = tokio::time::timeout(
        state.config.store_timeout(),
        state.http.get(state.endpoints.health.clone()).send(),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    let status = if store && provider {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({"store": store, "provider": provider})),
    )
        .into_response()
}

/// Counts requests; no-store on auth/API answers; security headers on HTML.
async fn headers(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    state.metrics.request();
    let dynamic =
        request.uri().path().starts_with("/auth/") || request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    if dynamic && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html {
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(
                "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
            ),
        );
    }
    response
}

pub fn router(state: SharedState) -> Router {
    let config = &state.config;
    let sessions = SessionManagerLayer::new(state.store.clone())
        .with_name(config.cookie_name())
        .with_secure(config.cookie_secure)
        .with_http_only(true)
        .with_path("/")
        .with_same_site(match config.cookie_same_site {
            SameSite::Strict => tower_sessions::cookie::SameSite::Strict,
            SameSite::Lax => tower_sessions::cookie::SameSite::Lax,
        })
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(
                i64::try_from(config.idle_timeout_seconds).unwrap_or(i64::MAX),
            ),
        ));
    let protected = Router::new()
        .route("/auth/logout", post(logout::logout))
        .route("/api/{*rest}", any(proxy::forward))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::middleware,
        ));
    let with_session = Router::new()
        .route("/auth/login", get(login::login))
        .route("/auth/callback", get(login::callback))
        .route("/auth/session", get(session::info))
        .merge(protected)
        .layer(sessions);
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::handler))
        .merge(with_session);
    if let Some(dir) = &config.static_dir {
        app = app.fallback_service(tower_http::services::ServeDir::new(dir));
    }
    app.layer(middleware::from_fn_with_state(state.clone(), headers))
        // Span fields: method and path only; the query may carry `code`/`state`.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
        }))
        .with_state(state)
}

/// Serves the BFF on an already-bound listener until SIGINT/SIGTERM.
pub async fn serve(config: Config, listener: TcpListener) -> anyhow::Result<()> {
    let state = AppState::new(config).await?;
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
