//! `kec`, the Kubernetes Event Center: one binary, several roles.
//!
//! - `kec server`: the center (ingest API, store, search API, web UI, metrics).
//! - `kec demo`: the center plus a simulated cluster feeding it through the real ingest API.
//! - `kec eventer`: watches a cluster's Events and delivers them to the center and other sinks.
//! - `kec npd`: node problem detector (NPD's configs and flags), reports to the API server.
//! - `kec query`: runs a query-language query on a kec server and prints a table.
//! - `kec bench store`: the storage benchmark (ingest rate, bytes per event, query latencies).

mod bench;
mod bench_eventer;
mod bench_npd;
mod demo;
mod eventer;
mod npd;
mod query;

/// mimalloc: the store's write path allocates and frees many small strings per event; glibc's
/// allocator spent about a third of the benchmark's CPU there (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// kec, the Kubernetes Event Center: collects the Events of every cluster, keeps them for
/// months, and lets people search, analyse and follow them.
#[derive(Debug, Parser)]
#[command(name = "kec", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info`, `debug`, `kec_server=debug` (or set RUST_LOG).
    #[arg(long, global = true, env = "KEC_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the center: ingest API, event store, search API, web UI and /metrics.
    Server(ServerArgs),
    /// Run the center with a simulated cluster playing realistic incidents, for a first look.
    Demo(demo::DemoArgs),
    /// Watch a cluster's Events and deliver every occurrence to the kec center and other sinks
    /// (kube-eventer-compatible flags).
    Eventer(eventer::EventerArgs),
    /// Detect node problems from node-problem-detector's configs and report them as node
    /// conditions, Events and metrics (node-problem-detector-compatible flags).
    Npd(npd::NpdArgs),
    /// Run a query on a kec server and print the result (docs/QUERY.md).
    Query(query::QueryArgs),
    /// Benchmarks (results go to stdout; see docs/BENCHMARKS.md).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// Options shared by `server` and `demo`.
#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Address to listen on. The default only accepts connections from this machine.
    #[arg(long, env = "KEC_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the event store (created if missing).
    #[arg(long, env = "KEC_DATA_DIR", default_value = "kec-data")]
    data_dir: PathBuf,
    /// Days of events to keep; older days are dropped whole.
    #[arg(long, env = "KEC_RETENTION_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    retention_days: u32,
}

fn main() -> std::process::ExitCode {
    // reqwest and kube use rustls; the process-wide crypto provider is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => run_server(args).await,
            Command::Demo(args) => demo::run(args).await,
            Command::Eventer(args) => eventer::run(args).await,
            Command::Npd(args) => npd::run(args).await,
            Command::Query(args) => query::run(args).await,
            Command::Bench(command) => bench::run(command).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Cancels the token on SIGINT or SIGTERM (shared with the `kec-npd` agent).
pub(crate) use kec_npd_export::cli::shutdown_on_signals;

fn server_config(args: &ServerArgs) -> kec_server::ServerConfig {
    kec_server::ServerConfig {
        listen: args.listen,
        data_dir: args.data_dir.clone(),
        retention_days: args.retention_days,
        commit_interval: Duration::from_secs(1),
    }
}

async fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    let config = server_config(&args);
    let shutdown = shutdown_on_signals();
    kec_server::serve(config, shutdown, |address, _state| {
        tracing::info!(%address, data_dir = %args.data_dir.display(), "kec server listening");
        println!("kec server listening on http://{address}");
    })
    .await
    .with_context(|| {
        format!(
            "kec server stopped (data dir {}); check that the address is free and the data \
             directory is writable",
            args.data_dir.display()
        )
    })
}
