use std::io::Write;

use latchkey_bff::{AppState, Config, serve_state};
use tracing_subscriber::EnvFilter;

// No mimalloc: it took ~7 µs off a proxied request (≈ 15 %) but doubled the RSS
// (15 → 27 MiB; 36 MiB with 100,000 sessions, over the 30 MiB budget). bench/FINDINGS.md.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from_env_and_args();
    let listen = config.listen;
    let state = AppState::new(config).await?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "bff listening on http://{addr}")?;
        out.flush()?;
    }
    serve_state(state, listener).await
}
