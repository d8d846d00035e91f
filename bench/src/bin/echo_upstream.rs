//! Minimal upstream for the proxy scenarios: `ANY /echo` answers a small JSON
//! telling whether an `Authorization` header arrived.

use axum::Router;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use axum::routing::any;

async fn echo(headers: HeaderMap) -> impl IntoResponse {
    let auth = headers.contains_key(header::AUTHORIZATION);
    (
        [(header::CONTENT_TYPE, "application/json")],
        if auth {
            r#"{"echo":true,"authorization":true}"#
        } else {
            r#"{"echo":true,"authorization":false}"#
        },
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("echo listening on http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/echo", any(echo))
        .route("/healthz", any(|| async { "ok" }));
    axum::serve(listener, app).await?;
    Ok(())
}
