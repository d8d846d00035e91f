//! `latchkey-demo`: the provider, the BFF and the demo SPA in one process.
//!
//! `latchkey-demo` runs everything (SQLite under `./data/`); `latchkey-demo seed` only
//! seeds a database (docker compose's one-shot step).

mod banner;
mod cli;
mod run;
mod seed;
mod stop;

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let result = match cli.command {
        Some(cli::Command::Seed(args)) => seed::run(args).await,
        None => run::run(cli.run).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
