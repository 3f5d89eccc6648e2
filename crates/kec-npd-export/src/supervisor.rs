//! Loading every monitor named on the command line (all problems reported at once) and
//! keeping each running: a monitor whose channel closes before shutdown is loaded again from
//! its file and restarted after a pause, and the restart is counted.

use std::path::PathBuf;
use std::time::Duration;

use kec_npd::{Monitor, MonitorKind, MonitorOptions, load_monitor};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::conditions::ConditionSemantics;
use crate::daemon::MonitorFeed;
use crate::metrics::NpdMetrics;

/// Reports of one supervised monitor wait here for the daemon.
const FEED_QUEUE: usize = 64;

/// One monitor config file and the flag it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorSpec {
    pub kind: MonitorKind,
    pub path: PathBuf,
}

/// How the conditions of a monitor kind change: log monitors latch, the others evaluate.
pub fn semantics_of(kind: MonitorKind) -> ConditionSemantics {
    match kind {
        MonitorKind::SystemLog => ConditionSemantics::Latched,
        MonitorKind::CustomPlugin | MonitorKind::SystemStats | MonitorKind::NativeChecks => {
            ConditionSemantics::Evaluated
        }
    }
}

/// A loaded, not yet started monitor.
pub struct LoadedMonitor {
    pub spec: MonitorSpec,
    pub monitor: Box<dyn Monitor>,
}

impl std::fmt::Debug for LoadedMonitor {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("LoadedMonitor")
            .field("spec", &self.spec)
            .field("source", &self.monitor.source())
            .finish()
    }
}

/// Loads every monitor; on any failure returns every problem (one line per file).
pub fn load_all(
    specs: &[MonitorSpec],
    options: &MonitorOptions,
) -> Result<Vec<LoadedMonitor>, Vec<String>> {
    let mut loaded = Vec::new();
    let mut problems = Vec::new();
    for spec in specs {
        match load_monitor(spec.kind, &spec.path, options) {
            Ok(monitor) => loaded.push(LoadedMonitor {
                spec: spec.clone(),
                monitor,
            }),
            Err(error) => problems.push(error.to_string()),
        }
    }
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(problems)
    }
}

/// Starts `loaded` and keeps it running until `cancel`; the feed closes after that.
pub fn supervise(
    loaded: LoadedMonitor,
    options: MonitorOptions,
    metrics: NpdMetrics,
    restart_pause: Duration,
    cancel: CancellationToken,
) -> MonitorFeed {
    let (feed_tx, feed_rx) = mpsc::channel(FEED_QUEUE);
    let LoadedMonitor { spec, monitor } = loaded;
    let semantics = semantics_of(spec.kind);
    tokio::spawn(async move {
        let mut monitor = Some(monitor);
        loop {
            if let Some(running) = monitor.take() {
                let source = running.source().to_string();
                let mut status_rx = running.start(cancel.child_token());
                while let Some(status) = status_rx.recv().await {
                    if feed_tx.send(status).await.is_err() {
                        return;
                    }
                }
                if cancel.is_cancelled() {
                    return;
                }
                metrics.monitor_restarted(&source);
                tracing::warn!(%source, path = %spec.path.display(), pause_ms = restart_pause.as_millis() as u64,
                    "monitor stopped; restarting it");
            }
            tokio::select! {
                _ = tokio::time::sleep(restart_pause) => {}
                _ = cancel.cancelled() => return,
            }
            match load_monitor(spec.kind, &spec.path, &options) {
                Ok(reloaded) => monitor = Some(reloaded),
                Err(error) => {
                    tracing::error!(%error, path = %spec.path.display(), "cannot reload the monitor; will try again");
                }
            }
        }
    });
    MonitorFeed {
        semantics,
        status_rx: feed_rx,
    }
}
