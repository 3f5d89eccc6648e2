//! `kec npd`: node-problem-detector's flags and agent. The command line lives in
//! [`kec_npd_export::cli`], shared with the slim `kec-npd` binary the DaemonSet runs.

pub use kec_npd_export::cli::NpdArgs;

/// Runs the agent until SIGINT or SIGTERM.
pub async fn run(args: NpdArgs) -> anyhow::Result<()> {
    kec_npd_export::cli::run(args, crate::shutdown_on_signals()).await
}
