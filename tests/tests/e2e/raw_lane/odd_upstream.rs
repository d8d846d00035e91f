//! The raw-lane tests' upstream: HTTP/1.1 written by hand, one scripted answer per path.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const BIG: usize = 1024 * 1024;

/// What the upstream answers for a path (and whether it then keeps the connection).
fn answer(path: &str) -> (Vec<u8>, bool) {
    let text = |s: &str| s.as_bytes().to_vec();
    match path {
        "/chunked" => (
            text(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\
                 Set-Cookie: evil=1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
            ),
            true,
        ),
        "/close" => (
            text("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the upstream closes"),
            false,
        ),
        "/early" => (
            text(
                "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n\
                 HTTP/1.1 200 OK\r\nContent-Length: 2\r\nClear-Site-Data: \"*\"\r\n\
                 Access-Control-Allow-Origin: *\r\nCache-Control: max-age=5\r\n\r\nok",
            ),
            true,
        ),
        "/big" => {
            let mut out = format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\n\r\n").into_bytes();
            out.extend((0..BIG).map(|i| b'a' + (i % 26) as u8));
            (out, true)
        }
        "/conflicting" => (
            text("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
            false,
        ),
        "/empty" => (text("HTTP/1.1 204 No Content\r\n\r\n"), true),
        // Answers, then drops the connection without saying so: the next request on a
        // kept socket finds it closed.
        "/drops" => (
            text("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nonce"),
            false,
        ),
        _ => (
            text("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
            true,
        ),
    }
}

/// The scripted upstream; counts the requests it read.
pub async fn odd_upstream() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(connection(socket, counter.clone()));
        }
    });
    (url, seen)
}

async fn connection(mut socket: TcpStream, seen: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().to_owned())
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + 4 + length);
        seen.fetch_add(1, Ordering::SeqCst);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (response, keep) = answer(&path);
        if socket.write_all(&response).await.is_err() || !keep {
            return;
        }
    }
}
