//! The custom plugin monitor config (NPD's `custompluginmonitor/types.CustomPluginConfig`).
//!
//! Defaults as NPD: `invoke_interval` 30s, `timeout` 5s, `max_output_length` 80,
//! `concurrency` 3, `enable_message_change_based_condition_update` false,
//! `skip_initial_status` false, `metricsReporting` true. Validation as NPD's `Validate()`
//! (plugin is `"custom"`, intervals positive, rule timeout not above the global one, the
//! plugin path exists, permanent rules have a default condition), all problems at once.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    ConditionConfig, Fields, Problems, RuleKind, check_rule_condition, parse_conditions, read_json,
};
use crate::error::Result;

const SECOND_NS: i64 = 1_000_000_000;

/// One plugin rule: a program whose exit code is the verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRule {
    /// Temporary (an Event when the plugin fails) or permanent (a condition).
    pub kind: RuleKind,
    /// The condition a permanent rule sets.
    pub condition: String,
    /// The reason reported when the plugin says NonOK.
    pub reason: String,
    /// The program, resolved against the plugin base directory when relative.
    pub path: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The rule's own timeout (nanoseconds), if any; the smaller of this and the global one wins.
    pub timeout_ns: Option<i64>,
    /// The rule's own invoke interval (nanoseconds), if any.
    pub invoke_interval_ns: Option<i64>,
}

/// A validated custom plugin monitor config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomPluginConfig {
    /// Default interval between runs of every rule (nanoseconds).
    pub invoke_interval_ns: i64,
    /// Global timeout of a run (nanoseconds).
    pub timeout_ns: i64,
    /// Output is cut to this many bytes.
    pub max_output_length: usize,
    /// How many plugins run at once.
    pub concurrency: usize,
    /// Whether a changed message alone updates a True condition.
    pub enable_message_change_based_condition_update: bool,
    /// Whether the initial (all False) status is not sent.
    pub skip_initial_status: bool,
    /// The monitor's name, the Event source.
    pub source: String,
    /// Conditions and their default (False) state.
    pub conditions: Vec<ConditionConfig>,
    /// Rules in order.
    pub rules: Vec<PluginRule>,
    /// Whether problems are also metrics.
    pub metrics_reporting: bool,
}

impl CustomPluginConfig {
    /// Reads and validates a config file; relative plugin paths resolve against `base_dir`.
    pub fn load(path: &Path, base_dir: &Path) -> Result<CustomPluginConfig> {
        let value = read_json(path)?;
        CustomPluginConfig::from_value(path, &value, base_dir)
    }

    /// Validates a parsed config; `path` only labels errors.
    pub fn from_value(
        path: &Path,
        value: &serde_json::Value,
        base_dir: &Path,
    ) -> Result<CustomPluginConfig> {
        let sink = RefCell::new(Problems::default());
        let config = Fields::root(value, &sink).map(|fields| parse(fields, base_dir));
        sink.into_inner().finish_opt(path, config)
    }
}

fn parse(mut fields: Fields<'_>, base_dir: &Path) -> CustomPluginConfig {
    match fields.string("plugin").as_deref() {
        Some("custom") => {}
        Some(other) => fields.problem(
            "plugin",
            format!("only the \"custom\" plugin is supported, not {other:?}"),
        ),
        None => fields.problem("plugin", "missing: must be \"custom\""),
    }
    let mut global = fields.object("pluginConfig");
    let mut invoke_interval_ns = 30 * SECOND_NS;
    let mut timeout_ns = 5 * SECOND_NS;
    let mut max_output_length = 80;
    let mut concurrency = 3;
    let mut message_change = false;
    let mut skip_initial_status = false;
    if let Some(global) = global.as_mut() {
        if let Some(value) = global.duration("invoke_interval") {
            invoke_interval_ns = value;
            if value <= 0 {
                global.problem("invoke_interval", "must be greater than zero");
            }
        }
        if let Some(value) = global.duration("timeout") {
            timeout_ns = value;
            if value <= 0 {
                global.problem("timeout", "must be greater than zero");
            }
        }
        if let Some(value) = global.int("max_output_length") {
            match usize::try_from(value) {
                Ok(length) => max_output_length = length,
                Err(_) => global.problem("max_output_length", "must not be negative"),
            }
        }
        if let Some(value) = global.int("concurrency") {
            match usize::try_from(value) {
                Ok(count) if count > 0 => concurrency = count,
                _ => global.problem("concurrency", "must be at least 1"),
            }
        }
        message_change = global
            .bool("enable_message_change_based_condition_update")
            .unwrap_or(false);
        skip_initial_status = global.bool("skip_initial_status").unwrap_or(false);
    }
    if let Some(global) = global {
        global.finish();
    }
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
        let raw_path = item.string("path").unwrap_or_default();
        let path = base_dir.join(&raw_path);
        if raw_path.is_empty() {
            item.problem("path", "missing: the plugin to run");
        } else if !path.exists() {
            item.problem("path", format!("{} does not exist", path.display()));
        }
        let args = item.strings("args");
        let rule_timeout = item.duration("timeout");
        if let Some(value) = rule_timeout {
            if value > timeout_ns {
                item.problem(
                    "timeout",
                    "is greater than the global timeout (pluginConfig.timeout)",
                );
            } else if value <= 0 {
                item.problem("timeout", "must be greater than zero");
            }
        }
        let rule_interval = item.duration("invoke_interval");
        if rule_interval.is_some_and(|value| value <= 0) {
            item.problem("invoke_interval", "must be greater than zero");
        }
        item.finish();
        rules.push(PluginRule {
            kind: kind.unwrap_or(RuleKind::Temporary),
            condition,
            reason,
            path,
            args,
            timeout_ns: rule_timeout,
            invoke_interval_ns: rule_interval,
        });
    }
    let metrics_reporting = fields.bool("metricsReporting").unwrap_or(true);
    fields.finish();
    CustomPluginConfig {
        invoke_interval_ns,
        timeout_ns,
        max_output_length,
        concurrency,
        enable_message_change_based_condition_update: message_change,
        skip_initial_status,
        source,
        conditions,
        rules,
        metrics_reporting,
    }
}
