//! One shutdown for both servers: Ctrl-C / SIGTERM, or either server ending.

use tokio::sync::watch;

#[derive(Clone)]
pub struct Stop(watch::Sender<bool>);

impl Stop {
    pub fn new() -> Self {
        Self(watch::channel(false).0)
    }

    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    /// Resolves once `trigger` was called.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|stopped| *stopped).await;
        }
    }

    /// Triggers on Ctrl-C or SIGTERM.
    pub fn on_signal(&self) {
        let stop = self.clone();
        tokio::spawn(async move {
            latchkey_provider::cli::shutdown_signal().await;
            stop.trigger();
        });
    }
}
