//! NPD's system stats monitor: every `invokeInterval` it reads the enabled metrics from /proc
//! and /sys and publishes them on the [`StatsBoard`] of its [`MonitorOptions`], which the
//! Prometheus endpoint serves. Like NPD's, it reports no conditions or Events.
//!
//! - [`procfs`]: parsers of the /proc files (fed fixtures in tests, never panic).
//! - [`collect`]: [`StatsCollector`], one collection of NPD's metrics.
//! - [`board`]: [`StatsBoard`], the latest samples shared with the exporter.
//!
//! Not collected: `osFeature` (`system/os_feature`, which needs NPD's known-modules list of
//! the guest OS); the config is accepted and that metric stays absent.

pub mod board;
pub mod collect;
pub mod procfs;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use board::{SampleValue, StatSample, StatsBoard};
pub use collect::StatsCollector;

use crate::config::system_stats::SystemStatsConfig;
use crate::error::{Error, Result};
use crate::monitor::{Monitor, MonitorOptions};
use crate::types::Status;

/// A validated system stats monitor (metrics-only).
pub struct SystemStatsMonitor {
    config: SystemStatsConfig,
    options: MonitorOptions,
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
        Ok(SystemStatsMonitor { config, options })
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
        let board = self.options.stats_board.clone();
        let id = board.register();
        let interval =
            Duration::from_nanos(u64::try_from(self.config.invoke_interval_ns).unwrap_or(1));
        let mut collector = StatsCollector::new(&self.config, &self.options);
        let options = self.options;
        tokio::spawn(async move {
            // The first collection runs at once, then every invokeInterval.
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                let now_ms = options.now_ms();
                // statfs of a hung network mount blocks: off the async threads.
                let collected = tokio::task::spawn_blocking(move || {
                    let result = collector.collect(now_ms);
                    (collector, result)
                })
                .await;
                let Ok((returned, (samples, errors))) = collected else {
                    tracing::error!("system stats collection panicked; the monitor stops");
                    break;
                };
                collector = returned;
                for error in errors {
                    tracing::warn!(error = %error, source = ?std::error::Error::source(&error).map(ToString::to_string), "system stats not collected");
                }
                board.publish(id, samples);
            }
            board.remove(id);
            drop(status_tx);
        });
        status_rx
    }
}
