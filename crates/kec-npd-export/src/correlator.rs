//! [`EventCorrelator`]: what client-go's event recorder does between `Eventf` and the API
//! server (`k8s.io/client-go/tools/record/events_cache.go`), so kec npd's Events look and
//! count exactly like NPD's:
//!
//! 1. **Aggregation**: more than `aggregate_max_events` (10) distinct messages with the same
//!    (source, type, reason) within `aggregate_interval` (10 min) become one Event whose
//!    message starts with `(combined from similar events): `.
//! 2. **Dedup**: a repeat of (source, type, reason, message) is a strategic-merge PATCH
//!    `{"count","lastTimestamp","message"}` of the Event created first (same name); the count
//!    runs on even when the spam filter holds a write back.
//! 3. **Spam filter**: a token bucket per (source, host, involved object, type): burst 25,
//!    one token back every 5 minutes; an occurrence without a token is not written.
//!
//! The Event's name is `<node>.<hex unix nanos>`, its times are when it was recorded.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::time::Duration;

use jiff::Timestamp;
use lru::LruCache;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::time::format_kube_time;

/// client-go's aggregated-message prefix.
pub const COMBINED_PREFIX: &str = "(combined from similar events): ";

/// client-go's correlator settings (its defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrelatorConfig {
    /// Events a source may write at once (client-go: 25).
    pub spam_burst: u32,
    /// One more Event allowed per this interval (client-go: 1 per 5 minutes).
    pub spam_refill_interval: Duration,
    /// Distinct messages of one (source, type, reason) before they are combined (10).
    pub aggregate_max_events: usize,
    /// Window of the aggregation (10 minutes).
    pub aggregate_interval: Duration,
    /// Entries of each cache (4096).
    pub cache_size: usize,
}

impl Default for CorrelatorConfig {
    fn default() -> CorrelatorConfig {
        CorrelatorConfig {
            spam_burst: 25,
            spam_refill_interval: Duration::from_secs(300),
            aggregate_max_events: 10,
            aggregate_interval: Duration::from_secs(600),
            cache_size: 4096,
        }
    }
}

impl CorrelatorConfig {
    /// Every problem with these settings.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.spam_burst == 0 {
            problems.push("event spam burst must be at least 1".to_string());
        }
        if self.spam_refill_interval.is_zero() {
            problems.push("event spam refill interval must be above zero".to_string());
        }
        if self.aggregate_max_events < 2 {
            problems.push("event aggregation needs at least 2 distinct messages".to_string());
        }
        if self.cache_size == 0 {
            problems.push("event cache size must be at least 1".to_string());
        }
        problems
    }
}

/// One Event as the recorder would write it (the involved Node is added by the sender, which
/// knows the Node's uid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    pub namespace: String,
    pub name: String,
    /// `Normal` or `Warning`.
    pub event_type: String,
    pub reason: String,
    pub message: String,
    /// The monitor's source (`source.component` and `reportingComponent`).
    pub source: String,
    pub first_timestamp: String,
    pub last_timestamp: String,
    pub count: u64,
}

/// The Node an Event is about, as client-go's `ObjectReference`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeReference {
    pub name: String,
    pub uid: String,
    /// NPD puts `--event-namespace` here; empty by default (a Node is cluster-scoped).
    pub namespace: String,
}

impl EventDraft {
    /// The Event object client-go POSTs (`host` = the node name).
    pub fn to_json(&self, node: &NodeReference) -> Value {
        let mut involved = json!({"kind": "Node", "name": node.name, "apiVersion": "v1"});
        if !node.uid.is_empty() {
            involved["uid"] = Value::from(node.uid.clone());
        }
        if !node.namespace.is_empty() {
            involved["namespace"] = Value::from(node.namespace.clone());
        }
        json!({
            "metadata": {"name": self.name, "namespace": self.namespace},
            "involvedObject": involved,
            "reason": self.reason,
            "message": self.message,
            "source": {"component": self.source, "host": node.name},
            "firstTimestamp": self.first_timestamp,
            "lastTimestamp": self.last_timestamp,
            "count": self.count,
            "type": self.event_type,
            "eventTime": null,
            "reportingComponent": self.source,
            "reportingInstance": node.name,
        })
    }

    /// client-go's repeat: a strategic-merge PATCH of exactly these three fields.
    pub fn patch_body(&self) -> Value {
        json!({"count": self.count, "lastTimestamp": self.last_timestamp, "message": self.message})
    }
}

/// What to send for one occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventWrite {
    /// POST a new Event.
    Create(EventDraft),
    /// PATCH the count of an existing Event; on 404 POST the same name with the running count.
    Patch(EventDraft),
}

impl EventWrite {
    pub fn draft(&self) -> &EventDraft {
        match self {
            EventWrite::Create(draft) | EventWrite::Patch(draft) => draft,
        }
    }
}

#[derive(Debug, Clone)]
struct Observation {
    count: u64,
    first_timestamp: String,
    name: String,
}

#[derive(Debug, Clone)]
struct AggregateRecord {
    messages: HashSet<String>,
    last_seen: Instant,
}

#[derive(Debug, Clone)]
struct TokenBucket {
    tokens: f64,
    refilled_at: Instant,
}

/// See the module documentation. One per exporter (one node).
#[derive(Debug)]
pub struct EventCorrelator {
    config: CorrelatorConfig,
    node_name: String,
    namespace: String,
    observations: LruCache<String, Observation>,
    aggregates: LruCache<String, AggregateRecord>,
    buckets: LruCache<String, TokenBucket>,
    last_name_nanos: i128,
}

/// Keys are joined with a separator no field contains in practice (client-go joins with "").
fn key(parts: &[&str]) -> String {
    parts.join("\u{1f}")
}

impl EventCorrelator {
    /// A correlator for Events about `node_name`, written to `namespace`.
    pub fn new(config: CorrelatorConfig, node_name: &str, namespace: &str) -> EventCorrelator {
        let capacity = NonZeroUsize::new(config.cache_size).unwrap_or(NonZeroUsize::MIN);
        EventCorrelator {
            config,
            node_name: node_name.to_string(),
            namespace: namespace.to_string(),
            observations: LruCache::new(capacity),
            aggregates: LruCache::new(capacity),
            buckets: LruCache::new(capacity),
            last_name_nanos: 0,
        }
    }

    /// `<node>.<hex nanos>`, never the same twice (a frozen test clock would repeat names).
    fn event_name(&mut self, wall: Timestamp) -> String {
        let nanos = wall.as_nanosecond().max(self.last_name_nanos + 1);
        self.last_name_nanos = nanos;
        format!("{}.{nanos:x}", self.node_name)
    }

    /// One occurrence; `None` when the spam filter holds it back.
    pub fn observe(
        &mut self,
        source: &str,
        event_type: &str,
        reason: &str,
        message: &str,
        now: Instant,
        wall: Timestamp,
    ) -> Option<EventWrite> {
        let timestamp = format_kube_time(wall);
        let mut draft = EventDraft {
            namespace: self.namespace.clone(),
            name: String::new(),
            event_type: event_type.to_string(),
            reason: reason.to_string(),
            message: message.to_string(),
            source: source.to_string(),
            first_timestamp: timestamp.clone(),
            last_timestamp: timestamp,
            count: 1,
        };
        let cache_key = self.aggregate(&mut draft, now);
        let write = match self.observations.get(&cache_key) {
            Some(previous) => {
                draft.name = previous.name.clone();
                draft.first_timestamp = previous.first_timestamp.clone();
                draft.count = previous.count + 1;
                EventWrite::Patch(draft)
            }
            None => {
                draft.name = self.event_name(wall);
                EventWrite::Create(draft)
            }
        };
        let written = write.draft();
        self.observations.put(
            cache_key,
            Observation {
                count: written.count,
                first_timestamp: written.first_timestamp.clone(),
                name: written.name.clone(),
            },
        );
        if self.allow(source, event_type, now) {
            Some(write)
        } else {
            None
        }
    }

    /// client-go's `EventAggregate`: returns the dedup key, and rewrites the message once the
    /// (source, type, reason) saw too many distinct messages.
    fn aggregate(&mut self, draft: &mut EventDraft, now: Instant) -> String {
        let aggregate_key = key(&[&draft.source, &draft.event_type, &draft.reason]);
        let event_key = key(&[
            &draft.source,
            &draft.event_type,
            &draft.reason,
            &draft.message,
        ]);
        let mut record = match self.aggregates.pop(&aggregate_key) {
            Some(record)
                if now.saturating_duration_since(record.last_seen)
                    <= self.config.aggregate_interval =>
            {
                record
            }
            _ => AggregateRecord {
                messages: HashSet::new(),
                last_seen: now,
            },
        };
        record.messages.insert(draft.message.clone());
        record.last_seen = now;
        let over = record.messages.len() >= self.config.aggregate_max_events;
        if over {
            // Keep the set from growing past the threshold.
            if let Some(any) = record.messages.iter().next().cloned() {
                record.messages.remove(&any);
            }
        }
        self.aggregates.put(aggregate_key.clone(), record);
        if !over {
            return event_key;
        }
        draft.message = format!("{COMBINED_PREFIX}{}", draft.message);
        aggregate_key
    }

    /// client-go's spam filter: one token per written Event.
    fn allow(&mut self, source: &str, event_type: &str, now: Instant) -> bool {
        let spam_key = key(&[source, &self.node_name, event_type]);
        let burst = f64::from(self.config.spam_burst);
        let refill = self.config.spam_refill_interval.as_secs_f64();
        let bucket = self.buckets.get_or_insert_mut(spam_key, || TokenBucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed / refill).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wall() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    fn correlator() -> EventCorrelator {
        EventCorrelator::new(CorrelatorConfig::default(), "node-1", "default")
    }

    #[test]
    fn repeats_patch_the_first_event_with_a_running_count() {
        let mut correlator = correlator();
        let now = Instant::now();
        let first = correlator
            .observe(
                "kernel-monitor",
                "Warning",
                "OOMKilling",
                "killed 1",
                now,
                wall(),
            )
            .unwrap();
        let EventWrite::Create(created) = &first else {
            panic!("first occurrence must be created: {first:?}");
        };
        assert_eq!(created.count, 1);
        assert!(created.name.starts_with("node-1."));
        let later = wall() + jiff::SignedDuration::from_secs(30);
        let second = correlator
            .observe(
                "kernel-monitor",
                "Warning",
                "OOMKilling",
                "killed 1",
                now,
                later,
            )
            .unwrap();
        let EventWrite::Patch(patched) = &second else {
            panic!("a repeat must be a patch: {second:?}");
        };
        assert_eq!(patched.name, created.name);
        assert_eq!(patched.count, 2);
        assert_eq!(patched.first_timestamp, "2026-11-25T10:00:00Z");
        assert_eq!(
            patched.patch_body(),
            json!({"count": 2, "lastTimestamp": "2026-11-25T10:00:30Z", "message": "killed 1"})
        );
        let other = correlator
            .observe(
                "kernel-monitor",
                "Warning",
                "OOMKilling",
                "killed 2",
                now,
                wall(),
            )
            .unwrap();
        assert!(matches!(other, EventWrite::Create(ref draft) if draft.name != created.name));
    }

    #[test]
    fn the_spam_filter_allows_a_burst_of_25_then_one_per_five_minutes() {
        let mut correlator = correlator();
        let start = Instant::now();
        let written = (0..30)
            .filter(|index| {
                correlator
                    .observe("m", "Warning", &format!("R{index}"), "x", start, wall())
                    .is_some()
            })
            .count();
        assert_eq!(written, 25);
        assert!(
            correlator
                .observe("other", "Warning", "R", "x", start, wall())
                .is_some(),
            "buckets are per source"
        );
        let almost = start + Duration::from_secs(299);
        assert!(
            correlator
                .observe("m", "Warning", "A", "x", almost, wall())
                .is_none()
        );
        let later = start + Duration::from_secs(300);
        assert!(
            correlator
                .observe("m", "Warning", "B", "x", later, wall())
                .is_some()
        );
        assert!(
            correlator
                .observe("m", "Warning", "C", "x", later, wall())
                .is_none()
        );
    }

    #[test]
    fn counts_run_on_while_the_spam_filter_holds_writes_back() {
        let config = CorrelatorConfig {
            spam_burst: 1,
            ..CorrelatorConfig::default()
        };
        let mut correlator = EventCorrelator::new(config, "node-1", "default");
        let start = Instant::now();
        assert!(
            correlator
                .observe("m", "Warning", "R", "x", start, wall())
                .is_some()
        );
        assert!(
            correlator
                .observe("m", "Warning", "R", "x", start, wall())
                .is_none()
        );
        let later = start + Duration::from_secs(300);
        let write = correlator
            .observe("m", "Warning", "R", "x", later, wall())
            .unwrap();
        assert_eq!(write.draft().count, 3);
    }

    #[test]
    fn ten_distinct_messages_are_combined() {
        let mut correlator = correlator();
        let now = Instant::now();
        let mut writes = Vec::new();
        for pid in 0..12 {
            let message = format!("Killed process {pid}");
            writes.push(
                correlator
                    .observe(
                        "kernel-monitor",
                        "Warning",
                        "OOMKilling",
                        &message,
                        now,
                        wall(),
                    )
                    .unwrap(),
            );
        }
        assert!(
            writes[..9]
                .iter()
                .all(|write| matches!(write, EventWrite::Create(_)))
        );
        let EventWrite::Create(combined) = &writes[9] else {
            panic!("the tenth is a new combined Event: {:?}", writes[9]);
        };
        assert_eq!(
            combined.message,
            "(combined from similar events): Killed process 9"
        );
        let EventWrite::Patch(repeat) = &writes[10] else {
            panic!("later ones patch the combined Event: {:?}", writes[10]);
        };
        assert_eq!(repeat.name, combined.name);
        assert_eq!(repeat.count, 2);
        assert_eq!(
            repeat.message,
            "(combined from similar events): Killed process 10"
        );
    }

    #[test]
    fn event_json_is_what_client_go_posts() {
        let mut correlator = correlator();
        let write = correlator
            .observe(
                "kernel-monitor",
                "Warning",
                "TaskHung",
                "task x blocked",
                Instant::now(),
                wall(),
            )
            .unwrap();
        let node = NodeReference {
            name: "node-1".into(),
            uid: "uid-1".into(),
            namespace: String::new(),
        };
        let event = write.draft().to_json(&node);
        assert_eq!(
            event["involvedObject"],
            json!({"kind": "Node", "name": "node-1", "uid": "uid-1", "apiVersion": "v1"})
        );
        assert_eq!(
            event["source"],
            json!({"component": "kernel-monitor", "host": "node-1"})
        );
        assert_eq!(event["metadata"]["namespace"], "default");
        assert_eq!(event["count"], 1);
        assert_eq!(event["firstTimestamp"], "2026-11-25T10:00:00Z");
        assert_eq!(event["reportingInstance"], "node-1");
    }
}
