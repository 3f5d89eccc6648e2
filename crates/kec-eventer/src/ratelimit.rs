//! Rate limits of the notifying sinks, so a crash-looping pod cannot flood a chat: one budget for
//! the whole sink and one per (cluster, reason, involved object). Records over either budget are
//! dropped and counted (`rate_limited`); the center sink is never limited.
//!
//! Token buckets are governor's (GCRA). Memory stays bounded: the per-object table forgets keys
//! whose bucket is full again, and is swept whenever it doubles.

use std::hash::{Hash, Hasher};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use kec_model::EventRecord;
use serde::{Deserialize, Serialize};

/// Rate limits of one sink (`rate_limit:` in its config). Zero turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Most records per minute for the whole sink (0: no limit).
    pub per_minute: u32,
    /// How many records the sink may send at once before `per_minute` applies.
    pub burst: u32,
    /// How many records of one (reason, object) may go at once (0: no per-object limit) ...
    pub per_object_burst: u32,
    /// ... and then one more every this many seconds.
    pub per_object_interval_secs: u64,
}

impl Default for RateLimitConfig {
    /// No limits (webhook, file, ...).
    fn default() -> RateLimitConfig {
        RateLimitConfig {
            per_minute: 0,
            burst: 0,
            per_object_burst: 0,
            per_object_interval_secs: 600,
        }
    }
}

impl RateLimitConfig {
    /// The default of chat robots: DingTalk and WeCom robots accept 20 messages a minute; one
    /// object's same reason gets 3 messages, then one every 10 minutes.
    pub fn chat() -> RateLimitConfig {
        RateLimitConfig {
            per_minute: 20,
            burst: 20,
            per_object_burst: 3,
            per_object_interval_secs: 600,
        }
    }

    /// Every problem with these settings, prefixed with `field`.
    pub fn problems(&self, field: &str) -> Vec<String> {
        let mut problems = Vec::new();
        if self.per_object_burst > 0 && self.per_object_interval_secs == 0 {
            problems.push(format!(
                "{field}.per_object_interval_secs must be at least 1 when per_object_burst is set"
            ));
        }
        problems
    }
}

/// The per-object table is swept when it reaches this many keys (and again at each doubling).
const SWEEP_FLOOR: usize = 4_096;

/// The running limits of one sink.
pub struct RateLimiter {
    sink: Option<DefaultDirectRateLimiter>,
    per_object: Option<DefaultKeyedRateLimiter<u64>>,
    sweep_at: usize,
}

impl RateLimiter {
    pub fn new(config: &RateLimitConfig) -> RateLimiter {
        let sink = NonZeroU32::new(config.per_minute).map(|per_minute| {
            let burst = NonZeroU32::new(config.burst).unwrap_or(per_minute);
            DefaultDirectRateLimiter::direct(Quota::per_minute(per_minute).allow_burst(burst))
        });
        let per_object = NonZeroU32::new(config.per_object_burst).and_then(|burst| {
            let period = Duration::from_secs(config.per_object_interval_secs);
            Quota::with_period(period)
                .map(|quota| DefaultKeyedRateLimiter::hashmap(quota.allow_burst(burst)))
        });
        RateLimiter {
            sink,
            per_object,
            sweep_at: SWEEP_FLOOR,
        }
    }

    /// Whether this record may go now (taking from both budgets when it may).
    pub fn admit(&mut self, record: &EventRecord) -> bool {
        if let Some(per_object) = &self.per_object {
            if per_object.check_key(&object_key(record)).is_err() {
                return false;
            }
            if per_object.len() >= self.sweep_at {
                per_object.retain_recent();
                self.sweep_at = (per_object.len() * 2).max(SWEEP_FLOOR);
            }
        }
        self.sink.as_ref().is_none_or(|sink| sink.check().is_ok())
    }

    /// Keys the per-object table holds (for tests and metrics).
    pub fn tracked_objects(&self) -> usize {
        self.per_object.as_ref().map_or(0, |limiter| limiter.len())
    }
}

/// (cluster, reason, kind, namespace, name) hashed.
fn object_key(record: &EventRecord) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    record.cluster.hash(&mut hasher);
    record.reason.hash(&mut hasher);
    record.object.kind.hash(&mut hasher);
    record.object.namespace.hash(&mut hasher);
    record.object.name.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, reason: &str) -> EventRecord {
        let line = format!(
            r#"{{"metadata":{{"name":"{name}.1","namespace":"d"}},"involvedObject":{{"kind":"Pod","name":"{name}","namespace":"d"}},"reason":"{reason}"}}"#
        );
        match kec_model::parse_line(line.as_bytes(), "c", 0) {
            Ok(kec_model::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn one_object_gets_its_burst_then_is_held_while_others_go() {
        let mut limiter = RateLimiter::new(&RateLimitConfig::chat());
        let looping = record("crashy", "BackOff");
        let admitted = (0..10).filter(|_| limiter.admit(&looping)).count();
        assert_eq!(admitted, 3);
        assert!(
            limiter.admit(&record("crashy", "Killing")),
            "another reason"
        );
        assert!(limiter.admit(&record("calm", "BackOff")), "another object");
        assert_eq!(limiter.tracked_objects(), 3);
    }

    #[test]
    fn the_sink_budget_caps_everything() {
        let mut limiter = RateLimiter::new(&RateLimitConfig {
            per_minute: 5,
            burst: 5,
            per_object_burst: 0,
            per_object_interval_secs: 0,
        });
        let admitted = (0..50)
            .filter(|index| limiter.admit(&record(&format!("pod-{index}"), "BackOff")))
            .count();
        assert_eq!(admitted, 5);
        assert_eq!(limiter.tracked_objects(), 0);
    }

    #[test]
    fn no_limits_by_default() {
        let mut limiter = RateLimiter::new(&RateLimitConfig::default());
        let looping = record("crashy", "BackOff");
        assert!((0..1_000).all(|_| limiter.admit(&looping)));
        assert!(RateLimitConfig::default().problems("r").is_empty());
        let bad = RateLimitConfig {
            per_object_burst: 2,
            per_object_interval_secs: 0,
            ..RateLimitConfig::default()
        };
        assert_eq!(bad.problems("r").len(), 1);
    }
}
