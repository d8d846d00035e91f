//! Flags, all with the demo's defaults embedded.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use latchkey_provider::config::SettingsArgs;

#[derive(Debug, Parser)]
#[command(
    name = "latchkey-demo",
    about = "The Latchkey demo: provider + BFF + SPA in one process",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Only seed a database (user admin/admin, the BFF's app, the CLI's `test` app), then exit.
    Seed(SeedArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Where the SQLite database and the BFF's client secret live.
    #[arg(long, env = "LATCHKEY_DEMO_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    #[arg(
        long,
        env = "LATCHKEY_DEMO_PROVIDER_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub provider_listen: SocketAddr,
    #[arg(
        long,
        env = "LATCHKEY_DEMO_BFF_LISTEN",
        default_value = "127.0.0.1:3000"
    )]
    pub bff_listen: SocketAddr,
    /// Host name the browser uses for both servers (issuer and redirect URI).
    #[arg(long, env = "LATCHKEY_DEMO_PUBLIC_HOST", default_value = "localhost")]
    pub public_host: String,
    /// The SPA's files (default: ./frontend-demo, else the one in this source tree).
    #[arg(long, env = "LATCHKEY_DEMO_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// Redis sessions for the BFF; in-memory when unset.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    #[command(flatten)]
    pub provider: SettingsArgs,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// sqlite://… or postgres://… .
    #[arg(long, env = "PROVIDER_DATABASE_URL")]
    pub database_url: String,
    /// The BFF's redirect URI to register.
    #[arg(long, default_value = "http://localhost:3000/auth/callback")]
    pub redirect_uri: String,
    /// Where the BFF's client secret is kept (written 0600 on first run, reused after).
    #[arg(long)]
    pub secret_file: PathBuf,
}

impl RunArgs {
    pub fn static_dir(&self) -> PathBuf {
        if let Some(dir) = &self.static_dir {
            return dir.clone();
        }
        let local = PathBuf::from("frontend-demo");
        if local.join("index.html").is_file() {
            local
        } else {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend-demo"))
        }
    }
}
