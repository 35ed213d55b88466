//! The `gatehouse` binary: `serve`, `migrate`, `init`, `probe`, `secrets rotate-master-key`.

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use gatehouse::config::{Config, Overrides};
use gatehouse::{server, store};

/// mimalloc rather than the system allocator: the data plane allocates many small, short-lived
/// objects on one thread and frees them on another, where glibc's malloc takes arena locks
/// (docs/PERFORMANCE.md has the figures). `allocator.rs` says why not `mimalloc::MiMalloc`.
#[global_allocator]
static ALLOCATOR: gatehouse::allocator::Allocator = gatehouse::allocator::Allocator;

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
    /// Initialise a fresh instance in enterprise mode with its first admin, as `POST /init`
    /// does, and print the admin's platform token (once, on standard output).
    Init {
        #[command(flatten)]
        overrides: Overrides,
        /// The first admin's e-mail address.
        #[arg(long)]
        admin_email: String,
    },
    /// Maintain secrets and the master key.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Ask the node listening on this host's configured address whether it is alive or ready;
    /// exits 0 on 200, 1 otherwise (a container health check without a shell or curl).
    Probe {
        /// `health` (the process answers) or `ready` (it can serve).
        #[arg(value_enum, default_value = "health")]
        check: gatehouse::probe::Check,
        #[command(flatten)]
        overrides: Overrides,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-encrypt every sealed value under a new master key (GATEHOUSE_NEW_MASTER_KEY or
    /// --new-key-file), in one transaction, and replace the key file (the old one is kept as
    /// master.key.bak). Run it with the nodes stopped, or already running with the new key and
    /// GATEHOUSE_PREVIOUS_MASTER_KEY set to the old one (docs/API.md, "Master key").
    RotateMasterKey {
        #[command(flatten)]
        overrides: Overrides,
        /// File holding the new key (base64 of 32 bytes), instead of GATEHOUSE_NEW_MASTER_KEY.
        #[arg(long)]
        new_key_file: Option<std::path::PathBuf>,
    },
}

fn main() -> anyhow::Result<()> {
    let runtime = runtime()?;
    let telemetry = gatehouse::telemetry::init(runtime.handle());
    // The binary's own commands, and a command per registry operation (src/cli).
    let registry = gatehouse::api::registry();
    let root = gatehouse::cli::extend(Cli::command(), &registry);
    let matches = root.clone().get_matches();
    if let Some((name, _)) = matches.subcommand() {
        if gatehouse::cli::runs(name, &registry) {
            let code = runtime.block_on(gatehouse::cli::run(&matches, &registry, root));
            std::process::exit(code);
        }
    }
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Serve(overrides) => serve(&overrides).await,
            Command::Migrate(overrides) => {
                let config = Config::load(&overrides)?;
                let store = store::open(&config.database_url, config.db_max_connections).await?;
                store.close().await;
                tracing::info!(database = %config.database_url_for_log(), "migrations applied");
                Ok(())
            }
            Command::Init { overrides, admin_email } => init(&overrides, &admin_email).await,
            Command::Probe { check, overrides } => probe(&overrides, check).await,
            Command::Secrets(SecretsCommand::RotateMasterKey { overrides, new_key_file }) => {
                rotate_master_key(&overrides, new_key_file.as_deref()).await
            }
        }
    });
    // The last spans go out on the runtime (driven here even when it is single-threaded).
    runtime.block_on(async { tokio::task::spawn_blocking(move || telemetry.shutdown()).await })?;
    outcome
}

/// The async runtime: tokio's multi-threaded one, one worker per core unless
/// `GATEHOUSE_WORKER_THREADS` says how many; `GATEHOUSE_WORKER_THREADS=0` runs every task on
/// the main thread (tokio's current-thread runtime; blocking work still has its own pool).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = match std::env::var_os("GATEHOUSE_WORKER_THREADS") {
        Some(v) => Some(
            v.to_str()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .context("GATEHOUSE_WORKER_THREADS must be a number")?,
        ),
        None => None,
    };
    let mut builder = match threads {
        Some(0) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    if let Some(n) = threads.filter(|n| *n > 0) {
        builder.worker_threads(n);
    }
    Ok(builder.enable_all().build()?)
}

async fn serve(overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let addr = listener.local_addr()?;
    let state = server::prepare(config).await?;
    server::announce(&state, addr).await;
    server::serve(listener, state, server::shutdown_signal()).await
}

async fn probe(overrides: &Overrides, check: gatehouse::probe::Check) -> anyhow::Result<()> {
    let addr = gatehouse::probe::target(Config::load(overrides)?.bind);
    let (status, body) = gatehouse::probe::probe(addr, check).await?;
    println!("{status} {}", body.trim());
    anyhow::ensure!(status == 200, "{addr} answered {status}");
    Ok(())
}

async fn init(overrides: &Overrides, admin_email: &str) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let state = server::prepare(config).await?;
    let token = gatehouse::bootstrap::init_enterprise(&state, admin_email).await?;
    state.store.close().await;
    // The token goes to standard output alone, for a script to capture; never to the log.
    println!("{token}");
    Ok(())
}

async fn rotate_master_key(
    overrides: &Overrides,
    new_key_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let config = Config::load(overrides)?;
    let new_key = match new_key_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
        None => std::env::var("GATEHOUSE_NEW_MASTER_KEY").map_err(|_| {
            anyhow::anyhow!("give the new key in GATEHOUSE_NEW_MASTER_KEY or with --new-key-file")
        })?,
    };
    let done = gatehouse::keyring::rotate_master_key(&config, &new_key).await?;
    match (&done.key_file, &done.backup) {
        (Some(file), Some(backup)) => tracing::info!(
            values = done.values,
            key_file = %file.display(),
            backup = %backup.display(),
            "master key rotated; start the servers with the new key file"
        ),
        _ => tracing::info!(
            values = done.values,
            "master key rotated; set GATEHOUSE_MASTER_KEY to the new key before starting the servers"
        ),
    }
    Ok(())
}
