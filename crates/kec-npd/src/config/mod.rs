//! Loading and validating NPD's config files.
//!
//! NPD decodes its configs with Go's `encoding/json`: keys match case-insensitively, absent keys
//! take the defaults below, and a config problem stops NPD at the first one. Here every problem of
//! a file is collected and reported at once, each with its field path and reason, and keys NPD
//! does not know are reported too (a misspelt key silently ignored is a monitor that never fires).
//!
//! - [`system_log`]: `--config.system-log-monitor` files (kmsg, journald, filelog).
//! - [`custom_plugin`]: `--config.custom-plugin-monitor` files.
//! - [`system_stats`]: `--config.system-stats-monitor` files.
//! - [`native`]: kec's own native checks (no shell needed).
//! - [`duration`]: Go's `time.ParseDuration`.

pub mod custom_plugin;
pub mod duration;
pub mod native;
pub mod system_log;
pub mod system_stats;

mod fields;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub(crate) use fields::Fields;

/// One problem found in a config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigProblem {
    /// The JSON path of the field, e.g. `rules[3].pattern`; empty for the whole document.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", self.field, self.reason)
        }
    }
}

/// Collects problems while a config is decoded and validated.
#[derive(Debug, Default)]
pub(crate) struct Problems(pub(crate) Vec<ConfigProblem>);

impl Problems {
    pub(crate) fn push(&mut self, field: impl Into<String>, reason: impl Into<String>) {
        self.0.push(ConfigProblem {
            field: field.into(),
            reason: reason.into(),
        });
    }

    /// Like [`Problems::finish`] for a decoder that may have produced nothing.
    pub(crate) fn finish_opt<T>(mut self, path: &Path, value: Option<T>) -> Result<T> {
        match value {
            Some(value) => self.finish(path, value),
            None => {
                if self.0.is_empty() {
                    self.push("", "the document must be a JSON object");
                }
                Err(Error::InvalidConfig {
                    path: path.to_path_buf(),
                    problems: self.0,
                })
            }
        }
    }

    /// `Ok(value)` when no problem was found, else every problem with the file's path.
    pub(crate) fn finish<T>(self, path: &Path, value: T) -> Result<T> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(Error::InvalidConfig {
                path: path.to_path_buf(),
                problems: self.0,
            })
        }
    }
}

/// Reads a config file and parses it as JSON.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read(path).map_err(|source| Error::ReadConfig {
        path: path.to_path_buf(),
        source,
    })?;
    parse_json(path, &text)
}

/// Parses config text as JSON; a syntax error is one problem with its line and column.
pub(crate) fn parse_json(path: &Path, text: &[u8]) -> Result<serde_json::Value> {
    serde_json::from_slice(text).map_err(|error| Error::InvalidConfig {
        path: path.to_path_buf(),
        problems: vec![ConfigProblem {
            field: String::new(),
            reason: format!(
                "not valid JSON at line {} column {}: {error}",
                error.line(),
                error.column()
            ),
        }],
    })
}

/// A condition a monitor reports, as configured (NPD's `types.Condition`): the default state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionConfig {
    /// The condition type, e.g. `KernelDeadlock`.
    pub condition_type: String,
    /// The reason while the condition is False (its default).
    pub reason: String,
    /// The message while the condition is False.
    pub message: String,
}

/// Whether a rule reports an Event (temporary) or sets a condition (permanent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleKind {
    /// `"temporary"`: an Event.
    Temporary,
    /// `"permanent"`: a condition change (plus an Event on change, as NPD does).
    Permanent,
}

impl RuleKind {
    fn parse(fields: &mut Fields<'_>, key: &str) -> Option<RuleKind> {
        let text = fields.string(key)?;
        match text.as_str() {
            "temporary" => Some(RuleKind::Temporary),
            "permanent" => Some(RuleKind::Permanent),
            other => {
                fields.problem(
                    key,
                    format!("must be \"temporary\" or \"permanent\", not {other:?}"),
                );
                None
            }
        }
    }
}

/// Decodes the `conditions` array shared by the log and plugin monitors.
pub(crate) fn parse_conditions(fields: &mut Fields<'_>) -> Vec<ConditionConfig> {
    let mut conditions: Vec<ConditionConfig> = Vec::new();
    for mut item in fields.objects("conditions") {
        let condition_type = item.string("type").unwrap_or_default();
        // `status` and `transition` exist in NPD's struct but a default condition is always False.
        item.ignore("status");
        item.ignore("transition");
        let reason = item.string("reason").unwrap_or_default();
        let message = item.string("message").unwrap_or_default();
        if condition_type.is_empty() {
            item.problem("type", "must not be empty");
        } else if conditions
            .iter()
            .any(|c| c.condition_type == condition_type)
        {
            item.problem(
                "type",
                format!("condition {condition_type:?} is declared twice"),
            );
        }
        item.finish();
        conditions.push(ConditionConfig {
            condition_type,
            reason,
            message,
        });
    }
    conditions
}

/// Checks that a permanent rule names a declared condition (NPD would silently never report it).
pub(crate) fn check_rule_condition(
    fields: &mut Fields<'_>,
    kind: Option<RuleKind>,
    condition: &str,
    conditions: &[ConditionConfig],
) {
    if kind == Some(RuleKind::Permanent)
        && !conditions.iter().any(|c| c.condition_type == condition)
    {
        fields.problem(
            "condition",
            format!("permanent rule names condition {condition:?}, which is not in \"conditions\""),
        );
    }
}
