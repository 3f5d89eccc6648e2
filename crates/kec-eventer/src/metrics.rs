//! Counters of each sink. The eventer-wide counters are [`crate::EventerStats`].

use std::sync::atomic::{AtomicU64, Ordering};

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
}

impl SinkStats {
    pub fn new(name: &str, kind: &'static str) -> SinkStats {
        SinkStats {
            name: name.to_string(),
            kind,
            ..SinkStats::default()
        }
    }

    /// Reads one counter.
    pub fn value(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
