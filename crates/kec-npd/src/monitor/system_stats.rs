//! NPD's system stats monitor. It only exports metrics in NPD and reports no conditions or
//! Events; kec loads and validates its config so NPD's flags work, and the monitor reports
//! nothing. Collecting the metrics themselves is not implemented yet.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::system_stats::SystemStatsConfig;
use crate::error::{Error, Result};
use crate::monitor::{Monitor, MonitorOptions};
use crate::types::Status;

/// A validated system stats monitor (metrics-only).
pub struct SystemStatsMonitor {
    config: SystemStatsConfig,
}

impl SystemStatsMonitor {
    /// Checks that `procPath` exists under the root (as NPD's `Validate`).
    pub fn new(config: SystemStatsConfig, options: MonitorOptions) -> Result<SystemStatsMonitor> {
        let proc_path = options.host_path(&config.proc_path);
        if !proc_path.exists() {
            return Err(Error::Io {
                what: "system stats procPath does not exist:",
                path: proc_path,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        Ok(SystemStatsMonitor { config })
    }

    /// The config.
    pub fn config(&self) -> &SystemStatsConfig {
        &self.config
    }
}

impl Monitor for SystemStatsMonitor {
    fn source(&self) -> &str {
        "system-stats-monitor"
    }

    fn initial_status(&self) -> Option<Status> {
        None
    }

    fn start(self: Box<Self>, cancel: CancellationToken) -> mpsc::Receiver<Status> {
        // No statuses: the channel stays open until cancelled, then closes.
        let (status_tx, status_rx) = mpsc::channel(1);
        tokio::spawn(async move {
            cancel.cancelled().await;
            drop(status_tx);
        });
        status_rx
    }
}
