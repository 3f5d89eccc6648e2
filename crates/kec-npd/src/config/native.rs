//! kec's native checks config (`deploy/npd/config/native-checks.json`): node problems checked
//! directly from `/proc`, sockets and HTTP, with no shell or plugin script.
//!
//! ```json
//! { "source": "native-checks", "invokeInterval": "30s",
//!   "checks": [ { "type": "conntrack", "condition": "ConntrackFull", "thresholdPercent": 90 } ] }
//! ```
//! Every check that sets a condition declares it (type, the False reason and message are
//! derived). Paths are read relative to the monitor's root (`MonitorOptions::root`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ConfigProblem, Problems, duration::parse_go_duration, read_json};
use crate::error::{Error, Result};
use crate::monitor::system_log::rules::CompiledPattern;

fn default_interval() -> String {
    "30s".to_string()
}

fn default_timeout() -> String {
    "5s".to_string()
}

fn default_threshold() -> f64 {
    90.0
}

/// The whole native checks config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NativeChecksConfig {
    /// The Event source.
    pub source: String,
    /// How often every check runs (Go duration).
    #[serde(default = "default_interval")]
    pub invoke_interval: String,
    /// The checks.
    pub checks: Vec<CheckConfig>,
}

/// Which container runtime a socket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// Docker: `GET /_ping` over the socket must answer 200 `OK`.
    Docker,
    /// containerd: the socket must accept a connection within the timeout (no gRPC health call).
    Containerd,
}

/// One native check; all kinds in one greppable enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum CheckConfig {
    /// `nf_conntrack_count` / `nf_conntrack_max` above a threshold.
    #[serde(rename_all = "camelCase")]
    Conntrack {
        /// Condition set while above the threshold (e.g. `ConntrackFull`).
        condition: String,
        /// Percent of the table in use that counts as full.
        #[serde(default = "default_threshold")]
        threshold_percent: f64,
    },
    /// File descriptors in use (`/proc/sys/fs/file-nr`) vs `fs.file-max`.
    #[serde(rename_all = "camelCase")]
    FdPressure {
        /// Condition set while above the threshold (e.g. `FDPressure`).
        condition: String,
        /// Percent in use that counts as pressure.
        #[serde(default = "default_threshold")]
        threshold_percent: f64,
    },
    /// Processes and threads (`/proc/loadavg` 4th field) vs `kernel.pid_max`.
    #[serde(rename_all = "camelCase")]
    PidPressure {
        /// Condition set while above the threshold (e.g. `PIDPressure`).
        condition: String,
        /// Percent in use that counts as pressure.
        #[serde(default = "default_threshold")]
        threshold_percent: f64,
    },
    /// The container runtime answers on its unix socket.
    #[serde(rename_all = "camelCase")]
    ContainerRuntime {
        /// Condition set while it does not (e.g. `ContainerRuntimeUnhealthy`).
        condition: String,
        /// Docker or containerd.
        runtime: RuntimeKind,
        /// The socket path (relative to the root).
        socket: String,
        /// How long to wait (Go duration).
        #[serde(default = "default_timeout")]
        timeout: String,
    },
    /// The kubelet's health endpoint answers 200 `ok`.
    #[serde(rename_all = "camelCase")]
    Kubelet {
        /// Condition set while it does not (e.g. `KubeletUnhealthy`).
        condition: String,
        /// `http://127.0.0.1:10248/healthz` by default.
        #[serde(default = "default_kubelet_url")]
        url: String,
        /// How long to wait (Go duration).
        #[serde(default = "default_timeout")]
        timeout: String,
    },
    /// A service restarting often, counted from the journal like NPD's `log-counter`: each
    /// entry of `identifier` matching `pattern` within `window` counts +1, each matching
    /// `revertPattern` (a clean stop) -1; `count` or more sets the condition.
    #[serde(rename_all = "camelCase")]
    ServiceRestarts {
        /// Condition set while restarts are frequent (e.g. `FrequentKubeletRestart`).
        condition: String,
        /// The journal `SYSLOG_IDENTIFIER` (`systemd`).
        #[serde(default = "default_restart_identifier")]
        identifier: String,
        /// A start, e.g. `Started (Kubernetes kubelet|kubelet.service|kubelet.service - .*).`
        pattern: String,
        /// A clean stop, e.g. `Stopping (Kubernetes kubelet|kubelet.service|kubelet.service - .*)...`
        #[serde(default)]
        revert_pattern: String,
        /// The sliding window (Go duration).
        #[serde(default = "default_restart_window")]
        window: String,
        /// Starts in the window that count as frequent.
        #[serde(default = "default_restart_count")]
        count: u32,
        /// The journal directory (`--directory`), empty for journalctl's default.
        #[serde(default)]
        log_path: String,
    },
    /// Receive/transmit errors and drops of network interfaces growing between two runs
    /// (`/proc/net/dev`): an Event per interface.
    #[serde(rename_all = "camelCase")]
    NetDev {
        /// The Event reason (e.g. `NetworkInterfaceErrors`).
        reason: String,
        /// Interfaces whose name matches are ignored (e.g. `^(lo|veth.*|cali.*)$`).
        #[serde(default)]
        exclude_interface_regexp: String,
        /// Errors plus drops added since the last run that make an Event.
        #[serde(default = "default_min_delta")]
        min_delta: u64,
    },
}

fn default_kubelet_url() -> String {
    "http://127.0.0.1:10248/healthz".to_string()
}

fn default_restart_identifier() -> String {
    "systemd".to_string()
}

fn default_restart_window() -> String {
    "20m".to_string()
}

fn default_restart_count() -> u32 {
    5
}

fn default_min_delta() -> u64 {
    1
}

impl CheckConfig {
    /// The condition this check sets, if it sets one.
    pub fn condition(&self) -> Option<&str> {
        match self {
            CheckConfig::Conntrack { condition, .. }
            | CheckConfig::FdPressure { condition, .. }
            | CheckConfig::PidPressure { condition, .. }
            | CheckConfig::ContainerRuntime { condition, .. }
            | CheckConfig::Kubelet { condition, .. }
            | CheckConfig::ServiceRestarts { condition, .. } => Some(condition),
            CheckConfig::NetDev { .. } => None,
        }
    }
}

impl NativeChecksConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<NativeChecksConfig> {
        let value = read_json(path)?;
        let config: NativeChecksConfig =
            serde_json::from_value(value).map_err(|error| Error::InvalidConfig {
                path: path.to_path_buf(),
                problems: vec![ConfigProblem {
                    field: String::new(),
                    reason: error.to_string(),
                }],
            })?;
        let problems = config.validate();
        problems.finish(path, config)
    }

    /// Every problem of a decoded config.
    pub(crate) fn validate(&self) -> Problems {
        let mut problems = Problems::default();
        if self.source.is_empty() {
            problems.push("source", "must not be empty (it is the Event source)");
        }
        match parse_go_duration(&self.invoke_interval) {
            Ok(nanos) if nanos <= 0 => problems.push("invokeInterval", "must be above 0s"),
            Ok(_) => {}
            Err(reason) => problems.push("invokeInterval", reason),
        }
        let mut seen: Vec<&str> = Vec::new();
        for (index, check) in self.checks.iter().enumerate() {
            let field = |name: &str| format!("checks[{index}].{name}");
            if let Some(condition) = check.condition() {
                if condition.is_empty() {
                    problems.push(field("condition"), "must not be empty");
                } else if seen.contains(&condition) {
                    problems.push(
                        field("condition"),
                        format!("condition {condition:?} is set by two checks"),
                    );
                }
                seen.push(condition);
            }
            match check {
                CheckConfig::Conntrack {
                    threshold_percent, ..
                }
                | CheckConfig::FdPressure {
                    threshold_percent, ..
                }
                | CheckConfig::PidPressure {
                    threshold_percent, ..
                } => {
                    if !(*threshold_percent > 0.0 && *threshold_percent <= 100.0) {
                        problems.push(field("thresholdPercent"), "must be in (0, 100]");
                    }
                }
                CheckConfig::ContainerRuntime {
                    timeout, socket, ..
                } => {
                    if socket.is_empty() {
                        problems.push(field("socket"), "must not be empty");
                    }
                    check_timeout(&mut problems, field("timeout"), timeout);
                }
                CheckConfig::Kubelet { url, timeout, .. } => {
                    if !url.starts_with("http://") {
                        problems.push(field("url"), "must be an http:// URL");
                    }
                    check_timeout(&mut problems, field("timeout"), timeout);
                }
                CheckConfig::ServiceRestarts {
                    identifier,
                    pattern,
                    revert_pattern,
                    window,
                    count,
                    ..
                } => {
                    if identifier.is_empty() {
                        problems.push(field("identifier"), "must not be empty");
                    }
                    if let Err(reason) = CompiledPattern::compile(pattern) {
                        problems.push(field("pattern"), reason);
                    }
                    if !revert_pattern.is_empty()
                        && let Err(reason) = CompiledPattern::compile(revert_pattern)
                    {
                        problems.push(field("revertPattern"), reason);
                    }
                    check_timeout(&mut problems, field("window"), window);
                    if *count == 0 {
                        problems.push(field("count"), "must be at least 1");
                    }
                }
                CheckConfig::NetDev {
                    reason,
                    exclude_interface_regexp,
                    ..
                } => {
                    if reason.is_empty() {
                        problems.push(field("reason"), "must not be empty");
                    }
                    if let Err(error) = regex::Regex::new(exclude_interface_regexp) {
                        problems.push(
                            field("excludeInterfaceRegexp"),
                            format!("invalid regex: {error}"),
                        );
                    }
                }
            }
        }
        problems
    }
}

fn check_timeout(problems: &mut Problems, field: String, timeout: &str) {
    match parse_go_duration(timeout) {
        Ok(nanos) if nanos <= 0 => problems.push(field, "must be above 0s"),
        Ok(_) => {}
        Err(reason) => problems.push(field, reason),
    }
}
