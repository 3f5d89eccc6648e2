//! The `stdout` sink: one JSON line per Event observation (the original Event object).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::metrics::SinkStats;
use crate::pipeline::EventerStats;

/// Writes each observed Event as one JSON line to standard output. No options yet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StdoutSinkConfig {}

impl StdoutSinkConfig {
    pub fn problems(&self, _field: &str) -> Vec<String> {
        Vec::new()
    }

    /// Runs until the channel closes.
    pub(crate) async fn run(
        self,
        mut events_rx: mpsc::Receiver<Arc<EventRecord>>,
        stats: Arc<EventerStats>,
        sink_stats: Arc<SinkStats>,
    ) {
        let mut buffer = Vec::new();
        while let Some(record) = events_rx.recv().await {
            buffer.clear();
            append_line(&mut buffer, &record);
            let mut written = 1;
            // Write what is already queued in one go.
            while let Ok(record) = events_rx.try_recv() {
                append_line(&mut buffer, &record);
                written += 1;
            }
            let mut stdout = std::io::stdout().lock();
            if let Err(error) = stdout.write_all(&buffer).and_then(|()| stdout.flush()) {
                tracing::error!(%error, "stdout sink cannot write; stopping it");
                return;
            }
            stats.events_delivered.fetch_add(written, Ordering::Relaxed);
            sink_stats.delivered.fetch_add(written, Ordering::Relaxed);
        }
    }
}

fn append_line(buffer: &mut Vec<u8>, record: &EventRecord) {
    buffer.extend_from_slice(record.raw.get().as_bytes());
    buffer.push(b'\n');
}
