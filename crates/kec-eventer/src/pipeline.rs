//! [`Eventer`]: the running eventer. Tasks, in shutdown order: sources (one per namespace, or
//! one cluster-wide) -> the fan-out (one bounded channel in, one bounded channel per sink out)
//! -> sinks. Shutdown stops the sources, lets the fan-out and the batchers drain into the
//! spools, gives the senders `flush_timeout_ms` to deliver, then stops them; what is left stays
//! spooled for the next start.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kec_model::EventRecord;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::config::EventerConfig;
use crate::sinks::SinkConfig;
use crate::source::SourceLoop;
use crate::spool::Spool;
use crate::state::{EventerState, STATE_FILE_NAME, SpoolIdentity};

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
    source_cancel: CancellationToken,
    sink_cancel: CancellationToken,
    source_tasks: Vec<JoinHandle<()>>,
    fanout_task: JoinHandle<()>,
    /// Tasks that end once their input channel closes (batchers, stdout).
    draining_tasks: Vec<JoinHandle<()>>,
    /// Center senders: end when their spool is empty and their batcher is done.
    sender_tasks: Vec<JoinHandle<()>>,
    spools: Vec<Arc<Spool>>,
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
        let stats = Arc::new(EventerStats::default());
        let source_cancel = CancellationToken::new();
        let sink_cancel = CancellationToken::new();

        std::fs::create_dir_all(&config.state_dir).map_err(|source| crate::Error::Spool {
            path: config.state_dir.clone(),
            source,
        })?;
        let state_path = config.state_dir.join(STATE_FILE_NAME);
        let mut state = EventerState::load(&state_path)?;

        let stats_for_fan_out = stats.clone();
        let mut sink_txs = Vec::new();
        let mut draining_tasks = Vec::new();
        let mut sender_tasks = Vec::new();
        let mut spools = Vec::new();
        for sink in &config.sinks {
            let (sink_tx, sink_rx) = mpsc::channel(config.channel_capacity);
            sink_txs.push(sink_tx);
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
                    let tasks =
                        center.start(spool.clone(), sink_rx, stats.clone(), sink_cancel.clone())?;
                    draining_tasks.push(tasks.batcher);
                    sender_tasks.push(tasks.sender);
                    spools.push(spool);
                }
                SinkConfig::Stdout(stdout) => {
                    draining_tasks.push(tokio::spawn(stdout.clone().run(sink_rx, stats.clone())));
                }
            }
        }
        state.save(&state_path)?;

        let (events_tx, events_rx) = mpsc::channel(config.channel_capacity);
        let failed = CancellationToken::new();
        let fanout_task = tokio::spawn({
            let failed = failed.clone();
            async move {
                if fan_out(events_rx, sink_txs, stats_for_fan_out)
                    .await
                    .is_err()
                {
                    failed.cancel();
                }
            }
        });

        let scopes: Vec<Option<String>> = if config.source.namespaces.is_empty() {
            vec![None]
        } else {
            config.source.namespaces.iter().cloned().map(Some).collect()
        };
        let source_tasks = scopes
            .into_iter()
            .map(|namespace| {
                let api = match &namespace {
                    Some(namespace) => kube::Api::<Event>::namespaced(client.clone(), namespace),
                    None => kube::Api::<Event>::all(client.clone()),
                };
                let source = SourceLoop {
                    api,
                    scope: namespace.unwrap_or_else(|| "*".to_string()),
                    config: config.source.clone(),
                    cluster: INTERNAL_CLUSTER.to_string(),
                    events_tx: events_tx.clone(),
                    stats: stats.clone(),
                    cancel: source_cancel.clone(),
                };
                tokio::spawn(source.run())
            })
            .collect();

        Ok(Eventer {
            stats,
            source_cancel,
            sink_cancel,
            source_tasks,
            fanout_task,
            draining_tasks,
            sender_tasks,
            spools,
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

    /// The spool directories of the center sinks.
    pub fn spool_dirs(&self) -> Vec<PathBuf> {
        self.spools
            .iter()
            .map(|spool| spool.dir().to_path_buf())
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

/// Hands every record to every sink, in order; a full sink channel makes it wait (counted).
/// A sink that stopped is an error: fan-out ends so the eventer fails loudly instead of going
/// on without it.
async fn fan_out(
    mut events_rx: mpsc::Receiver<Arc<EventRecord>>,
    sink_txs: Vec<mpsc::Sender<Arc<EventRecord>>>,
    stats: Arc<EventerStats>,
) -> std::result::Result<(), SinkStopped> {
    while let Some(record) = events_rx.recv().await {
        for sink_tx in &sink_txs {
            match sink_tx.try_send(record.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(record)) => {
                    stats.backpressure_waits.fetch_add(1, Ordering::Relaxed);
                    if sink_tx.send(record).await.is_err() {
                        tracing::error!("a sink stopped; the eventer stops too");
                        return Err(SinkStopped);
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    tracing::error!("a sink stopped; the eventer stops too");
                    return Err(SinkStopped);
                }
            }
        }
    }
    Ok(())
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

    #[tokio::test]
    async fn a_stopped_sink_stops_the_fan_out_with_an_error() {
        let (events_tx, events_rx) = mpsc::channel(4);
        let (live_tx, mut live_rx) = mpsc::channel(4);
        let (dead_tx, dead_rx) = mpsc::channel(4);
        drop(dead_rx);
        events_tx.send(record()).await.unwrap();
        drop(events_tx);
        let stats = Arc::new(EventerStats::default());
        let result = fan_out(events_rx, vec![live_tx, dead_tx], stats).await;
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
        let stats = Arc::new(EventerStats::default());
        assert_eq!(fan_out(events_rx, vec![sink_tx], stats).await, Ok(()));
        assert!(sink_rx.recv().await.is_some());
    }
}
