//! Exponential backoff with jitter, shared by the source and the sinks, and `Retry-After`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How retries back off: `initial_ms`, doubling up to `max_ms`, each delay drawn uniformly
/// from its upper half (jitter, so many eventers do not retry in step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackoffConfig {
    /// First delay, in milliseconds.
    pub initial_ms: u64,
    /// Largest delay, in milliseconds.
    pub max_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> BackoffConfig {
        BackoffConfig {
            initial_ms: 500,
            max_ms: 30_000,
        }
    }
}

impl BackoffConfig {
    /// Problems with these settings, prefixed with `field`.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.initial_ms == 0 {
            problems.push(format!("{field}.initial_ms must be at least 1"));
        }
        if self.max_ms < self.initial_ms {
            problems.push(format!("{field}.max_ms must not be below initial_ms"));
        }
        problems
    }
}

/// The running state of one backoff sequence.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
}

impl Backoff {
    pub fn new(config: BackoffConfig) -> Backoff {
        Backoff { config, attempt: 0 }
    }

    /// Starts over after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The next delay, with jitter.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .config
            .initial_ms
            .saturating_mul(1_u64 << self.attempt.min(20))
            .min(self.config.max_ms)
            .max(1);
        self.attempt = self.attempt.saturating_add(1);
        let half = ceiling / 2;
        let jitter = (rand::random::<f64>() * (ceiling - half) as f64) as u64;
        Duration::from_millis(half + jitter)
    }
}

/// The longest `Retry-After` honoured; a longer one is clamped (a misconfigured proxy must not
/// park delivery for a day).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Parses a `Retry-After` header value in seconds (the HTTP-date form falls back to backoff).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_under_the_ceiling_and_reset() {
        let mut backoff = Backoff::new(BackoffConfig {
            initial_ms: 100,
            max_ms: 1_000,
        });
        let first = backoff.next_delay();
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        for _ in 0..30 {
            assert!(backoff.next_delay() <= Duration::from_millis(1_000));
        }
        let late = backoff.next_delay();
        assert!(late >= Duration::from_millis(500));
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn retry_after_takes_seconds_and_is_clamped() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("999999"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn bad_settings_are_reported() {
        let problems = BackoffConfig {
            initial_ms: 0,
            max_ms: 0,
        }
        .problems("source.backoff");
        assert_eq!(problems.len(), 1);
    }
}
