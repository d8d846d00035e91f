use std::io::Write;

use latchkey_bff::{AppState, Config, router};
use tracing_subscriber::EnvFilter;

/// mimalloc: per-thread heaps, no arena-lock futex wakeups between the runtime's workers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    axum::serve(listener, router(state))
        .with_graceful_shutdown(latchkey_bff::app::shutdown_signal())
        .await?;
    Ok(())
}
