//! Wall-clock time for the objects the exporter writes, behind [`WallClock`] so tests can
//! freeze it; intervals and deadlines use `tokio::time` (pausable in tests).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;

/// The source of "now" for timestamps written to the API server.
pub trait WallClock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let signed = jiff::SignedDuration::try_from(by).unwrap_or(jiff::SignedDuration::MAX);
        *now = now.checked_add(signed).unwrap_or(Timestamp::MAX);
    }
}

impl WallClock for ManualClock {
    fn now(&self) -> Timestamp {
        *self
            .now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn WallClock>;

/// Kubernetes `metav1.Time`: RFC 3339 in UTC with whole seconds (`2026-11-25T10:05:00Z`).
pub fn format_kube_time(timestamp: Timestamp) -> String {
    let whole_seconds = Timestamp::from_second(timestamp.as_second()).unwrap_or(timestamp);
    whole_seconds.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Milliseconds since the Unix epoch to a timestamp (clamped to the representable range).
pub fn from_millis(milliseconds: i64) -> Timestamp {
    Timestamp::from_millisecond(milliseconds).unwrap_or(if milliseconds < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Parses a Kubernetes time (RFC 3339) to milliseconds since the Unix epoch.
pub fn parse_kube_time_ms(text: &str) -> Option<i64> {
    text.parse::<Timestamp>()
        .ok()
        .map(|timestamp| timestamp.as_millisecond())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_time_has_whole_seconds_in_utc() {
        let timestamp: Timestamp = "2026-11-25T10:05:00.987654Z".parse().unwrap();
        assert_eq!(format_kube_time(timestamp), "2026-11-25T10:05:00Z");
        assert_eq!(
            parse_kube_time_ms("2026-11-25T10:05:00Z"),
            Some(timestamp.as_second() * 1000)
        );
        assert_eq!(parse_kube_time_ms("yesterday"), None);
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(90));
        assert_eq!(format_kube_time(clock.now()), "2026-11-25T10:01:30Z");
    }
}
