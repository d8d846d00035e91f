//! The limit a Rust proxy can reach on this machine, as a baseline for the BFF: a bare
//! hyper reverse proxy (hyper-util's pooled client) that forwards every request to one
//! upstream, with no session, no auth, no header rules.
//!
//! `min-proxy LISTEN UPSTREAM [multi|per-core]`:
//! - `multi` (default): one tokio multi-thread runtime, as the BFF runs;
//! - `per-core`: one `current_thread` runtime per core, each with its own `SO_REUSEPORT`
//!   listener and its own upstream pool (thread-per-core).
//!
//! HTTP/1.1 only, which is what wrk speaks.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use http::{Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

type Upstream = Client<HttpConnector, Body>;

async fn forward(
    client: Upstream,
    base: Uri,
    request: Request<hyper::body::Incoming>,
) -> Response<Body> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let target = format!("{}{}", base.to_string().trim_end_matches('/'), path);
    let Ok(uri) = target.parse::<Uri>() else {
        return status(StatusCode::BAD_REQUEST);
    };
    parts.uri = uri;
    parts.headers.remove(http::header::HOST);
    match client
        .request(Request::from_parts(parts, Body::new(body)))
        .await
    {
        Ok(response) => response.map(Body::new),
        Err(_) => status(StatusCode::BAD_GATEWAY),
    }
}

fn status(code: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

async fn serve(listener: tokio::net::TcpListener, base: Uri) {
    let client: Upstream = Client::builder(TokioExecutor::new()).build_http();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (client, base) = (client.clone(), base.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (client, base) = (client.clone(), base.clone());
                async move { Ok::<_, Infallible>(forward(client, base, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn reuseport_listener(addr: SocketAddr) -> anyhow::Result<std::net::TcpListener> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    let base: Uri = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: min-proxy LISTEN UPSTREAM [multi|per-core]"))?
        .parse()?;
    let mode = args.next().unwrap_or_else(|| "multi".into());
    let first = reuseport_listener(listen)?;
    let addr = first.local_addr()?;
    println!("min-proxy ({mode}) listening on http://{addr}");
    if mode == "per-core" {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let mut listeners = vec![first];
        for _ in 1..cores {
            listeners.push(reuseport_listener(addr)?);
        }
        let threads: Vec<_> = listeners
            .into_iter()
            .map(|listener| {
                let base = base.clone();
                std::thread::spawn(move || -> anyhow::Result<()> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    runtime.block_on(async move {
                        serve(tokio::net::TcpListener::from_std(listener)?, base).await;
                        anyhow::Ok(())
                    })
                })
            })
            .collect();
        for thread in threads {
            thread
                .join()
                .map_err(|_| anyhow::anyhow!("a serving thread panicked"))??;
        }
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            serve(tokio::net::TcpListener::from_std(first)?, base).await;
            anyhow::Ok(())
        })
}
