//! Prometheus metrics of the center. Metric names are constants; every series is registered
//! once here and updated by typed methods, so a reader finds all of them in one file.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub const INGEST_LINES: &str = "kec_ingest_lines";
pub const INGEST_OCCURRENCES: &str = "kec_ingest_occurrences";
pub const INGEST_REQUESTS: &str = "kec_ingest_requests";
pub const INGEST_DURATION: &str = "kec_ingest_duration_seconds";
pub const QUERY_DURATION: &str = "kec_query_duration_seconds";
pub const STORE_RECORDS: &str = "kec_store_records";
pub const STORE_BYTES: &str = "kec_store_bytes";
pub const STORE_PARTITIONS: &str = "kec_store_partitions";
pub const STORE_WAL_BYTES: &str = "kec_store_wal_bytes";
pub const STORE_COMMIT_ERRORS: &str = "kec_store_commit_errors";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    /// accepted | duplicate | rejected | ignored
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EndpointLabel {
    pub endpoint: &'static str,
}

/// Every metric of the center.
pub struct Metrics {
    registry: Registry,
    ingest_lines: Family<ResultLabel, Counter>,
    ingest_occurrences: Counter,
    ingest_requests: Family<StatusLabel, Counter>,
    ingest_duration: Histogram,
    query_duration: Family<EndpointLabel, Histogram>,
    store_records: Gauge<i64>,
    store_bytes: Gauge<i64>,
    store_partitions: Gauge<i64>,
    store_wal_bytes: Gauge<i64>,
    commit_errors: Counter<u64, AtomicU64>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. ~16 s
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let ingest_lines = Family::<ResultLabel, Counter>::default();
        registry.register(
            INGEST_LINES,
            "Ingested lines by result: accepted (stored), duplicate (added no occurrence), \
             rejected (invalid), ignored (DELETED/BOOKMARK frames)",
            ingest_lines.clone(),
        );
        let ingest_occurrences = Counter::default();
        registry.register(
            INGEST_OCCURRENCES,
            "Occurrences added by ingested events",
            ingest_occurrences.clone(),
        );
        let ingest_requests = Family::<StatusLabel, Counter>::default();
        registry.register(
            INGEST_REQUESTS,
            "Ingest requests by HTTP status",
            ingest_requests.clone(),
        );
        let ingest_duration = latency_histogram();
        registry.register(
            INGEST_DURATION,
            "Time to make an ingest batch durable",
            ingest_duration.clone(),
        );
        let query_duration = Family::<EndpointLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            QUERY_DURATION,
            "Query latency by endpoint",
            query_duration.clone(),
        );
        let store_records = Gauge::default();
        registry.register(
            STORE_RECORDS,
            "Event records in the store",
            store_records.clone(),
        );
        let store_bytes = Gauge::default();
        registry.register(
            STORE_BYTES,
            "Bytes the store uses on disk",
            store_bytes.clone(),
        );
        let store_partitions = Gauge::default();
        registry.register(
            STORE_PARTITIONS,
            "Day partitions in the store",
            store_partitions.clone(),
        );
        let store_wal_bytes = Gauge::default();
        registry.register(
            STORE_WAL_BYTES,
            "Bytes in the write-ahead log not yet committed",
            store_wal_bytes.clone(),
        );
        let commit_errors = Counter::default();
        registry.register(
            STORE_COMMIT_ERRORS,
            "Failed background commits of the index",
            commit_errors.clone(),
        );
        Metrics {
            registry,
            ingest_lines,
            ingest_occurrences,
            ingest_requests,
            ingest_duration,
            query_duration,
            store_records,
            store_bytes,
            store_partitions,
            store_wal_bytes,
            commit_errors,
        }
    }

    pub fn ingest_lines(&self, result: &'static str, lines: u64) {
        self.ingest_lines
            .get_or_create(&ResultLabel { result })
            .inc_by(lines);
    }

    pub fn ingest_occurrences(&self, occurrences: i64) {
        self.ingest_occurrences.inc_by(occurrences.max(0) as u64);
    }

    pub fn ingest_request(&self, status: u16, elapsed: Option<Duration>) {
        self.ingest_requests
            .get_or_create(&StatusLabel { status })
            .inc();
        if let Some(elapsed) = elapsed {
            self.ingest_duration.observe(elapsed.as_secs_f64());
        }
    }

    pub fn observe_query(&self, endpoint: &'static str, elapsed: Duration) {
        self.query_duration
            .get_or_create(&EndpointLabel { endpoint })
            .observe(elapsed.as_secs_f64());
    }

    pub fn commit_failed(&self) {
        self.commit_errors.inc();
    }

    pub fn set_store_stats(&self, stats: &kec_store::StoreStats) {
        self.store_records.set(stats.records as i64);
        self.store_bytes.set(stats.bytes_on_disk as i64);
        self.store_partitions.set(stats.partitions as i64);
        self.store_wal_bytes.set(stats.wal_bytes as i64);
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
