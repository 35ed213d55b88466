//! The `gatehouse` binary: `serve`, `migrate`.

use clap::{Parser, Subcommand};
use gatehouse::config::{Config, Overrides};
use gatehouse::{server, store};
use tracing_subscriber::EnvFilter;

/// Gatehouse: a multi-tenant MCP gateway and control plane.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Overrides),
    /// Apply database migrations and exit.
    Migrate(Overrides),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("GATEHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(overrides) => serve(&overrides).await,
            Command::Migrate(overrides) => {
                let config = Config::load(&overrides)?;
                let store = store::open(&config.database_url).await?;
                store.close().await;
                tracing::info!(database = %config.database_url_for_log(), "migrations applied");
                Ok(())
            }
        }
    })
}

async fn serve(overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let state = server::prepare(config).await?;
    server::announce(&state, addr).await;
    server::serve(listener, state, server::shutdown_signal()).await
}
