//! The [`Monitor`] trait and [`load_monitor`], which builds a monitor from an NPD config file.
//!
//! - [`system_log`]: NPD's system log monitor (kmsg, journald, filelog + the rule engine).
//! - [`custom_plugin`]: NPD's custom plugin monitor (programs whose exit code is the verdict).
//! - [`system_stats`]: NPD's system stats monitor (metrics from /proc and /sys; no problems).
//! - [`native`]: kec's native checks (conntrack, fds, pids, runtime socket, kubelet, net devices).
//! - [`conditions`]: initial conditions and NPD's condition-change Event.

pub mod conditions;
pub mod custom_plugin;
pub mod native;
pub mod system_log;
pub mod system_stats;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::custom_plugin::CustomPluginConfig;
use crate::config::native::NativeChecksConfig;
use crate::config::system_log::SystemLogConfig;
use crate::config::system_stats::SystemStatsConfig;
use crate::error::Result;
use crate::types::Status;

/// Capacity of a monitor's Status channel (NPD uses 1000); a full channel makes the monitor wait.
pub const STATUS_CHANNEL_CAPACITY: usize = 1000;

/// A running source of [`Status`] updates.
pub trait Monitor: Send {
    /// The monitor's `source` (the Event source component).
    fn source(&self) -> &str;

    /// The status before any problem: every condition at its default (False), no events.
    /// `None` for monitors that report no problems (system stats).
    fn initial_status(&self) -> Option<Status>;

    /// Starts the monitor on the current tokio runtime. The first Status sent is the initial
    /// one (as NPD does; custom plugins may skip it with `skip_initial_status`). The channel
    /// closes when `cancel` fires, after positions are persisted, or when the monitor fails.
    fn start(self: Box<Self>, cancel: CancellationToken) -> mpsc::Receiver<Status>;
}

/// Which NPD flag a config file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MonitorKind {
    /// `--config.system-log-monitor`.
    SystemLog,
    /// `--config.custom-plugin-monitor`.
    CustomPlugin,
    /// `--config.system-stats-monitor`.
    SystemStats,
    /// kec's native checks (`--config.native-checks`).
    NativeChecks,
}

/// The current time in milliseconds since the Unix epoch (UTC).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| jiff::Timestamp::now().as_millisecond())
}

/// What every monitor needs from its surroundings.
#[derive(Clone)]
pub struct MonitorOptions {
    /// Where positions (kmsg sequence number, journald cursor) are persisted.
    pub state_dir: PathBuf,
    /// The node's name.
    pub node_name: String,
    /// Prefix of every host path (`/proc`, `/sys`, `/dev/kmsg`, sockets, log files); `/` on a
    /// node, a temp dir in tests.
    pub root: PathBuf,
    /// The clock.
    pub clock: Clock,
    /// The program run for the journald plugin (`journalctl`); tests point it at a script.
    pub journalctl: PathBuf,
    /// Relative custom plugin paths resolve against this (NPD: the working directory).
    pub plugin_base_dir: PathBuf,
    /// Where system stats monitors publish their metrics (the Prometheus endpoint reads it).
    pub stats_board: system_stats::StatsBoard,
}

impl std::fmt::Debug for MonitorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitorOptions")
            .field("state_dir", &self.state_dir)
            .field("node_name", &self.node_name)
            .field("root", &self.root)
            .field("journalctl", &self.journalctl)
            .field("plugin_base_dir", &self.plugin_base_dir)
            .finish_non_exhaustive()
    }
}

impl MonitorOptions {
    /// Options for a real node: root `/`, the system clock, `journalctl` from `PATH`, plugins
    /// relative to the working directory.
    pub fn new(state_dir: impl Into<PathBuf>, node_name: impl Into<String>) -> MonitorOptions {
        MonitorOptions {
            state_dir: state_dir.into(),
            node_name: node_name.into(),
            root: PathBuf::from("/"),
            clock: system_clock(),
            journalctl: PathBuf::from("journalctl"),
            plugin_base_dir: PathBuf::from("."),
            stats_board: system_stats::StatsBoard::new(),
        }
    }

    /// A host path under [`MonitorOptions::root`].
    pub fn host_path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match path.strip_prefix("/") {
            Ok(relative) => self.root.join(relative),
            Err(_) => self.root.join(path),
        }
    }

    /// Now, in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        (self.clock)()
    }
}

/// Loads one NPD config file of the given kind and builds its monitor.
pub fn load_monitor(
    kind: MonitorKind,
    path: &Path,
    options: &MonitorOptions,
) -> Result<Box<dyn Monitor>> {
    Ok(match kind {
        MonitorKind::SystemLog => {
            let config = SystemLogConfig::load(path)?;
            Box::new(system_log::SystemLogMonitor::new(config, options.clone())?)
        }
        MonitorKind::CustomPlugin => {
            let config = CustomPluginConfig::load(path, &options.plugin_base_dir)?;
            Box::new(custom_plugin::CustomPluginMonitor::new(
                config,
                options.clone(),
            ))
        }
        MonitorKind::SystemStats => {
            let config = SystemStatsConfig::load(path)?;
            Box::new(system_stats::SystemStatsMonitor::new(
                config,
                options.clone(),
            )?)
        }
        MonitorKind::NativeChecks => {
            let config = NativeChecksConfig::load(path)?;
            Box::new(native::NativeChecksMonitor::new(config, options.clone())?)
        }
    })
}
