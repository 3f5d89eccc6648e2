//! [`Eventer`]: the running eventer. Tasks, in shutdown order: sources (one per namespace, or
//! one cluster-wide) -> the fan-out (one bounded channel in, one bounded channel per sink out)
//! -> sinks. Shutdown stops the sources, lets the fan-out and the batchers drain into the
//! spools, gives the senders `flush_timeout_ms` to deliver, then stops them; what is left stays
//! spooled for the next start.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kec_model::EventRecord;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::EventerConfig;
use crate::enrich::Enricher;
use crate::metrics::SinkStats;
use crate::routing::{Context, Route, RouteConfig};
use crate::sinks::SinkConfig;
use crate::sinks::http::{self, HttpSink, QueueSender};
use crate::source::Sources;
use crate::spool::Spool;
use crate::state::{EventerState, STATE_FILE_NAME, SpoolIdentity};
use crate::telemetry::{ReasonCounters, Telemetry};

/// The cluster name records carry inside the eventer (sinks carry their own).
const INTERNAL_CLUSTER: &str = "eventer";

/// Counters of the running eventer (the future `/metrics`).
#[derive(Debug, Default)]
pub struct EventerStats {
    /// Event observations read from LIST and WATCH.
    pub received: AtomicU64,
    /// Objects that could not be read as Events (skipped, logged).
    pub unparsable: AtomicU64,
    /// LISTs started (the first one and every relist).
    pub lists: AtomicU64,
    /// Relists forced by an ERROR frame, an empty 200, a 410 or repeated watch start failures.
    pub forced_relists: AtomicU64,
    /// Re-watches from the last resourceVersion (timeouts, drops).
    pub watch_restarts: AtomicU64,
    /// Records enrichment added something to.
    pub enriched: AtomicU64,
    /// Records no route sent anywhere.
    pub routed_nowhere: AtomicU64,
    /// Times a full sink channel made the fan-out (and so the source) wait.
    pub backpressure_waits: AtomicU64,
    /// Times a full spool made a center batcher wait.
    pub spool_full_waits: AtomicU64,
    pub batches_spooled: AtomicU64,
    pub batches_delivered: AtomicU64,
    /// Events delivered by all sinks.
    pub events_delivered: AtomicU64,
    /// Failed delivery attempts that will be retried.
    pub delivery_retries: AtomicU64,
    /// Batches refused for good (moved to `rejected/`).
    pub batches_rejected: AtomicU64,
    /// Lines of acknowledged batches that the center refused.
    pub lines_rejected_by_center: AtomicU64,
    /// kube-eventer's per-reason counters.
    pub reasons: ReasonCounters,
    /// 1 while this replica runs the sources (always, without leader election), else 0.
    pub leader: AtomicU64,
    /// Times this replica acquired the leader Lease.
    pub leader_acquisitions: AtomicU64,
    /// Times this replica lost the leader Lease (not counting releases on shutdown).
    pub leader_losses: AtomicU64,
}

impl EventerStats {
    /// Reads one counter.
    pub fn value(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// See the module documentation.
pub struct Eventer {
    stats: Arc<EventerStats>,
    sink_stats: Vec<Arc<SinkStats>>,
    source_cancel: CancellationToken,
    sink_cancel: CancellationToken,
    source_tasks: Vec<JoinHandle<()>>,
    fanout_task: JoinHandle<()>,
    /// Tasks that end once their input channel closes (batchers, stdout).
    draining_tasks: Vec<JoinHandle<()>>,
    /// Center senders: end when their spool is empty and their batcher is done.
    sender_tasks: Vec<JoinHandle<()>>,
    /// (sink name, spool) for telemetry.
    named_spools: Vec<(String, Arc<Spool>)>,
    flush_timeout: Duration,
    /// Cancelled when a sink stops on its own: the eventer can no longer deliver everything.
    failed: CancellationToken,
}

impl std::fmt::Debug for Eventer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Eventer")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Eventer {
    /// Starts everything (the config must be valid: see [`EventerConfig::validate`]).
    pub(crate) async fn start(config: EventerConfig, client: kube::Client) -> Result<Eventer> {
        // Webhook bodies kept in ConfigMaps are read once, before anything runs.
        let config = crate::sinks::webhook::load_body_templates(config, &client).await?;
        // So are the AccessKeys of Alibaba Cloud sinks kept in Secrets.
        let config = crate::sinks::alibaba::load_secret_refs(config, &client).await?;
        let stats = Arc::new(EventerStats::default());
        let source_cancel = CancellationToken::new();
        let sink_cancel = CancellationToken::new();

        std::fs::create_dir_all(&config.state_dir).map_err(|source| crate::Error::Spool {
            path: config.state_dir.clone(),
            source,
        })?;
        let state_path = config.state_dir.join(STATE_FILE_NAME);
        let mut state = EventerState::load(&state_path)?;

        let sink_names: Vec<String> = config.sinks.keys().cloned().collect();
        let route = match &config.route {
            Some(route) => Route::compile(route, "route", &config.sinks.keys().cloned().collect()),
            None => Route::compile(
                &RouteConfig::everything_to(sink_names.iter().cloned()),
                "route",
                &config.sinks.keys().cloned().collect(),
            ),
        }
        .map_err(crate::Error::InvalidConfig)?;
        // Cancelled when a sink stops on its own (see `Eventer::failed`).
        let failed = CancellationToken::new();
        let mut outputs = Vec::new();
        let mut sink_stats = Vec::new();
        let mut draining_tasks = Vec::new();
        let mut sender_tasks = Vec::new();
        let mut named_spools = Vec::new();
        for (name, sink) in &config.sinks {
            let stats_of_sink = Arc::new(SinkStats::new(name, sink.kind()));
            sink_stats.push(stats_of_sink.clone());
            if let Some(http) = sink.http() {
                let (queue, queue_rx) = http::queue(http.delivery());
                let running = HttpSink {
                    format: http.format()?,
                    delivery: *http.delivery(),
                    rate_limit: *http.rate_limit(),
                    stats: stats_of_sink.clone(),
                    client: http::client(Duration::from_millis(http.delivery().timeout_ms))?,
                    cancel: sink_cancel.clone(),
                };
                sender_tasks.push(tokio::spawn(running.run(queue_rx)));
                outputs.push(SinkOutput::Queue(queue, stats_of_sink));
                continue;
            }
            let (sink_tx, sink_rx) = mpsc::channel(config.channel_capacity);
            outputs.push(SinkOutput::Wait(sink_tx, stats_of_sink.clone()));
            match sink {
                SinkConfig::Center(center) => {
                    let spool = Arc::new(Spool::open(config.state_dir.join(center.spool_name()))?);
                    let identity = SpoolIdentity {
                        cluster: center.cluster.clone(),
                        endpoint: center.endpoint.clone(),
                    };
                    let has_batches = !spool.pending()?.is_empty();
                    state
                        .claim_spool(&center.spool_name(), identity, has_batches)
                        .map_err(|reason| crate::Error::State {
                            path: state_path.clone(),
                            reason,
                        })?;
                    let tasks = center.start(
                        spool.clone(),
                        sink_rx,
                        stats.clone(),
                        stats_of_sink.clone(),
                        sink_cancel.clone(),
                        failed.clone(),
                    )?;
                    draining_tasks.push(tasks.batcher);
                    sender_tasks.push(tasks.sender);
                    named_spools.push((name.clone(), spool));
                }
                SinkConfig::Stdout(stdout) => {
                    draining_tasks.push(tokio::spawn(stdout.clone().run(
                        sink_rx,
                        stats.clone(),
                        stats_of_sink.clone(),
                    )));
                }
                SinkConfig::File(file) => {
                    let (file, stats, sink_stats) =
                        (file.clone(), stats.clone(), stats_of_sink.clone());
                    draining_tasks.push(tokio::task::spawn_blocking(move || {
                        file.run(sink_rx, stats, sink_stats)
                    }));
                }
                // HTTP sinks were started above.
                _ => {}
            }
        }
        state.save(&state_path)?;

        let (events_tx, events_rx) = mpsc::channel(config.channel_capacity);
        let enricher = config
            .enrichment
            .enabled
            .then(|| Arc::new(Enricher::new(&config.enrichment)));
        let enrich_tasks = enricher.as_ref().map_or_else(Vec::new, |enricher| {
            enricher.start(&client, &config.source.namespaces, &source_cancel)
        });
        let fan_out = FanOut {
            route,
            outputs,
            stats: stats.clone(),
            enricher,
        };
        let fanout_task = tokio::spawn({
            let failed = failed.clone();
            async move {
                if fan_out.run(events_rx).await.is_err() {
                    failed.cancel();
                }
            }
        });

        let sources = Sources {
            config: config.source.clone(),
            client,
            cluster: INTERNAL_CLUSTER.to_string(),
            events_tx,
            stats: stats.clone(),
        };
        let mut source_tasks =
            crate::leader::spawn_sources(sources, &config.leader_election, &source_cancel);
        source_tasks.extend(enrich_tasks);

        Ok(Eventer {
            stats,
            sink_stats,
            source_cancel,
            sink_cancel,
            source_tasks,
            fanout_task,
            draining_tasks,
            sender_tasks,
            named_spools,
            flush_timeout: Duration::from_millis(config.flush_timeout_ms),
            failed,
        })
    }

    /// Resolves when a sink has stopped on its own (for example stdout closed): its events can
    /// no longer be delivered, so the process should stop with an error and be restarted; the
    /// relist on start brings back what it missed while the API server still holds it.
    pub async fn failed(&self) {
        self.failed.cancelled().await;
    }

    pub fn stats(&self) -> Arc<EventerStats> {
        self.stats.clone()
    }

    /// What `/metrics` shows (see [`crate::telemetry`]).
    pub fn telemetry(&self) -> Telemetry {
        Telemetry {
            stats: self.stats.clone(),
            sinks: self.sink_stats.clone(),
            spools: self.named_spools.clone(),
        }
    }

    /// Each sink's counters, in the order of their names.
    pub fn sink_stats(&self) -> Vec<Arc<SinkStats>> {
        self.sink_stats.clone()
    }

    /// The spool directories of the center sinks.
    pub fn spool_dirs(&self) -> Vec<PathBuf> {
        self.named_spools
            .iter()
            .map(|(_, spool)| spool.dir().to_path_buf())
            .collect()
    }

    /// Ordered shutdown (see the module documentation).
    pub async fn shutdown(self) {
        self.source_cancel.cancel();
        for task in self.source_tasks {
            let _ = task.await;
        }
        let _ = self.fanout_task.await;
        for task in self.draining_tasks {
            let _ = task.await;
        }
        let mut senders = self.sender_tasks;
        let flushed = tokio::time::timeout(self.flush_timeout, async {
            for task in &mut senders {
                let _ = task.await;
            }
        })
        .await;
        if flushed.is_err() {
            tracing::warn!("sinks did not deliver everything in time; the rest stays spooled");
            self.sink_cancel.cancel();
            for task in senders {
                let _ = task.await;
            }
        }
    }

    /// Stops every task where it is, flushing nothing: what kill -9 does, for tests.
    pub async fn abort(self) {
        let tasks = self
            .source_tasks
            .into_iter()
            .chain([self.fanout_task])
            .chain(self.draining_tasks)
            .chain(self.sender_tasks);
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
    }
}

/// A sink stopped taking events.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SinkStopped;

/// Where the fan-out puts a record for one sink.
enum SinkOutput {
    /// A durable sink: wait while its channel is full (backpressure reaches the source).
    Wait(mpsc::Sender<Arc<EventRecord>>, Arc<SinkStats>),
    /// An HTTP sink: never wait; a full queue drops the record (counted).
    Queue(QueueSender, Arc<SinkStats>),
}

/// The routing stage: decides each record's sinks and hands it to them, in order.
struct FanOut {
    route: Route,
    outputs: Vec<SinkOutput>,
    stats: Arc<EventerStats>,
    enricher: Option<Arc<Enricher>>,
}

impl FanOut {
    /// Runs until the source channel closes. A sink that stopped is an error: fan-out ends so
    /// the eventer fails loudly instead of going on without it.
    async fn run(
        self,
        mut events_rx: mpsc::Receiver<Arc<EventRecord>>,
    ) -> std::result::Result<(), SinkStopped> {
        let mut targets = vec![false; self.outputs.len()];
        while let Some(mut record) = events_rx.recv().await {
            self.stats.reasons.count(&record);
            let mut context = Context::default();
            if let Some(enricher) = &self.enricher {
                let (enriched, labels) = enricher.enrich(&record);
                if let Some(enriched) = enriched {
                    record = Arc::new(enriched);
                    self.stats.enriched.fetch_add(1, Ordering::Relaxed);
                }
                context.labels = labels;
            }
            targets.fill(false);
            self.route.route(&record, &context, &mut targets);
            if !targets.contains(&true) {
                self.stats.routed_nowhere.fetch_add(1, Ordering::Relaxed);
            }
            for (output, _) in self
                .outputs
                .iter()
                .zip(&targets)
                .filter(|(_, target)| **target)
            {
                match output {
                    SinkOutput::Wait(sink_tx, sink_stats) => {
                        sink_stats.received.fetch_add(1, Ordering::Relaxed);
                        match sink_tx.try_send(record.clone()) {
                            Ok(()) => {}
                            Err(mpsc::error::TrySendError::Full(record)) => {
                                self.stats
                                    .backpressure_waits
                                    .fetch_add(1, Ordering::Relaxed);
                                if sink_tx.send(record).await.is_err() {
                                    return Err(stopped(sink_stats));
                                }
                            }
                            Err(mpsc::error::TrySendError::Closed(_)) => {
                                return Err(stopped(sink_stats));
                            }
                        }
                    }
                    SinkOutput::Queue(queue, sink_stats) => {
                        sink_stats.received.fetch_add(1, Ordering::Relaxed);
                        match queue.offer(record.clone()) {
                            Ok(true) => {}
                            Ok(false) => {
                                sink_stats.dropped.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(sink = %sink_stats.name, "sink queue full; event dropped");
                            }
                            Err(()) => return Err(stopped(sink_stats)),
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn stopped(sink: &SinkStats) -> SinkStopped {
    tracing::error!(sink = %sink.name, "a sink stopped; the eventer stops too");
    SinkStopped
}

#[cfg(test)]
mod fan_out_tests {
    use super::*;

    fn record() -> Arc<EventRecord> {
        let line = br#"{"metadata":{"name":"e","namespace":"d"},"reason":"Started"}"#;
        match kec_model::parse_line(line, "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => Arc::new(observation.record),
            other => panic!("{other:?}"),
        }
    }

    fn fan_out(senders: Vec<mpsc::Sender<Arc<EventRecord>>>) -> FanOut {
        let names: std::collections::BTreeSet<String> = (0..senders.len())
            .map(|index| format!("s{index}"))
            .collect();
        let route =
            Route::compile(&RouteConfig::everything_to(names.clone()), "route", &names).unwrap();
        FanOut {
            route,
            outputs: senders
                .into_iter()
                .map(|sender| SinkOutput::Wait(sender, Arc::new(SinkStats::new("s", "test"))))
                .collect(),
            stats: Arc::new(EventerStats::default()),
            enricher: None,
        }
    }

    #[tokio::test]
    async fn a_stopped_sink_stops_the_fan_out_with_an_error() {
        let (events_tx, events_rx) = mpsc::channel(4);
        let (live_tx, mut live_rx) = mpsc::channel(4);
        let (dead_tx, dead_rx) = mpsc::channel(4);
        drop(dead_rx);
        events_tx.send(record()).await.unwrap();
        drop(events_tx);
        let result = fan_out(vec![live_tx, dead_tx]).run(events_rx).await;
        assert_eq!(result, Err(SinkStopped));
        assert!(
            live_rx.recv().await.is_some(),
            "the live sink got the record first"
        );
    }

    #[tokio::test]
    async fn fan_out_ends_cleanly_when_the_source_ends() {
        let (events_tx, events_rx) = mpsc::channel(4);
        let (sink_tx, mut sink_rx) = mpsc::channel(4);
        events_tx.send(record()).await.unwrap();
        drop(events_tx);
        assert_eq!(fan_out(vec![sink_tx]).run(events_rx).await, Ok(()));
        assert!(sink_rx.recv().await.is_some());
    }
}
