//! `provider` command line: `serve`, `createuser`, `changepassword`, `createapplication`,
//! `cleartokens`, `rotatekeys`.
//! Global flags work before or after the subcommand; every flag has a `PROVIDER_*` env var.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};

use crate::AuthServer;
use crate::config::{ServeArgs, SettingsArgs};
use crate::management;
use crate::model::{AppGrant, ClientType};
use crate::password::Password;
use crate::scope::Scopes;
use crate::storage::{AppFields, Db};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/provider.sqlite3";

#[derive(Debug, Parser)]
#[command(
    name = "provider",
    version,
    about = "Latchkey OAuth2 provider (django-oauth-toolkit compatible)"
)]
pub struct Cli {
    /// sqlite://path (default: ./data/provider.sqlite3) or postgres://… .
    /// Also read from PROVIDER_DATABASE_URL, then DATABASE_URL.
    #[arg(long, global = true, env = "PROVIDER_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeArgs),
    /// Create a user.
    Createuser {
        #[arg(long)]
        username: String,
        #[arg(long, env = "PROVIDER_CREATEUSER_PASSWORD")]
        password: String,
        #[arg(long, default_value = "")]
        email: String,
        /// May sign in to the admin.
        #[arg(long)]
        staff: bool,
        /// Space-separated group names (shown by /api/groups/).
        #[arg(long, default_value = "")]
        groups: String,
    },
    /// Set a user's password (as Django's `changepassword`) and sign the user out
    /// everywhere. The password is read from the first line of stdin, never from
    /// the command line (which other local users can see in `ps`).
    Changepassword {
        username: String,
        /// Read the new password from stdin (required: there is no echo-free prompt).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Register an application, like django-oauth-toolkit's `createapplication`.
    Createapplication {
        #[arg(long)]
        client_id: Option<String>,
        /// At least 32 characters; generated when omitted (confidential apps).
        #[arg(long)]
        client_secret: Option<String>,
        #[arg(long, default_value = "")]
        name: String,
        /// Space-separated redirect URIs.
        #[arg(long, default_value = "")]
        redirect_uris: String,
        #[arg(long)]
        skip_authorization: bool,
        #[arg(long)]
        require_pkce: bool,
        /// May introspect other applications' tokens (RFC 7662 §4; confidential apps only).
        #[arg(long)]
        resource_server: bool,
        /// Space-separated scopes this app may get (default: all).
        #[arg(long)]
        allowed_scopes: Option<String>,
        /// Username of the owner.
        #[arg(long)]
        user: Option<String>,
        /// Space-separated URIs RP-initiated logout may send the browser back to.
        #[arg(long, default_value = "")]
        post_logout_redirect_uris: String,
        /// Where the provider POSTs a logout token when a user's session ends
        /// (OpenID Connect Back-Channel Logout).
        #[arg(long, default_value = "")]
        backchannel_logout_uri: String,
        client_type: ClientTypeArg,
        authorization_grant_type: GrantArg,
    },
    /// Delete expired codes, tokens and login sessions.
    Cleartokens,
    /// Add a new OpenID Connect signing key (it signs from now on, within 30 s in
    /// every process); older keys stay published until their tokens have expired,
    /// then go (on a later rotation).
    Rotatekeys(crate::config::OidcArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ClientTypeArg {
    Confidential,
    Public,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum GrantArg {
    AuthorizationCode,
    Password,
    ClientCredentials,
}

pub fn database_url(flag: Option<String>) -> String {
    flag.or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PROVIDER_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let db = Db::connect(&database_url(cli.database_url)).await?;
    match cli.command {
        Command::Serve(args) => serve(db, args).await,
        Command::Createuser {
            username,
            password,
            email,
            staff,
            groups,
        } => {
            let groups: Vec<String> = groups.split_whitespace().map(str::to_owned).collect();
            let password = Password::new(password);
            let user =
                management::create_user(&db, &username, &password, &email, staff, &groups).await?;
            println!(
                "User {} created{}.",
                user.username,
                if staff { " (staff)" } else { "" }
            );
            Ok(())
        }
        Command::Createapplication {
            client_id,
            client_secret,
            name,
            redirect_uris,
            skip_authorization,
            require_pkce,
            resource_server,
            allowed_scopes,
            user,
            post_logout_redirect_uris,
            backchannel_logout_uri,
            client_type,
            authorization_grant_type,
        } => {
            let logout = crate::oidc::registration::parse(
                &post_logout_redirect_uris,
                &backchannel_logout_uri,
            )?;
            let user_id = match user {
                Some(u) => Some(
                    db.user_by_username(&u)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no user {u:?}"))?
                        .id,
                ),
                None => None,
            };
            let allowed_scopes = match allowed_scopes {
                Some(s) => Some(
                    Scopes::parse(&s)
                        .ok_or_else(|| anyhow::anyhow!("malformed --allowed-scopes"))?,
                ),
                None => None,
            };
            let fields = AppFields {
                client_id: client_id.unwrap_or_else(management::generate_client_id),
                client_type: match client_type {
                    ClientTypeArg::Confidential => ClientType::Confidential,
                    ClientTypeArg::Public => ClientType::Public,
                },
                grant: match authorization_grant_type {
                    GrantArg::AuthorizationCode => AppGrant::AuthorizationCode,
                    GrantArg::Password => AppGrant::Password,
                    GrantArg::ClientCredentials => AppGrant::ClientCredentials,
                },
                name,
                redirect_uris: redirect_uris
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                skip_authorization,
                require_pkce,
                allowed_scopes,
                user_id,
                is_resource_server: resource_server,
            };
            let (app, secret) =
                management::create_application(&db, fields, client_secret.as_deref()).await?;
            if logout != Default::default() {
                crate::oidc::registration::save(&db, &app.id, &logout).await?;
            }
            println!("Application {:?} created.", app.name);
            println!("client_id: {}", app.client_id);
            if let Some(s) = secret {
                println!("client_secret: {}", s.expose());
                println!("(The secret is stored hashed: copy it now, it cannot be shown again.)");
            }
            Ok(())
        }
        Command::Changepassword {
            username,
            password_stdin,
        } => {
            anyhow::ensure!(
                password_stdin,
                "give the new password on stdin with --password-stdin (e.g. `provider changepassword {username} --password-stdin < file`)"
            );
            let password = read_password_line()?;
            let user = db
                .user_by_username(&username)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no user {username:?}"))?;
            management::set_password(&db, &user.id, &password).await?;
            println!(
                "Password changed for user {}; every session and token of theirs is revoked.",
                user.username
            );
            Ok(())
        }
        Command::Rotatekeys(o) => {
            let keep = o.keep_retired_seconds();
            let (kid, dropped) = crate::oidc::keys::rotate(&db, o.signing_alg, keep).await?;
            println!("New signing key {kid} ({}).", o.signing_alg.as_str());
            println!(
                "Older keys stay published for {keep} s more; {dropped} key(s) past that were dropped."
            );
            Ok(())
        }
        Command::Cleartokens => {
            let n = db.sweep_all_expired().await?;
            println!("Deleted {n} expired rows.");
            Ok(())
        }
    }
}

/// The first line of stdin, without its line ending.
fn read_password_line() -> anyhow::Result<Password> {
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut line)?;
    let pw = line.strip_suffix('\n').unwrap_or(&line);
    Ok(Password::new(pw.strip_suffix('\r').unwrap_or(pw)))
}

async fn serve(db: Db, args: ServeArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let issuer = args
        .issuer
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let settings = SettingsArgs::resolve(&args.settings, issuer, addr)?;
    tokio::task::spawn_blocking(crate::password::warm_up).await?;
    let engine = db.engine();
    let server = Arc::new(AuthServer::start(db, settings).await?);
    // Tests and the demo read the bound port from this line.
    println!("provider listening on http://{addr}");
    use std::io::Write as _;
    std::io::stdout().flush()?;
    tracing::info!(
        %addr,
        engine,
        issuer = %server.settings.issuer,
        allowed_hosts = %server.settings.allowed_hosts.describe(),
        "provider started"
    );
    let ops = match args.metrics_listen {
        Some(a) => {
            let l = tokio::net::TcpListener::bind(a).await?;
            tracing::info!(addr = %l.local_addr()?, "metrics and readiness listening");
            Some(l)
        }
        None => None,
    };
    crate::http::serve_with_ops(listener, ops, server.clone(), shutdown_signal()).await?;
    server.db.close().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
