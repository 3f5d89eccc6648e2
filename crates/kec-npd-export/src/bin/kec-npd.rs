//! `kec-npd`: the node problem detector agent alone, for the DaemonSet. Same flags and
//! behaviour as `kec npd`, without the center, UI and store linked in: a node agent's resident
//! memory is mostly the binary pages it maps, so a smaller binary is a smaller agent. One
//! async thread (a current-thread runtime): the monitors' blocking reads have threads of their
//! own.

use std::process::ExitCode;

use clap::Parser;
use kec_npd_export::cli::{self, NpdArgs};

/// mimalloc, as in `kec`; run with MIMALLOC_ALLOW_THP=0 and MIMALLOC_PURGE_DELAY=0
/// (deploy/npd/daemonset.yaml) to keep freed start-up memory out of the resident set.
#[global_allocator]
static GLOBAL_ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// kec's node problem detector: node-problem-detector's configs and flags.
#[derive(Debug, Parser)]
#[command(name = "kec-npd", version, about, long_about = None)]
struct Cli {
    /// Log filter, e.g. `info`, `debug`, `kec_npd=debug` (or set RUST_LOG).
    #[arg(long, env = "KEC_LOG", default_value = "info")]
    log: String,
    #[command(flatten)]
    args: NpdArgs,
}

fn main() -> ExitCode {
    // kube uses rustls; the process-wide crypto provider is ring, as in `kec`.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&cli.log));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(async { cli::run(cli.args, cli::shutdown_on_signals()).await }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
