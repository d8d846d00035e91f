//! A published port, as the engine's proxy does it: a listener on the host's `IP:PORT`
//! forwarding each connection to the service's namespace address. The host port is the
//! compose file's own; if something holds it, the test says so and fails (so would compose).

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Published(JoinHandle<()>);

impl Published {
    pub async fn start(host: &str, to: SocketAddr) -> Self {
        let listener = TcpListener::bind(host).await.unwrap_or_else(|e| {
            panic!("cannot publish {host} as docker-compose.yml does ({e}): stop what holds it")
        });
        Self(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    if let Ok(mut service) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut service).await;
                    }
                });
            }
        }))
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        self.0.abort();
    }
}
