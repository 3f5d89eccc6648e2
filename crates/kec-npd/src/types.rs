//! NPD's data model: what a monitor reports and exporters publish (NPD's `pkg/types`).

use serde::{Deserialize, Serialize};

/// How serious a problem event is. NPD knows `info` and `warn` (`warn` maps to a Kubernetes
/// `Warning` Event, `info` to `Normal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
}

impl Severity {
    /// The Kubernetes Event type this severity is reported as.
    pub fn event_type(self) -> &'static str {
        match self {
            Severity::Info => "Normal",
            Severity::Warn => "Warning",
        }
    }
}

/// One problem occurrence (a temporary problem), reported as a Kubernetes Event on the Node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub severity: Severity,
    /// When the problem happened (milliseconds since the Unix epoch, UTC).
    pub timestamp_ms: i64,
    pub reason: String,
    pub message: String,
}

/// The status of a node condition, as Kubernetes spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

/// A node condition (a permanent problem) as a monitor sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// The condition type, e.g. `KernelDeadlock`.
    #[serde(rename = "type")]
    pub condition_type: String,
    pub status: ConditionStatus,
    /// When the status last changed (milliseconds since the Unix epoch, UTC).
    pub transition_ms: i64,
    pub reason: String,
    pub message: String,
}

/// What a monitor reports: new events and the full current set of its conditions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The monitor's `source` (becomes the Event's source component).
    pub source: String,
    /// Events to report, oldest first.
    pub events: Vec<Event>,
    /// Every condition of this monitor, in its config's order.
    pub conditions: Vec<Condition>,
}
