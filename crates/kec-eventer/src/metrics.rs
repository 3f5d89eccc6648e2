//! Counters of each sink. The eventer-wide counters are [`crate::EventerStats`].

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use kec_model::EventRecord;

/// What one sink did.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// The sink's name in the configuration.
    pub name: String,
    /// Its kind (`center`, `webhook`, `dingtalk`, ...).
    pub kind: &'static str,
    /// Records routed to it.
    pub received: AtomicU64,
    /// Records it delivered.
    pub delivered: AtomicU64,
    /// Successful requests (a batch is one request).
    pub requests: AtomicU64,
    /// Failed tries that were retried.
    pub retries: AtomicU64,
    /// Records given up on: refused for good, too many tries, or a full queue.
    pub dropped: AtomicU64,
    /// Records held back by its rate limits (not sent, not an error).
    pub rate_limited: AtomicU64,
    /// At the last delivery: milliseconds from the newest delivered Event's time (its last
    /// occurrence) to its delivery; -1 before the first.
    pub last_lag_ms: AtomicI64,
}

impl SinkStats {
    pub fn new(name: &str, kind: &'static str) -> SinkStats {
        SinkStats {
            name: name.to_string(),
            kind,
            last_lag_ms: AtomicI64::new(-1),
            ..SinkStats::default()
        }
    }

    /// Notes the lag of a delivered batch from its newest record.
    pub fn note_records(&self, batch: &[std::sync::Arc<EventRecord>]) {
        if let Some(newest) = batch.iter().map(|record| record.time_ms).max() {
            self.note_event_time(newest);
        }
    }

    /// Notes the lag of a delivered NDJSON batch from its last line (the newest Event).
    pub fn note_delivery(&self, body: &[u8]) {
        let last_line = body
            .split(|byte| *byte == b'\n')
            .rev()
            .find(|line| !line.is_empty());
        if let Some(line) = last_line
            && let Ok(kec_model::ParsedLine::Observation(observation)) =
                kec_model::parse_line(line, "lag", 0)
        {
            self.note_event_time(observation.record.time_ms);
        }
    }

    fn note_event_time(&self, time_ms: i64) {
        let lag = (kec_model::time::now_ms() - time_ms).max(0);
        self.last_lag_ms.store(lag, Ordering::Relaxed);
    }

    /// Reads one counter.
    pub fn value(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
