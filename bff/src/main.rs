use std::io::Write;
use std::net::SocketAddr;

use latchkey_bff::config::Runtime;
use latchkey_bff::{AppState, Config};
use tracing_subscriber::EnvFilter;

// No mimalloc: it took ~7 µs off a proxied request (≈ 15 %) but doubled the RSS
// (15 → 27 MiB; 36 MiB with 100,000 sessions, over the 30 MiB budget). bench/FINDINGS.md.

/// A listener several threads can each bind to the same address (`SO_REUSEPORT`: the
/// kernel spreads new connections over them).
fn reuseport_listener(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_tcp_nodelay(true)?; // inherited by accepted sockets on Linux
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn announce(addr: SocketAddr) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "bff listening on http://{addr}")?;
    out.flush()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = Config::from_env_and_args();
    let listen = config.listen;
    match config.runtime {
        Runtime::Multi => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(async move {
                let state = AppState::new(config).await?;
                let listener = tokio::net::TcpListener::bind(listen).await?;
                announce(listener.local_addr()?)?;
                latchkey_bff::serve_state(state, listener).await
            }),
        Runtime::PerCore => per_core(config),
    }
}

/// One `current_thread` runtime per core, each accepting on its own `SO_REUSEPORT`
/// listener and keeping its own upstream pool. The first also runs the store's and
/// the sweepers' background tasks and the metrics listener.
fn per_core(config: Config) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let first_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listen = config.listen;
    let state = first_runtime.block_on(AppState::new(config))?;
    let first = reuseport_listener(listen)?;
    let addr = first.local_addr()?;
    let mut others = Vec::new();
    for _ in 1..cores {
        others.push(reuseport_listener(addr)?);
    }
    announce(addr)?;
    let threads: Vec<_> = others
        .into_iter()
        .enumerate()
        .map(|(n, listener)| {
            let state = state.clone();
            std::thread::Builder::new()
                .name(format!("bff-core-{}", n + 1))
                .spawn(move || -> anyhow::Result<()> {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?
                        .block_on(async move {
                            let listener = tokio::net::TcpListener::from_std(listener)?;
                            latchkey_bff::http::serve_api(state, listener).await
                        })
                })
        })
        .collect::<Result<_, _>>()?;
    first_runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(first)?;
        latchkey_bff::serve_state(state, listener).await
    })?;
    for thread in threads {
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("a serving thread panicked"))??;
    }
    Ok(())
}
