//! [`NpdMetrics`]: NPD's problem metrics (`problem_counter{reason}`,
//! `problem_gauge{type,reason}`) and the agent's own, in one Prometheus registry.
//!
//! `problem_counter` keeps NPD's exact name. prometheus-client would append `_total` to a
//! counter, so it is exposed with the gauge type; it only ever grows.
//!
//! The system stats monitors' samples (`disk_io_time`, `memory_bytes_used`, ...) are read
//! from their [`StatsBoard`] at every scrape by [`SystemStatsExport`]. NPD's cumulative ones
//! keep their names without `_total` the same way, as gauges.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use kec_npd::monitor::system_stats::{SampleValue, StatsBoard};
use kec_npd::types::{ConditionStatus, Status};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// NPD's count of problems detected, by reason.
pub const PROBLEM_COUNTER: &str = "problem_counter";
/// NPD's 1/0 gauge of each condition type and reason.
pub const PROBLEM_GAUGE: &str = "problem_gauge";
/// Node status PATCHes that succeeded (`kec_npd_node_status_patches_total`).
pub const NODE_STATUS_PATCHES: &str = "kec_npd_node_status_patches";
/// Node status PATCHes that failed.
pub const NODE_STATUS_PATCH_FAILURES: &str = "kec_npd_node_status_patch_failures";
/// Events written, by `action` (`created`, `patched`, `recreated`).
pub const EVENTS_WRITTEN: &str = "kec_npd_events_written";
/// Event writes given up, by `cause` (`rejected`, `retries_exhausted`, `spam_filter`, `queue_full`).
pub const EVENTS_DROPPED: &str = "kec_npd_events_dropped";
/// Monitor restarts, by `source`.
pub const MONITOR_RESTARTS: &str = "kec_npd_monitor_restarts";
/// Status reports received from monitors, by `source`.
pub const STATUS_REPORTS: &str = "kec_npd_status_reports";

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeReasonLabels {
    r#type: String,
    reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabels {
    cause: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: String,
}

/// How an Event write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Created,
    Patched,
    /// The PATCH got 404 and the same name was POSTed again.
    Recreated,
}

/// Why an Event was not written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDropCause {
    /// The API server refused it (a 4xx other than 429).
    Rejected,
    /// Every retry failed.
    RetriesExhausted,
    /// client-go's spam filter held it back.
    SpamFilter,
    /// The sender's queue was full.
    QueueFull,
}

impl EventDropCause {
    fn label(self) -> &'static str {
        match self {
            EventDropCause::Rejected => "rejected",
            EventDropCause::RetriesExhausted => "retries_exhausted",
            EventDropCause::SpamFilter => "spam_filter",
            EventDropCause::QueueFull => "queue_full",
        }
    }
}

/// Serves the system stats monitors' latest samples (see the module documentation).
#[derive(Debug)]
pub struct SystemStatsExport {
    board: StatsBoard,
}

impl Collector for SystemStatsExport {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let samples = self.board.snapshot();
        // The snapshot is sorted by name: one descriptor per name, then its series.
        for series in samples.chunk_by(|a, b| a.name == b.name) {
            let Some(first) = series.first() else {
                continue;
            };
            let mut metric_encoder = encoder.encode_descriptor(
                &first.name,
                first.help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for sample in series {
                let labels: Vec<(&str, &str)> = sample
                    .labels
                    .iter()
                    .map(|(key, value)| (*key, value.as_str()))
                    .collect();
                let mut family_encoder = metric_encoder.encode_family(&labels)?;
                match sample.value {
                    SampleValue::Int(value) => family_encoder.encode_gauge(&value)?,
                    SampleValue::Float(value) => family_encoder.encode_gauge(&value)?,
                }
            }
        }
        Ok(())
    }
}

/// Every metric of the agent. Cheap to clone (shared handles).
#[derive(Debug, Clone)]
pub struct NpdMetrics {
    registry: Arc<Registry>,
    problem_counter: Family<ReasonLabels, Gauge<u64, AtomicU64>>,
    problem_gauge: Family<TypeReasonLabels, Gauge>,
    node_status_patches: Counter,
    node_status_patch_failures: Counter,
    events_written: Family<ActionLabels, Counter>,
    events_dropped: Family<CauseLabels, Counter>,
    monitor_restarts: Family<SourceLabels, Counter>,
    status_reports: Family<SourceLabels, Counter>,
    last_reason_by_type: Arc<Mutex<HashMap<String, String>>>,
}

impl Default for NpdMetrics {
    fn default() -> NpdMetrics {
        NpdMetrics::new()
    }
}

impl NpdMetrics {
    /// The agent's metrics, with system stats from a board no monitor writes to.
    pub fn new() -> NpdMetrics {
        NpdMetrics::with_stats_board(StatsBoard::new())
    }

    /// The agent's metrics, serving the system stats monitors publish on `stats_board`
    /// (the board of their [`MonitorOptions`](kec_npd::MonitorOptions)).
    pub fn with_stats_board(stats_board: StatsBoard) -> NpdMetrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SystemStatsExport { board: stats_board }));
        let problem_counter = Family::<ReasonLabels, Gauge<u64, AtomicU64>>::default();
        registry.register(
            PROBLEM_COUNTER,
            "Number of times a specific type of problem have occurred",
            problem_counter.clone(),
        );
        let problem_gauge = Family::<TypeReasonLabels, Gauge>::default();
        registry.register(
            PROBLEM_GAUGE,
            "Whether a specific type of problem is affecting the node or not",
            problem_gauge.clone(),
        );
        let node_status_patches = Counter::default();
        registry.register(
            NODE_STATUS_PATCHES,
            "Node status patches the API server accepted",
            node_status_patches.clone(),
        );
        let node_status_patch_failures = Counter::default();
        registry.register(
            NODE_STATUS_PATCH_FAILURES,
            "Node status patches that failed (retried later)",
            node_status_patch_failures.clone(),
        );
        let events_written = Family::<ActionLabels, Counter>::default();
        registry.register(
            EVENTS_WRITTEN,
            "Events written to the API server, by action",
            events_written.clone(),
        );
        let events_dropped = Family::<CauseLabels, Counter>::default();
        registry.register(
            EVENTS_DROPPED,
            "Event writes given up, by cause",
            events_dropped.clone(),
        );
        let monitor_restarts = Family::<SourceLabels, Counter>::default();
        registry.register(
            MONITOR_RESTARTS,
            "Monitor restarts, by source",
            monitor_restarts.clone(),
        );
        let status_reports = Family::<SourceLabels, Counter>::default();
        registry.register(
            STATUS_REPORTS,
            "Status reports received from monitors, by source",
            status_reports.clone(),
        );
        NpdMetrics {
            registry: Arc::new(registry),
            problem_counter,
            problem_gauge,
            node_status_patches,
            node_status_patch_failures,
            events_written,
            events_dropped,
            monitor_restarts,
            status_reports,
            last_reason_by_type: Arc::default(),
        }
    }

    /// Updates the problem metrics from a monitor's report, as NPD's monitors do: each event
    /// counts as a problem except a condition going back to normal (an event whose reason is
    /// that of a condition in the report that is not `True`); each condition sets its
    /// (type, reason) gauge.
    pub fn observe_status(&self, status: &Status) {
        self.status_reports
            .get_or_create(&SourceLabels {
                source: status.source.clone(),
            })
            .inc();
        for event in &status.events {
            let recovery = status.conditions.iter().any(|condition| {
                condition.reason == event.reason && condition.status != ConditionStatus::True
            });
            if !recovery {
                self.problem_counter
                    .get_or_create(&ReasonLabels {
                        reason: event.reason.clone(),
                    })
                    .inc();
            }
        }
        let mut last_reasons = self
            .last_reason_by_type
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for condition in &status.conditions {
            // At most one reason per type is 1 (NPD clears the previous reason first).
            if let Some(last_reason) = last_reasons.get(&condition.condition_type)
                && *last_reason != condition.reason
            {
                self.problem_gauge
                    .get_or_create(&TypeReasonLabels {
                        r#type: condition.condition_type.clone(),
                        reason: last_reason.clone(),
                    })
                    .set(0);
            }
            last_reasons.insert(condition.condition_type.clone(), condition.reason.clone());
            let value = i64::from(condition.status == ConditionStatus::True);
            self.problem_gauge
                .get_or_create(&TypeReasonLabels {
                    r#type: condition.condition_type.clone(),
                    reason: condition.reason.clone(),
                })
                .set(value);
        }
    }

    /// Makes `problem_counter{reason}` and `problem_gauge{type,reason}` exist at 0, as NPD
    /// does for every rule at start.
    pub fn declare_problem(&self, condition_type: Option<&str>, reason: &str) {
        drop(self.problem_counter.get_or_create(&ReasonLabels {
            reason: reason.to_string(),
        }));
        if let Some(condition_type) = condition_type {
            drop(self.problem_gauge.get_or_create(&TypeReasonLabels {
                r#type: condition_type.to_string(),
                reason: reason.to_string(),
            }));
        }
    }

    pub fn node_status_patched(&self) {
        self.node_status_patches.inc();
    }

    pub fn node_status_patch_failed(&self) {
        self.node_status_patch_failures.inc();
    }

    pub fn event_written(&self, outcome: EventOutcome) {
        let action = match outcome {
            EventOutcome::Created => "created",
            EventOutcome::Patched => "patched",
            EventOutcome::Recreated => "recreated",
        };
        self.events_written
            .get_or_create(&ActionLabels {
                action: action.to_string(),
            })
            .inc();
    }

    pub fn event_dropped(&self, cause: EventDropCause) {
        self.events_dropped
            .get_or_create(&CauseLabels {
                cause: cause.label().to_string(),
            })
            .inc();
    }

    pub fn monitor_restarted(&self, source: &str) {
        self.monitor_restarts
            .get_or_create(&SourceLabels {
                source: source.to_string(),
            })
            .inc();
    }

    /// The registry in the OpenMetrics text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use kec_npd::types::{Condition, Event, Severity};

    use super::*;

    #[test]
    fn problem_metrics_follow_npd() {
        let metrics = NpdMetrics::new();
        metrics.declare_problem(Some("KernelDeadlock"), "DockerHung");
        metrics.declare_problem(None, "OOMKilling");
        let status = Status {
            source: "kernel-monitor".into(),
            events: vec![
                Event {
                    severity: Severity::Warn,
                    timestamp_ms: 0,
                    reason: "OOMKilling".into(),
                    message: "Killed process 1".into(),
                },
                Event {
                    severity: Severity::Info,
                    timestamp_ms: 0,
                    reason: "DockerHung".into(),
                    message: "task docker blocked".into(),
                },
            ],
            conditions: vec![Condition {
                condition_type: "KernelDeadlock".into(),
                status: ConditionStatus::True,
                transition_ms: 0,
                reason: "DockerHung".into(),
                message: "task docker blocked".into(),
            }],
        };
        metrics.observe_status(&status);
        metrics.event_dropped(EventDropCause::SpamFilter);
        let text = metrics.encode();
        assert!(
            text.contains("problem_counter{reason=\"OOMKilling\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("problem_counter{reason=\"DockerHung\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("problem_gauge{type=\"KernelDeadlock\",reason=\"DockerHung\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("kec_npd_events_dropped_total{cause=\"spam_filter\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("kec_npd_status_reports_total{source=\"kernel-monitor\"} 1\n"));
    }

    #[test]
    fn system_stats_are_served_with_npd_s_names_and_labels() {
        let board = StatsBoard::new();
        let metrics = NpdMetrics::with_stats_board(board.clone());
        let id = board.register();
        let sample = |name: &str, labels: Vec<(&'static str, String)>, value| {
            kec_npd::monitor::system_stats::StatSample {
                name: name.to_string(),
                help: "The IO time spent on the disk, in ms",
                labels,
                value,
            }
        };
        board.publish(
            id,
            vec![
                sample(
                    "disk_io_time",
                    vec![("device_name", "sdb".into())],
                    SampleValue::Int(7),
                ),
                sample("host_uptime", vec![], SampleValue::Int(81)),
                sample(
                    "disk_io_time",
                    vec![("device_name", "sda".into())],
                    SampleValue::Int(40),
                ),
                sample("cpu_load_1m", vec![], SampleValue::Float(0.5)),
            ],
        );
        let text = metrics.encode();
        assert_eq!(
            text.matches("# TYPE disk_io_time gauge\n").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains("disk_io_time{device_name=\"sda\"} 40\n"),
            "{text}"
        );
        assert!(
            text.contains("disk_io_time{device_name=\"sdb\"} 7\n"),
            "{text}"
        );
        assert!(text.contains("host_uptime 81\n"), "{text}");
        assert!(text.contains("cpu_load_1m 0.5\n"), "{text}");
        board.remove(id);
        assert!(!metrics.encode().contains("disk_io_time"));
    }

    #[test]
    fn a_recovery_event_is_not_a_problem() {
        let metrics = NpdMetrics::new();
        metrics.observe_status(&Status {
            source: "ntp".into(),
            events: vec![Event {
                severity: Severity::Info,
                timestamp_ms: 0,
                reason: "NTPIsUp".into(),
                message: "ntp is up".into(),
            }],
            conditions: vec![Condition {
                condition_type: "NTPProblem".into(),
                status: ConditionStatus::False,
                transition_ms: 0,
                reason: "NTPIsUp".into(),
                message: "ntp is up".into(),
            }],
        });
        let text = metrics.encode();
        assert!(
            !text.contains("problem_counter{reason=\"NTPIsUp\"}"),
            "{text}"
        );
        assert!(text.contains("problem_gauge{type=\"NTPProblem\",reason=\"NTPIsUp\"} 0\n"));
    }

    #[test]
    fn a_new_reason_clears_the_previous_reason_of_its_type() {
        let metrics = NpdMetrics::new();
        let report = |reason: &str| Status {
            source: "kernel-monitor".into(),
            events: Vec::new(),
            conditions: vec![Condition {
                condition_type: "KernelDeadlock".into(),
                status: ConditionStatus::True,
                transition_ms: 0,
                reason: reason.into(),
                message: String::new(),
            }],
        };
        metrics.observe_status(&report("DockerHung"));
        metrics.observe_status(&report("AUFSUmountHung"));
        let text = metrics.encode();
        assert!(text.contains("problem_gauge{type=\"KernelDeadlock\",reason=\"DockerHung\"} 0\n"));
        assert!(
            text.contains("problem_gauge{type=\"KernelDeadlock\",reason=\"AUFSUmountHung\"} 1\n")
        );
    }
}
