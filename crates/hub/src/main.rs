//! The `switchboard-hub` command: parses its options, opens the data folder, and serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use switchboard_hub::db::Database;
use switchboard_hub::{HubState, base_url, seed_demo, serve};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

/// The backend Switchboard desktops sync with.
///
/// Once ready it prints one line, `switchboard-hub serving on http://ADDR:PORT`, on standard
/// output; scripts wait for that line. Logs go to standard error (RUST_LOG sets the level).
#[derive(Debug, Parser)]
#[command(version)]
struct Options {
    /// The address and port to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:7300", env = "SWITCHBOARD_HUB_LISTEN")]
    listen: SocketAddr,

    /// The folder that holds the hub's embedded SQLite database; created if missing.
    #[arg(
        long,
        env = "SWITCHBOARD_HUB_DATA",
        required_unless_present = "database_url",
        conflicts_with = "database_url"
    )]
    data: Option<PathBuf>,

    /// A PostgreSQL database to use instead of the embedded one (postgres://user@host/db), so
    /// that several hubs behind a load balancer share one contact centre's data.
    #[arg(long, env = "SWITCHBOARD_DATABASE_URL")]
    database_url: Option<String>,

    /// Requests in flight beyond this many are answered 429 with Retry-After.
    #[arg(long, default_value_t = 512)]
    max_in_flight: usize,

    /// Seed realistic demo customers into an empty database.
    #[arg(long)]
    demo: bool,

    /// How many customers a demo hub is seeded with.
    #[arg(long, default_value_t = 3000, requires = "demo")]
    customers: usize,

    /// The seed of the demo population; the same seed gives the same customers.
    #[arg(long, default_value_t = 2026, requires = "demo")]
    seed: u64,

    /// Keep a demo hub still: no simulated chats, calls, parcels or carts (for tests).
    #[arg(long, requires = "demo")]
    no_simulation: bool,

    /// In a demo, a new simulated chat or call arrives on average this many seconds apart.
    #[arg(long, default_value_t = 40, requires = "demo")]
    contact_every: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let db = match (&options.data, &options.database_url) {
        (_, Some(url)) => Database::open(url).await,
        (Some(data), None) => {
            std::fs::create_dir_all(data).map_err(|error| {
                format!("cannot create the data folder {}: {error}", data.display())
            })?;
            Database::open_folder(data).await
        }
        (None, None) => return Err("give --data DIR or --database-url URL".to_owned()),
    }
    .map_err(|error| error.to_string())?;
    tracing::info!(backend = db.backend().as_str(), "database ready");

    if options.demo {
        let added = seed_demo(&db, options.seed, options.customers)
            .await
            .map_err(|error| format!("cannot seed demo data: {error}"))?;
        tracing::info!(added, seed = options.seed, "demo data ready");
    }

    let listener = TcpListener::bind(options.listen).await.map_err(|error| {
        format!(
            "cannot listen on {}: {error}; pick another --listen",
            options.listen
        )
    })?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;

    // This line is the hub's readiness signal for scripts and tests: print it only once the
    // socket accepts connections, and flush so that a pipe sees it at once.
    {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "switchboard-hub serving on {}", base_url(address))
            .and_then(|()| stdout.flush())
            .map_err(|error| format!("cannot write to standard output: {error}"))?;
    }
    tracing::info!(%address, demo = options.demo, "hub serving");

    if options.demo {
        tracing::info!(
            login = switchboard_hub::DEMO_LOGIN,
            password = switchboard_hub::DEMO_PASSWORD,
            "demo logins: every demo agent's login with this password"
        );
    }

    let state = HubState::new(db.clone(), options.demo, options.max_in_flight);
    if options.demo && !options.no_simulation {
        switchboard_hub::demo::life::Life::start(
            db.clone(),
            switchboard_hub::demo_tenant(),
            switchboard_hub::demo::life::Pace {
                contact_every: std::time::Duration::from_secs(options.contact_every.max(1)),
                ..Default::default()
            },
        )
        .await
        .map_err(|error| format!("cannot start the demo simulation: {error}"))?;
    }
    serve(listener, state, shutdown_signal())
        .await
        .map_err(|error| error.to_string())?;
    db.close().await;
    tracing::info!("hub stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM, whichever comes first.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot watch SIGTERM; only Ctrl-C stops the hub");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
