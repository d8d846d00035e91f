//! The one-command demo: provider and BFF on one tokio runtime, one shutdown.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser as _;
use latchkey_bff::secret::ClientSecret;
use latchkey_provider::AuthServer;
use latchkey_provider::storage::Db;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::banner::Banner;
use crate::cli::RunArgs;
use crate::seed;
use crate::stop::Stop;

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let db_url = format!(
        "sqlite://{}/provider.sqlite3?mode=rwc",
        args.data_dir.display()
    );
    let db = Db::connect(&db_url).await?;
    let provider_listener = bind(args.provider_listen, "provider").await?;
    let bff_listener = bind(args.bff_listen, "BFF").await?;
    let banner = Banner {
        issuer: public_url(&args.public_host, &provider_listener)?,
        app: public_url(&args.public_host, &bff_listener)?,
        redis: args.redis_url.is_some(),
        data_dir: args.data_dir.clone(),
    };
    let redirect_uri = format!("{}/auth/callback", banner.app);
    let secret_file = args.data_dir.join("bff-client-secret");
    let secret = seed::seed(&db, &redirect_uri, &secret_file).await?;

    let stop = Stop::new();
    stop.on_signal();
    let provider_addr = provider_listener.local_addr()?;
    let settings = args
        .provider
        .resolve(banner.issuer.clone(), provider_addr)?;
    tokio::task::spawn_blocking(latchkey_provider::password::warm_up).await?;
    let server = Arc::new(AuthServer::start(db.clone(), settings).await?);
    let provider = spawn_provider(provider_listener, server, &stop);
    announce(&format!("provider listening on http://{provider_addr}"))?;

    let config = bff_config(&args, &banner, &redirect_uri, provider_addr, secret)?;
    let bff = match latchkey_bff::AppState::new(config).await {
        Ok(state) => spawn_bff(bff_listener, state, &stop),
        Err(error) => {
            stop.trigger();
            let _ = provider.await;
            return Err(error.context("starting the BFF"));
        }
    };
    announce(&banner.to_string())?;
    let (provider, bff) = tokio::join!(provider, bff);
    db.close().await;
    provider??;
    bff??;
    println!("latchkey-demo stopped");
    Ok(())
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the {what}"))
}

/// `http://HOST:PORT` with the port actually bound (flags may say port 0).
fn public_url(host: &str, listener: &TcpListener) -> anyhow::Result<String> {
    Ok(format!("http://{host}:{}", listener.local_addr()?.port()))
}

fn announce(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()?;
    Ok(())
}

/// The BFF as `bff` would be started by hand; `BFF_*` environment variables still apply.
fn bff_config(
    args: &RunArgs,
    banner: &Banner,
    redirect_uri: &str,
    provider: SocketAddr,
    secret: String,
) -> anyhow::Result<latchkey_bff::Config> {
    let static_dir = args.static_dir();
    let argv: Vec<String> = vec![
        "bff".into(),
        "--issuer".into(),
        banner.issuer.clone(),
        "--client-id".into(),
        seed::BFF_CLIENT_ID.into(),
        "--redirect-uri".into(),
        redirect_uri.into(),
        // The API is the provider's own; reached directly, not through the public name.
        "--upstream".into(),
        format!("http://127.0.0.1:{}/api", provider.port()),
        "--static-dir".into(),
        static_dir.display().to_string(),
        // Plain http: no `Secure`, no `__Host-` prefix.
        "--cookie-secure".into(),
        "false".into(),
        // OpenID: an ID Token with `sid`, so the provider's logout reaches the BFF
        // (back-channel) and the BFF's logout reaches the provider (`id_token_hint`).
        "--scope".into(),
        "openid profile read write groups".into(),
    ];
    let mut config = latchkey_bff::Config::try_parse_from(argv)?;
    config.client_secret = Some(ClientSecret::new(secret));
    config.redis_url = args.redis_url.clone().filter(|url| !url.is_empty());
    Ok(config)
}

fn spawn_provider(
    listener: TcpListener,
    server: Arc<AuthServer>,
    stop: &Stop,
) -> JoinHandle<anyhow::Result<()>> {
    let stop = stop.clone();
    tokio::spawn(async move {
        let result = latchkey_provider::http::serve(listener, server, stop.wait()).await;
        stop.trigger();
        Ok(result?)
    })
}

fn spawn_bff(
    listener: TcpListener,
    state: latchkey_bff::SharedState,
    stop: &Stop,
) -> JoinHandle<anyhow::Result<()>> {
    let stop = stop.clone();
    tokio::spawn(async move {
        let result = latchkey_bff::http::serve::serve_until(state, listener, stop.wait()).await;
        stop.trigger();
        result
    })
}
