//! The raw lane's upstream connections: plain-HTTP keep-alive sockets kept per thread
//! (with one runtime per core, per core), per `host:port`. A checkout is a pop from a
//! short list — no lock, no hashing, no task per request.
//!
//! A kept socket the upstream has closed meanwhile is found out when the exchange on it
//! fails before any response byte; the raw lane then retries once on a fresh connection
//! (its requests are `GET`/`HEAD`, idempotent: RFC 9110 §9.2.2).

use std::cell::RefCell;
use std::time::{Duration, Instant};

use axum::http::uri::Authority;
use tokio::net::TcpStream;

/// Idle sockets kept per thread, over all upstreams.
const MAX_IDLE: usize = 256;
/// An idle socket older than this is closed rather than reused (hyper's client: 60 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

struct Idle {
    authority: Authority,
    stream: TcpStream,
    since: Instant,
}

thread_local! {
    static IDLE: RefCell<Vec<Idle>> = const { RefCell::new(Vec::new()) };
}

/// A socket to `authority`, and whether it was kept from an earlier exchange.
pub struct Conn {
    pub stream: TcpStream,
    pub reused: bool,
    authority: Authority,
}

impl Conn {
    /// Back to this thread's idle list (only after a response was read to its end).
    pub fn release(self) {
        IDLE.with(|idle| {
            let mut idle = idle.borrow_mut();
            if idle.len() >= MAX_IDLE {
                idle.remove(0);
            }
            idle.push(Idle {
                authority: self.authority,
                stream: self.stream,
                since: Instant::now(),
            });
        });
    }
}

/// The most recently kept socket to `authority`, if one is young enough.
fn checkout(authority: &Authority) -> Option<TcpStream> {
    IDLE.with(|idle| {
        let mut idle = idle.borrow_mut();
        let now = Instant::now();
        idle.retain(|i| now.duration_since(i.since) < IDLE_TIMEOUT);
        let at = idle.iter().rposition(|i| i.authority == *authority)?;
        Some(idle.swap_remove(at).stream)
    })
}

/// A kept socket when there is one (unless `fresh`), else a new connection.
pub async fn connect(authority: &Authority, fresh: bool) -> std::io::Result<Conn> {
    if !fresh && let Some(stream) = checkout(authority) {
        return Ok(Conn {
            stream,
            reused: true,
            authority: authority.clone(),
        });
    }
    // `host:port`, port 80 when the URI has none.
    let address = match authority.port_u16() {
        Some(_) => authority.as_str().to_owned(),
        None => format!("{}:80", authority.as_str()),
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    stream.set_nodelay(true)?;
    let keepalive = socket2::TcpKeepalive::new().with_time(Duration::from_secs(15));
    socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
    Ok(Conn {
        stream,
        reused: false,
        authority: authority.clone(),
    })
}
