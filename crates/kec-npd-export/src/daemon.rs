//! [`ProblemDaemon`]: merges the Status reports of every monitor and hands each to the
//! exporters: the problem metrics, the [`ConditionBook`](crate::conditions::ConditionBook)
//! (which the Kubernetes exporter PATCHes from and `/conditions` serves), and the Kubernetes
//! exporter's Event path.
//!
//! Shutdown order: the monitors stop (their channels close), the daemon drains what they
//! sent and returns; the caller then finishes the exporter.

use kec_npd::types::Status;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use crate::conditions::ConditionSemantics;
use crate::k8s::{K8sExporter, SharedBook, lock_book};
use crate::metrics::NpdMetrics;
use crate::time::SharedClock;

/// Reports merged from all monitors wait here; a full queue makes monitors wait.
const MERGED_QUEUE: usize = 256;

/// One running monitor's reports.
#[derive(Debug)]
pub struct MonitorFeed {
    /// How this monitor's conditions change (log monitors latch, plugins evaluate).
    pub semantics: ConditionSemantics,
    pub status_rx: mpsc::Receiver<Status>,
}

/// See the module documentation.
#[derive(Debug)]
pub struct ProblemDaemon {
    book: SharedBook,
    metrics: NpdMetrics,
    exporter: Option<K8sExporter>,
    clock: SharedClock,
}

impl ProblemDaemon {
    pub fn new(
        book: SharedBook,
        metrics: NpdMetrics,
        exporter: Option<K8sExporter>,
        clock: SharedClock,
    ) -> ProblemDaemon {
        ProblemDaemon {
            book,
            metrics,
            exporter,
            clock,
        }
    }

    /// Applies one report to every exporter.
    pub fn handle_status(&self, status: &Status, semantics: ConditionSemantics) {
        self.metrics.observe_status(status);
        lock_book(&self.book).apply(
            status,
            semantics,
            Instant::now(),
            self.clock.now().as_millisecond(),
        );
        if let Some(exporter) = &self.exporter {
            exporter.export_events(status);
        }
    }

    /// The exporter, for the caller to finish (when reports were handed in one by one).
    pub fn into_exporter(self) -> Option<K8sExporter> {
        self.exporter
    }

    /// Runs until every feed has closed; returns the exporter for the caller to finish.
    pub async fn run(self, feeds: Vec<MonitorFeed>) -> Option<K8sExporter> {
        let (merged_tx, mut merged_rx) = mpsc::channel(MERGED_QUEUE);
        let forwarders = TaskTracker::new();
        for mut feed in feeds {
            let merged_tx = merged_tx.clone();
            forwarders.spawn(async move {
                while let Some(status) = feed.status_rx.recv().await {
                    if merged_tx.send((feed.semantics, status)).await.is_err() {
                        break;
                    }
                }
            });
        }
        forwarders.close();
        drop(merged_tx);
        while let Some((semantics, status)) = merged_rx.recv().await {
            self.handle_status(&status, semantics);
        }
        forwarders.wait().await;
        self.exporter
    }
}
