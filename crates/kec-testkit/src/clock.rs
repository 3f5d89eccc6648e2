//! [`Clock`]: the fake API server's "now", wall time or manual, and the two time formats
//! Kubernetes writes (`metav1.Time` in whole seconds, `metav1.MicroTime` with microseconds).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::config::ClockMode;

/// A shareable clock. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct Clock {
    state: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
enum ClockState {
    System { offset: SignedDuration },
    Manual { now: Timestamp },
}

impl Clock {
    pub fn new(mode: ClockMode) -> Clock {
        let state = match mode {
            ClockMode::System => ClockState::System {
                offset: SignedDuration::ZERO,
            },
            ClockMode::Manual { start } => ClockState::Manual { now: start },
        };
        Clock {
            state: Arc::new(Mutex::new(state)),
        }
    }

    pub fn now(&self) -> Timestamp {
        let state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &*state {
            ClockState::System { offset } => Timestamp::now()
                .checked_add(*offset)
                .unwrap_or_else(|_| Timestamp::now()),
            ClockState::Manual { now } => *now,
        }
    }

    /// Moves time forward (both modes: wall time gets an offset).
    pub fn advance(&self, by: Duration) {
        let by = SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX);
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match &mut *state {
            ClockState::System { offset } => *offset = offset.saturating_add(by),
            ClockState::Manual { now } => *now = now.checked_add(by).unwrap_or(Timestamp::MAX),
        }
    }
}

/// `metav1.Time`: RFC 3339 in whole seconds, UTC (`2026-11-25T10:00:00Z`).
pub fn format_time(timestamp: Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `metav1.MicroTime`: RFC 3339 with six fractional digits (`2026-11-25T10:00:00.123456Z`).
pub fn format_micro_time(timestamp: Timestamp) -> String {
    timestamp.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_like_metav1() {
        let timestamp: Timestamp = "2026-11-25T10:00:00.123456789Z".parse().unwrap();
        assert_eq!(format_time(timestamp), "2026-11-25T10:00:00Z");
        assert_eq!(format_micro_time(timestamp), "2026-11-25T10:00:00.123456Z");
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = Clock::new(ClockMode::Manual { start });
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(format_time(clock.now()), "2026-01-01T00:01:30Z");
    }
}
