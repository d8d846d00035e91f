//! The accept loop: each connection starts on the raw lane ([`raw::serve`]), or with
//! `--engine hyper` goes straight to hyper (HTTP/1.1, or HTTP/2 with prior knowledge),
//! with the `/api/*` fast path in front of the router, so a warm request never pays for
//! route matching, the router's boxed services or `axum::serve`'s per-request wrapping.
//! Sockets get `TCP_NODELAY`; the peer address rides along as axum's `ConnectInfo` (the
//! login rate limit and `X-Forwarded-For` need it).

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioExecutor;
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::Layer;

use super::fast::{FastApi, FastApiLayer};
use super::raw;
use crate::config::Engine;
use crate::state::SharedState;

/// How long open connections may take to finish their requests after a stop signal.
const DRAIN: Duration = Duration::from_secs(10);

/// The whole application as one service: the fast path, then the router.
pub fn app(state: SharedState) -> FastApi<Router> {
    FastApiLayer {
        state: state.clone(),
    }
    .layer(super::router(state))
}

/// Serves `state`'s application on `listener` until `stop` resolves, then lets the open
/// connections finish (up to [`DRAIN`]).
pub async fn serve_until(
    state: SharedState,
    listener: TcpListener,
    stop: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let raw_lane = state.config.engine == Engine::Raw;
    let app = app(state.clone());
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    // Raw-lane connections between requests end at a stop; once handed to hyper, its
    // graceful shutdown applies (each holds a watcher until it ends, so the drain below
    // waits for both kinds).
    let (stopping, stop_raw) = watch::channel(false);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning on the error.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let handover = raw::Handover {
            app: app.clone(),
            builder: builder.clone(),
            watcher: graceful.watcher(),
        };
        if raw_lane {
            let stop = stop_raw.clone();
            tokio::spawn(raw::serve(state.clone(), stream, peer, handover, stop));
        } else {
            tokio::spawn(raw::hyper_only(stream, peer, handover));
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain period; closing them");
    }
    Ok(())
}
