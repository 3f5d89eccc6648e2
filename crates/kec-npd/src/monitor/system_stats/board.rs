//! [`StatsBoard`]: the latest samples of every running system stats monitor, which the
//! Prometheus endpoint reads at scrape time (kec-npd-export registers it as a collector).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A sample's value: NPD's Int64 metrics print as integers, its Float64 metrics as floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleValue {
    Int(i64),
    Float(f64),
}

/// One exported time series value, named as NPD's Prometheus exporter names it.
#[derive(Debug, Clone, PartialEq)]
pub struct StatSample {
    /// The Prometheus name: the metric's `displayName` with every character outside
    /// `[A-Za-z0-9_]` replaced by `_` (OpenCensus' sanitizing), e.g. `disk_io_time`.
    pub name: String,
    /// NPD's description of the metric.
    pub help: &'static str,
    /// Label names and values, in NPD's tag order.
    pub labels: Vec<(&'static str, String)>,
    pub value: SampleValue,
}

/// NPD's metric name for a display name: OpenCensus replaces every character that is not a
/// letter, digit or `_` with `_`, and prefixes `key_` to a name that starts with a digit.
pub fn prometheus_name(display_name: &str) -> String {
    let sanitized: String = display_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if sanitized.starts_with(|c: char| c.is_ascii_digit()) {
        format!("key_{sanitized}")
    } else {
        sanitized
    }
}

/// Shared between the monitors (writers) and the metrics endpoint (reader). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct StatsBoard {
    next_id: Arc<AtomicU64>,
    samples_by_monitor: Arc<Mutex<BTreeMap<u64, Vec<StatSample>>>>,
}

impl StatsBoard {
    /// A new, empty board.
    pub fn new() -> StatsBoard {
        StatsBoard::default()
    }

    /// An id for one monitor's samples.
    pub fn register(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Vec<StatSample>>> {
        self.samples_by_monitor
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Replaces the samples of monitor `id`.
    pub fn publish(&self, id: u64, samples: Vec<StatSample>) {
        self.lock().insert(id, samples);
    }

    /// Drops the samples of monitor `id` (it stopped).
    pub fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Every sample, sorted by name (then labels) so that a name's series are together; a
    /// series two monitors both report is kept once.
    pub fn snapshot(&self) -> Vec<StatSample> {
        let mut samples: Vec<StatSample> = self.lock().values().flatten().cloned().collect();
        samples.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.labels.cmp(&b.labels)));
        samples.dedup_by(|a, b| a.name == b.name && a.labels == b.labels);
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_as_opencensus_does() {
        assert_eq!(prometheus_name("disk/io_time"), "disk_io_time");
        assert_eq!(prometheus_name("cpu/load-1m"), "cpu_load_1m");
        assert_eq!(prometheus_name("1m/load"), "key_1m_load");
    }

    #[test]
    fn snapshot_groups_by_name_and_drops_a_stopped_monitor() {
        let board = StatsBoard::new();
        let first = board.register();
        let second = board.register();
        assert_ne!(first, second);
        let sample = |name: &str, value| StatSample {
            name: name.to_string(),
            help: "",
            labels: vec![("state", "used".to_string())],
            value: SampleValue::Int(value),
        };
        board.publish(
            first,
            vec![sample("memory_bytes_used", 1), sample("host_uptime", 2)],
        );
        board.publish(
            second,
            vec![sample("memory_bytes_used", 1), sample("disk_io_time", 3)],
        );
        let names: Vec<String> = board.snapshot().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["disk_io_time", "host_uptime", "memory_bytes_used"]);
        board.remove(second);
        let names: Vec<String> = board.snapshot().into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["host_uptime", "memory_bytes_used"]);
    }
}
