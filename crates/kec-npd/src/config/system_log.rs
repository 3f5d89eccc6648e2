//! The system log monitor config (NPD's `systemlogmonitor.MonitorConfig` + `WatcherConfig`).
//!
//! ```json
//! { "plugin": "kmsg", "logPath": "/dev/kmsg", "lookback": "5m", "bufferSize": 10,
//!   "source": "kernel-monitor", "conditions": [...], "rules": [...] }
//! ```
//! Defaults as NPD: `bufferSize` 10 (also when 0), `lookback` "0", `metricsReporting` true.

use std::cell::RefCell;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    ConditionConfig, Fields, Problems, RuleKind, check_rule_condition, parse_conditions, read_json,
};
use crate::error::Result;
use crate::monitor::system_log::{gotime::GoLayout, rules::CompiledPattern};

/// NPD's default `bufferSize`.
pub const DEFAULT_BUFFER_SIZE: usize = 10;

/// Which log a system log monitor watches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogPlugin {
    /// `/dev/kmsg` records.
    Kmsg,
    /// The systemd journal, entries of one `SYSLOG_IDENTIFIER` (`pluginConfig.source`).
    Journald {
        /// The `SYSLOG_IDENTIFIER` to follow.
        identifier: String,
    },
    /// A text log file, lines split by regexes (`pluginConfig`).
    Filelog(FilelogConfig),
}

/// `pluginConfig` of the `filelog` plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilelogConfig {
    /// Regex whose last capture (or whole match) is the line's timestamp.
    pub timestamp: String,
    /// Regex whose last capture (or whole match) is the line's message.
    pub message: String,
    /// Go reference layout of the timestamp, e.g. `"Jan _2 15:04:05"`.
    pub timestamp_format: String,
}

/// One log rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRule {
    /// Temporary (an Event) or permanent (a condition).
    pub kind: RuleKind,
    /// The condition a permanent rule sets; empty for temporary rules.
    pub condition: String,
    /// The reason reported.
    pub reason: String,
    /// The regex; it must match up to the end of the newest log line.
    pub pattern: String,
    /// Appended to the message as `"; <suffix>"` when not empty.
    pub pattern_generated_message_suffix: String,
}

/// A validated system log monitor config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemLogConfig {
    /// The log watcher.
    pub plugin: LogPlugin,
    /// Lines containing any of these strings are dropped before matching (NPD applies it to
    /// filelog only; kec applies it to every plugin).
    pub skip_list: Vec<String>,
    /// The log's path (`/dev/kmsg`, a journal directory, a log file); may be empty.
    pub log_path: String,
    /// How far back to read at start, in nanoseconds (only when no position was saved).
    pub lookback_ns: i64,
    /// How long after boot to ignore logs, in nanoseconds (0 = none).
    pub delay_ns: i64,
    /// Lines kept for multi-line patterns.
    pub buffer_size: usize,
    /// The monitor's name, the Event source.
    pub source: String,
    /// Conditions and their default (False) state.
    pub conditions: Vec<ConditionConfig>,
    /// Rules in order.
    pub rules: Vec<LogRule>,
    /// Whether problems are also metrics.
    pub metrics_reporting: bool,
}

impl SystemLogConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<SystemLogConfig> {
        let value = read_json(path)?;
        SystemLogConfig::from_value(path, &value)
    }

    /// Validates a parsed config; `path` only labels errors.
    pub fn from_value(path: &Path, value: &serde_json::Value) -> Result<SystemLogConfig> {
        let sink = RefCell::new(Problems::default());
        let config = Fields::root(value, &sink).map(parse);
        sink.into_inner().finish_opt(path, config)
    }
}

fn parse(mut fields: Fields<'_>) -> SystemLogConfig {
    let plugin_name = fields.string("plugin").unwrap_or_default();
    let has_plugin_config = fields.has("pluginConfig");
    let plugin_config = fields.string_map("pluginConfig");
    let get = |key: &str| {
        plugin_config
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    let plugin = match plugin_name.as_str() {
        "kmsg" => Some(LogPlugin::Kmsg),
        "journald" => {
            let identifier = get("source");
            if identifier.is_empty() {
                fields.problem(
                    "pluginConfig.source",
                    "the journald plugin needs a SYSLOG_IDENTIFIER to follow (empty source is not allowed)",
                );
            }
            Some(LogPlugin::Journald { identifier })
        }
        "filelog" => {
            let filelog = FilelogConfig {
                timestamp: get("timestamp"),
                message: get("message"),
                timestamp_format: get("timestampFormat"),
            };
            for (key, value) in [
                ("timestamp", &filelog.timestamp),
                ("message", &filelog.message),
            ] {
                if value.is_empty() {
                    fields.problem(
                        &format!("pluginConfig.{key}"),
                        "the filelog plugin needs this regular expression",
                    );
                } else if let Err(error) = regex::Regex::new(value) {
                    fields.problem(
                        &format!("pluginConfig.{key}"),
                        format!("invalid regex: {error}"),
                    );
                }
            }
            if filelog.timestamp_format.is_empty() {
                fields.problem(
                    "pluginConfig.timestampFormat",
                    "the filelog plugin needs a Go time layout, e.g. \"Jan _2 15:04:05\"",
                );
            } else if let Err(error) = GoLayout::compile(&filelog.timestamp_format) {
                fields.problem("pluginConfig.timestampFormat", error);
            }
            Some(LogPlugin::Filelog(filelog))
        }
        "" => {
            fields.problem(
                "plugin",
                "missing: one of \"kmsg\", \"journald\", \"filelog\"",
            );
            None
        }
        other => {
            fields.problem(
                "plugin",
                format!(
                    "unknown log watcher {other:?}: one of \"kmsg\", \"journald\", \"filelog\""
                ),
            );
            None
        }
    };
    if !has_plugin_config && matches!(plugin, Some(LogPlugin::Filelog(_))) {
        fields.problem("pluginConfig", "the filelog plugin needs pluginConfig");
    }
    let skip_list = fields.strings("skipList");
    let log_path = fields.string("logPath").unwrap_or_default();
    let lookback_ns = fields.duration("lookback").unwrap_or(0);
    let delay_ns = fields.duration("delay").unwrap_or(0);
    let buffer_size = match fields.int("bufferSize") {
        None | Some(0) => DEFAULT_BUFFER_SIZE,
        Some(size) if size < 0 => {
            fields.problem("bufferSize", format!("must be positive, not {size}"));
            DEFAULT_BUFFER_SIZE
        }
        Some(size) if size > 10_000 => {
            fields.problem(
                "bufferSize",
                format!("{size} lines is more than the 10000 supported"),
            );
            DEFAULT_BUFFER_SIZE
        }
        Some(size) => usize::try_from(size).unwrap_or(DEFAULT_BUFFER_SIZE),
    };
    let source = fields.string("source").unwrap_or_default();
    if source.is_empty() {
        fields.problem("source", "must not be empty (it is the Event source)");
    }
    let conditions = parse_conditions(&mut fields);
    let mut rules = Vec::new();
    for mut item in fields.objects("rules") {
        let kind = RuleKind::parse(&mut item, "type");
        if !item.has("type") {
            item.problem("type", "missing: \"temporary\" or \"permanent\"");
        }
        let condition = item.string("condition").unwrap_or_default();
        check_rule_condition(&mut item, kind, &condition, &conditions);
        let reason = item.string("reason").unwrap_or_default();
        if reason.is_empty() {
            item.problem("reason", "must not be empty");
        }
        let pattern = item.string("pattern").unwrap_or_default();
        if let Err(error) = CompiledPattern::compile(&pattern) {
            item.problem("pattern", error);
        }
        let suffix = item
            .string("patternGeneratedMessageSuffix")
            .unwrap_or_default();
        item.finish();
        rules.push(LogRule {
            kind: kind.unwrap_or(RuleKind::Temporary),
            condition,
            reason,
            pattern,
            pattern_generated_message_suffix: suffix,
        });
    }
    let metrics_reporting = fields.bool("metricsReporting").unwrap_or(true);
    fields.finish();
    SystemLogConfig {
        plugin: plugin.unwrap_or(LogPlugin::Kmsg),
        skip_list,
        log_path,
        lookback_ns,
        delay_ns,
        buffer_size,
        source,
        conditions,
        rules,
        metrics_reporting,
    }
}
