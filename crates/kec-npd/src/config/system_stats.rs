//! The system stats monitor config (NPD's `systemstatsmonitor/types.SystemStatsConfig`).
//!
//! A metrics-only monitor: it reports no conditions or Events. Defaults as NPD:
//! `invokeInterval` 60s, `procPath` `/proc`, `disk.lsblkTimeout` 5s,
//! `osFeature.knownModulesConfigPath` `guestosconfig/known-modules.json`.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Fields, Problems, read_json};
use crate::error::Result;

/// A validated system stats config: which metric groups are enabled and how often they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatsConfig {
    /// Metric names per group (`cpu`, `disk`, `host`, `memory`, `osFeature`, `net`), with their
    /// display names.
    pub metrics: Vec<(String, Vec<(String, String)>)>,
    /// Interval between collections (nanoseconds).
    pub invoke_interval_ns: i64,
    /// Where `/proc` is (relative to the monitor root).
    pub proc_path: String,
    /// `disk.lsblkTimeout` (nanoseconds).
    pub lsblk_timeout_ns: i64,
    /// `disk.includeRootBlk`.
    pub include_root_blk: bool,
    /// `disk.includeAllAttachedBlk`.
    pub include_all_attached_blk: bool,
    /// `osFeature.knownModulesConfigPath`.
    pub known_modules_config_path: String,
    /// `net.excludeInterfaceRegexp`, empty for none.
    pub exclude_interface_regexp: String,
}

impl SystemStatsConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<SystemStatsConfig> {
        let value = read_json(path)?;
        SystemStatsConfig::from_value(path, &value)
    }

    /// Validates a parsed config; `path` only labels errors.
    pub fn from_value(path: &Path, value: &serde_json::Value) -> Result<SystemStatsConfig> {
        let sink = RefCell::new(Problems::default());
        let config = Fields::root(value, &sink).map(parse);
        sink.into_inner().finish_opt(path, config)
    }
}

fn metric_configs(group: &mut Fields<'_>) -> Vec<(String, String)> {
    let mut metrics = Vec::new();
    for (name, mut metric) in group.object_map("metricsConfigs") {
        let display_name = metric.string("displayName").unwrap_or_default();
        metric.finish();
        metrics.push((name, display_name));
    }
    metrics
}

fn parse(mut fields: Fields<'_>) -> SystemStatsConfig {
    let mut config = SystemStatsConfig {
        metrics: Vec::new(),
        invoke_interval_ns: 60_000_000_000,
        proc_path: "/proc".to_string(),
        lsblk_timeout_ns: 5_000_000_000,
        include_root_blk: false,
        include_all_attached_blk: false,
        known_modules_config_path: "guestosconfig/known-modules.json".to_string(),
        exclude_interface_regexp: String::new(),
    };
    for group_name in ["cpu", "disk", "host", "memory", "osFeature", "net"] {
        let Some(mut group) = fields.object(group_name) else {
            continue;
        };
        let metrics = metric_configs(&mut group);
        match group_name {
            "disk" => {
                config.include_root_blk = group.bool("includeRootBlk").unwrap_or(false);
                config.include_all_attached_blk =
                    group.bool("includeAllAttachedBlk").unwrap_or(false);
                if let Some(timeout) = group.duration("lsblkTimeout") {
                    config.lsblk_timeout_ns = timeout;
                }
            }
            "osFeature" => {
                if let Some(path) = group.string("knownModulesConfigPath")
                    && !path.is_empty()
                {
                    config.known_modules_config_path = path;
                }
            }
            "net" => {
                let regexp = group.string("excludeInterfaceRegexp").unwrap_or_default();
                if let Err(error) = regex::Regex::new(&regexp) {
                    group.problem("excludeInterfaceRegexp", format!("invalid regex: {error}"));
                }
                config.exclude_interface_regexp = regexp;
            }
            _ => {}
        }
        group.finish();
        config.metrics.push((group_name.to_string(), metrics));
    }
    if let Some(interval) = fields.duration("invokeInterval") {
        config.invoke_interval_ns = interval;
    }
    if let Some(proc_path) = fields.string("procPath")
        && !proc_path.is_empty()
    {
        config.proc_path = proc_path;
    }
    if config.invoke_interval_ns <= 0 {
        fields.problem("invokeInterval", "must be above 0s");
    }
    if config.lsblk_timeout_ns <= 0 {
        fields.problem("disk.lsblkTimeout", "must be above 0s");
    } else if config.lsblk_timeout_ns > config.invoke_interval_ns {
        fields.problem("disk.lsblkTimeout", "must be shorter than invokeInterval");
    }
    fields.finish();
    config
}
