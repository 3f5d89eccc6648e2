//! The eventer's `/metrics` (Prometheus text) and `/healthz`, on kube-eventer's address flags
//! (`--healthz-ip`, `--healthz-port`, default `0.0.0.0:8084`).
//!
//! Metrics, read from the counters at scrape time:
//! - `kec_eventer_events_received_total`, `kec_eventer_unparsable_total`,
//!   `kec_eventer_lists_total`, `kec_eventer_relists_total` (forced), `kec_eventer_watch_restarts_total`,
//!   `kec_eventer_backpressure_waits_total`, `kec_eventer_routed_nowhere_total`,
//!   `kec_eventer_enriched_total`; `kec_eventer_leader` (1 while this replica runs the sources),
//!   `kec_eventer_leader_acquisitions_total`, `kec_eventer_leader_losses_total`;
//! - per sink (`sink`, `kind` labels): `kec_eventer_sink_received_total`, `_delivered_total`,
//!   `_retries_total`, `_dropped_total`, `_rate_limited_total`, `kec_eventer_sink_lag_seconds`
//!   (newest delivered Event's time to its delivery, at the last delivery);
//! - per center sink: `kec_eventer_spool_bytes`, `kec_eventer_spool_batches`;
//! - kube-eventer's own: `eventer_events_normal_total{reason,namespace,kind}` and
//!   `eventer_events_warning_total{reason,kind,name,namespace}`, counting Event observations.
//!   Their series are capped ([`MAX_REASON_SERIES`]); observations past the cap go to one
//!   series whose labels are all `_other`, so memory stays bounded.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use kec_model::EventRecord;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::metrics::SinkStats;
use crate::pipeline::EventerStats;
use crate::spool::Spool;

/// Most label sets of each kube-eventer per-reason counter.
pub const MAX_REASON_SERIES: usize = 10_000;

type Labels = Vec<(&'static str, String)>;

/// (metric name, help, how to read it from a sink's counters)
type SinkCounter = (&'static str, &'static str, fn(&SinkStats) -> u64);

/// kube-eventer's per-reason counters of Event observations.
#[derive(Debug, Default)]
pub struct ReasonCounters {
    normal: Mutex<HashMap<(String, String, String), u64>>,
    warning: Mutex<HashMap<(String, String, String, String), u64>>,
}

fn bump<K: std::hash::Hash + Eq>(map: &Mutex<HashMap<K, u64>>, key: K, other: K) {
    let Ok(mut map) = map.lock() else { return };
    if map.len() < MAX_REASON_SERIES || map.contains_key(&key) {
        *map.entry(key).or_default() += 1;
    } else {
        *map.entry(other).or_default() += 1;
    }
}

impl ReasonCounters {
    /// Counts one observation.
    pub fn count(&self, record: &EventRecord) {
        let other = || "_other".to_string();
        if record.is_warning() {
            bump(
                &self.warning,
                (
                    record.reason.clone(),
                    record.object.kind.clone(),
                    record.object.name.clone(),
                    record.namespace.clone(),
                ),
                (other(), other(), other(), other()),
            );
        } else {
            bump(
                &self.normal,
                (
                    record.reason.clone(),
                    record.namespace.clone(),
                    record.object.kind.clone(),
                ),
                (other(), other(), other()),
            );
        }
    }

    fn normal_series(&self) -> Vec<(Labels, u64)> {
        let Ok(map) = self.normal.lock() else {
            return Vec::new();
        };
        map.iter()
            .map(|((reason, namespace, kind), value)| {
                (
                    vec![
                        ("reason", reason.clone()),
                        ("namespace", namespace.clone()),
                        ("kind", kind.clone()),
                    ],
                    *value,
                )
            })
            .collect()
    }

    fn warning_series(&self) -> Vec<(Labels, u64)> {
        let Ok(map) = self.warning.lock() else {
            return Vec::new();
        };
        map.iter()
            .map(|((reason, kind, name, namespace), value)| {
                (
                    vec![
                        ("reason", reason.clone()),
                        ("kind", kind.clone()),
                        ("name", name.clone()),
                        ("namespace", namespace.clone()),
                    ],
                    *value,
                )
            })
            .collect()
    }
}

/// What `/metrics` reads.
#[derive(Debug, Clone)]
pub struct Telemetry {
    pub stats: Arc<EventerStats>,
    pub sinks: Vec<Arc<SinkStats>>,
    /// (sink name, spool) of the center sinks.
    pub spools: Vec<(String, Arc<Spool>)>,
}

fn counter(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in series {
        let family = metric.encode_family(labels)?;
        ConstCounter::new(*value).encode(family)?;
    }
    Ok(())
}

fn single(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let counter = ConstCounter::new(value);
    let metric = encoder.encode_descriptor(name, help, None, counter.metric_type())?;
    counter.encode(metric)
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: &[(Labels, f64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        let family = metric.encode_family(labels)?;
        ConstGauge::new(*value).encode(family)?;
    }
    Ok(())
}

impl Collector for Telemetry {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = &self.stats;
        let read = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        for (name, help, value) in [
            (
                "kec_eventer_events_received",
                "Event observations read from LIST and WATCH.",
                read(&stats.received),
            ),
            (
                "kec_eventer_unparsable",
                "Objects that could not be read as Events (skipped, logged).",
                read(&stats.unparsable),
            ),
            (
                "kec_eventer_lists",
                "LISTs started (the first and every relist).",
                read(&stats.lists),
            ),
            (
                "kec_eventer_relists",
                "Relists forced by an ERROR frame, an empty 200, a 410 or failed watch starts.",
                read(&stats.forced_relists),
            ),
            (
                "kec_eventer_watch_restarts",
                "Re-watches from the last resourceVersion.",
                read(&stats.watch_restarts),
            ),
            (
                "kec_eventer_backpressure_waits",
                "Times a full durable sink made the source wait.",
                read(&stats.backpressure_waits),
            ),
            (
                "kec_eventer_routed_nowhere",
                "Events no route sent to any sink.",
                read(&stats.routed_nowhere),
            ),
            (
                "kec_eventer_enriched",
                "Events enrichment added something to.",
                read(&stats.enriched),
            ),
            (
                "kec_eventer_leader_acquisitions",
                "Times this replica acquired the leader Lease.",
                read(&stats.leader_acquisitions),
            ),
            (
                "kec_eventer_leader_losses",
                "Times this replica lost the leader Lease (not counting releases on shutdown).",
                read(&stats.leader_losses),
            ),
        ] {
            single(&mut encoder, name, help, value)?;
        }
        gauge(
            &mut encoder,
            "kec_eventer_leader",
            "1 while this replica runs the sources (always, without leader election), else 0.",
            &[(Vec::new(), read(&stats.leader) as f64)],
        )?;
        let per_sink = |pick: fn(&SinkStats) -> u64| -> Vec<(Labels, u64)> {
            self.sinks
                .iter()
                .map(|sink| {
                    (
                        vec![("sink", sink.name.clone()), ("kind", sink.kind.to_string())],
                        pick(sink),
                    )
                })
                .collect()
        };
        let sink_counters: [SinkCounter; 5] = [
            (
                "kec_eventer_sink_received",
                "Events routed to the sink.",
                |sink| sink.received.load(Ordering::Relaxed),
            ),
            (
                "kec_eventer_sink_delivered",
                "Events the sink delivered.",
                |sink| sink.delivered.load(Ordering::Relaxed),
            ),
            (
                "kec_eventer_sink_retries",
                "Failed tries that were retried.",
                |sink| sink.retries.load(Ordering::Relaxed),
            ),
            (
                "kec_eventer_sink_dropped",
                "Events given up on: refused for good, too many tries, or a full queue.",
                |sink| sink.dropped.load(Ordering::Relaxed),
            ),
            (
                "kec_eventer_sink_rate_limited",
                "Events held back by the sink's rate limits.",
                |sink| sink.rate_limited.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, pick) in sink_counters {
            counter(&mut encoder, name, help, &per_sink(pick))?;
        }
        let lags: Vec<(Labels, f64)> = self
            .sinks
            .iter()
            .filter_map(|sink| {
                let lag = sink.last_lag_ms.load(Ordering::Relaxed);
                (lag >= 0).then(|| {
                    (
                        vec![("sink", sink.name.clone()), ("kind", sink.kind.to_string())],
                        lag as f64 / 1000.0,
                    )
                })
            })
            .collect();
        gauge(
            &mut encoder,
            "kec_eventer_sink_lag_seconds",
            "At the last delivery: from the newest delivered Event's last occurrence to its delivery.",
            &lags,
        )?;
        let (mut spool_bytes, mut spool_batches) = (Vec::new(), Vec::new());
        for (name, spool) in &self.spools {
            let labels: Labels = vec![("sink", name.clone())];
            let batches = spool.pending().map_or(0, |pending| pending.len());
            spool_bytes.push((labels.clone(), spool.pending_bytes() as f64));
            spool_batches.push((labels, batches as f64));
        }
        gauge(
            &mut encoder,
            "kec_eventer_spool_bytes",
            "Bytes waiting in a center sink's spool.",
            &spool_bytes,
        )?;
        gauge(
            &mut encoder,
            "kec_eventer_spool_batches",
            "Batches waiting in a center sink's spool.",
            &spool_batches,
        )?;
        counter(
            &mut encoder,
            "eventer_events_normal",
            "Normal Event observations by reason (kube-eventer's counter).",
            &stats.reasons.normal_series(),
        )?;
        counter(
            &mut encoder,
            "eventer_events_warning",
            "Warning Event observations by reason and object (kube-eventer's counter).",
            &stats.reasons.warning_series(),
        )?;
        Ok(())
    }
}

impl Telemetry {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &registry).is_err() {
            text.clear();
        }
        text
    }
}

/// Serves `/metrics` and `/healthz` until cancelled. Returns the bound address through
/// `on_listening` (port 0 picks a free one).
pub async fn serve(
    address: SocketAddr,
    telemetry: Telemetry,
    cancel: CancellationToken,
    on_listening: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    on_listening(listener.local_addr()?);
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(telemetry));
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { cancel.cancelled().await })
        .await
}

async fn metrics(State(telemetry): State<Arc<Telemetry>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        telemetry.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> EventRecord {
        match kec_model::parse_line(json.as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_exposition_has_eventer_sink_and_kube_eventer_series() {
        let stats = Arc::new(EventerStats::default());
        stats.received.store(7, Ordering::Relaxed);
        let warning = record(
            r#"{"metadata":{"name":"a","namespace":"prod"},"type":"Warning","reason":"BackOff",
                "involvedObject":{"kind":"Pod","name":"web-1"}}"#,
        );
        stats.reasons.count(&warning);
        stats.reasons.count(&warning);
        stats.reasons.count(&record(
            r#"{"metadata":{"name":"b","namespace":"prod"},"type":"Normal","reason":"Pulled",
                "involvedObject":{"kind":"Pod","name":"web-1"}}"#,
        ));
        let sink = Arc::new(SinkStats::new("oncall", "dingtalk"));
        sink.delivered.store(3, Ordering::Relaxed);
        sink.last_lag_ms.store(1_500, Ordering::Relaxed);
        let dir = tempfile::tempdir().unwrap();
        let spool = Arc::new(Spool::open(dir.path().join("spool")).unwrap());
        spool.append(b"{}\n").unwrap();
        let text = Telemetry {
            stats,
            sinks: vec![sink],
            spools: vec![("center".to_string(), spool)],
        }
        .render();
        assert!(
            text.contains(r#"kec_eventer_spool_batches{sink="center"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kec_eventer_spool_bytes{sink="center"} 3"#),
            "{text}"
        );
        assert!(
            text.contains("kec_eventer_events_received_total 7\n"),
            "{text}"
        );
        assert!(
            text.contains(r#"kec_eventer_sink_delivered_total{sink="oncall",kind="dingtalk"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"kec_eventer_sink_lag_seconds{sink="oncall",kind="dingtalk"} 1.5"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"eventer_events_warning_total{reason="BackOff",kind="Pod",name="web-1",namespace="prod"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"eventer_events_normal_total{reason="Pulled",namespace="prod",kind="Pod"} 1"#
            ),
            "{text}"
        );
    }

    #[test]
    fn reason_series_are_capped() {
        let counters = ReasonCounters::default();
        for index in 0..MAX_REASON_SERIES + 5 {
            counters.count(&record(&format!(
                r#"{{"metadata":{{"name":"e","namespace":"n"}},"type":"Normal","reason":"R{index}"}}"#
            )));
        }
        let series = counters.normal_series();
        assert_eq!(series.len(), MAX_REASON_SERIES + 1);
        let other = series
            .iter()
            .find(|(labels, _)| labels[0].1 == "_other")
            .map(|(_, value)| *value);
        assert_eq!(other, Some(5));
    }
}
