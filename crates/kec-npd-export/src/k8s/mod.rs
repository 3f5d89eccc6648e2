//! The Kubernetes exporter: node conditions by status PATCH and Events like client-go's
//! recorder, as NPD's `k8sexporter` does, with NPD #304 fixed (see [`crate::conditions`]).
//!
//! - [`config`]: [`K8sExporterConfig`], NPD's flags and defaults.
//! - [`node_sync`]: waits for the Node, reads its conditions, then PATCHes `status.conditions`
//!   on change and on every heartbeat, retrying after failures.
//! - [`event_sender`]: writes the correlator's Events in order, with client-go's retries.
//!
//! The exporter never loses condition state: the [`ConditionBook`] is the truth and a failed
//! PATCH is simply sent again (whole) later. Events are best effort like client-go's: a bounded
//! queue, a bounded number of retries, every drop counted.

pub mod config;
pub mod event_sender;
pub mod node_sync;

use std::sync::{Arc, Mutex};

use kec_npd::types::Status;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use config::K8sExporterConfig;

use crate::api::NodeApi;
use crate::conditions::ConditionBook;
use crate::correlator::{EventCorrelator, EventWrite, NodeReference};
use crate::metrics::{EventDropCause, NpdMetrics};
use crate::time::SharedClock;

/// The book shared by the daemon (writer) and the exporter (reader).
pub type SharedBook = Arc<Mutex<ConditionBook>>;

/// Locks a book; a panic elsewhere while holding it leaves usable data.
pub fn lock_book(book: &SharedBook) -> std::sync::MutexGuard<'_, ConditionBook> {
    book.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The running exporter. Dropping every handle ends the Event sender once its queue is
/// written; the shutdown token given to [`K8sExporter::start`] ends the node sync.
#[derive(Debug)]
pub struct K8sExporter {
    config: K8sExporterConfig,
    correlator: Mutex<EventCorrelator>,
    event_tx: mpsc::Sender<EventWrite>,
    clock: SharedClock,
    metrics: NpdMetrics,
    node_rx: watch::Receiver<Option<NodeReference>>,
    tasks: TaskTracker,
}

impl K8sExporter {
    /// Starts the node sync and the Event sender on `client`. The config must be valid
    /// ([`K8sExporterConfig::validate`]).
    pub fn start(
        config: K8sExporterConfig,
        client: kube::Client,
        book: SharedBook,
        clock: SharedClock,
        metrics: NpdMetrics,
        shutdown: CancellationToken,
    ) -> K8sExporter {
        let api = NodeApi::new(client, &config.node_name);
        let (node_tx, node_rx) = watch::channel(None);
        let (event_tx, event_rx) = mpsc::channel(config.event_queue_size.max(1));
        let tasks = TaskTracker::new();
        tasks.spawn(node_sync::run(
            config.clone(),
            api.clone(),
            book,
            clock.clone(),
            metrics.clone(),
            node_tx,
            shutdown.clone(),
        ));
        tasks.spawn(event_sender::run(
            config.clone(),
            api,
            event_rx,
            node_rx.clone(),
            metrics.clone(),
            shutdown,
        ));
        tasks.close();
        let correlator = EventCorrelator::new(
            config.correlator.clone(),
            &config.node_name,
            &config.event_object_namespace(),
        );
        K8sExporter {
            config,
            correlator: Mutex::new(correlator),
            event_tx,
            clock,
            metrics,
            node_rx,
            tasks,
        }
    }

    /// Hands a monitor report's Events to the correlator and the sender (conditions reach the
    /// API server through the shared book). Never blocks: a full queue drops and counts.
    pub fn export_events(&self, status: &Status) {
        if !self.config.write_events || status.events.is_empty() {
            return;
        }
        let now = Instant::now();
        let wall = self.clock.now();
        let mut correlator = self
            .correlator
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for event in &status.events {
            let write = correlator.observe(
                &status.source,
                event.severity.event_type(),
                &event.reason,
                &event.message,
                now,
                wall,
            );
            let Some(write) = write else {
                self.metrics.event_dropped(EventDropCause::SpamFilter);
                tracing::debug!(source = %status.source, reason = %event.reason, "event held back by the spam filter");
                continue;
            };
            if self.event_tx.try_send(write).is_err() {
                self.metrics.event_dropped(EventDropCause::QueueFull);
                tracing::warn!(source = %status.source, reason = %event.reason, "event queue full, dropping an event");
            }
        }
    }

    /// The Node as the exporter refers to it, once it has been read.
    pub fn node(&self) -> Option<NodeReference> {
        self.node_rx.borrow().clone()
    }

    /// Waits until the Node has been read (or the exporter stopped).
    pub async fn node_ready(&self) -> Option<NodeReference> {
        let mut node_rx = self.node_rx.clone();
        node_rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|node| node.clone())
    }

    /// Stops taking Events and waits for the tasks: the sender writes what is queued, the node
    /// sync ends when the shutdown token is cancelled.
    pub async fn finish(self) {
        let K8sExporter {
            event_tx, tasks, ..
        } = self;
        drop(event_tx);
        tasks.wait().await;
    }
}
