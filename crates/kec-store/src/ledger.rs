//! The occurrence ledger decides how many occurrences an observation adds.
//!
//! Kubernetes keeps one Event object per (object, reason, message) and bumps its count on each
//! repeat, and a relist or a retried delivery replays observations already seen. The ledger
//! remembers, per Event object (cluster, namespace, name), the highest count seen and the uid it
//! was seen under, so that:
//! - a replay, a relist or an older observation delivered late adds nothing;
//! - a higher count adds exactly the difference;
//! - client-go's re-POST of an expired Event (same name, NEW uid, running count) adds only the
//!   difference to the count seen under the old uid (DESIGN.md: "occurrence deltas must follow
//!   (namespace, name) across uids");
//! - a new uid whose count is not above the old one is a new Event object that reuses the name:
//!   all its count is new.
//!
//! Entries are forgotten after `ledger_ttl` without observations (Events live about an hour in
//! the API server, so a day is ample); a forgotten Event seen again counts from scratch.
//!
//! Identities are 64-bit XXH3 hashes, not strings: an entry takes about 50 bytes in memory and
//! on disk whatever the names' lengths. Two live Event objects would have to collide for the
//! ledger to err; with a million live objects that chance is about 3 in 100 million.

use std::collections::HashMap;
use std::hash::Hasher;

use kec_model::EventRecord;
use serde::{Deserialize, Serialize};

/// How many earlier uids of the same Event name are remembered to drop late deliveries.
const PREVIOUS_UIDS_KEPT: usize = 4;

/// Identity of an Event object across incarnations: a hash of (cluster, namespace, name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LedgerKey(pub u64);

impl LedgerKey {
    pub fn of(record: &EventRecord) -> LedgerKey {
        let mut hasher = twox_hash::XxHash3_64::with_seed(0);
        for part in [&record.cluster, &record.namespace, &record.name] {
            hasher.write(part.as_bytes());
            // A separator that cannot occur in names keeps ("a", "bc") apart from ("ab", "c").
            hasher.write(&[0xff]);
        }
        LedgerKey(hasher.finish())
    }
}

/// The hash of an Event uid.
pub fn uid_hash(uid: &str) -> u64 {
    twox_hash::XxHash3_64::oneshot(uid.as_bytes())
}

/// What the ledger knows of one Event object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// Hash of the uid of the latest incarnation.
    pub uid: u64,
    pub max_count: i64,
    /// Hashes of the uids this name had before `uid` (most recent last).
    pub previous_uids: Vec<u64>,
    /// Event time of the latest observation, for forgetting old entries.
    pub last_time_ms: i64,
}

/// The ledger: in memory, persisted by the store at each checkpoint.
#[derive(Debug, Default)]
pub struct Ledger {
    entries: HashMap<LedgerKey, LedgerEntry>,
    dirty: Vec<LedgerKey>,
    /// While a batch is open: the entries as they were before the batch touched them.
    undo: Option<Vec<(LedgerKey, Option<LedgerEntry>)>>,
}

impl Ledger {
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Loads entries persisted earlier (not marked dirty).
    pub fn load(&mut self, entries: impl IntoIterator<Item = (LedgerKey, LedgerEntry)>) {
        self.entries.extend(entries);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Starts a batch whose changes [`Ledger::rollback_batch`] can undo (when the batch could
    /// not be made durable, so that a retry counts it again).
    pub fn begin_batch(&mut self) {
        self.undo = Some(Vec::new());
    }

    /// Keeps the changes of the open batch.
    pub fn commit_batch(&mut self) {
        self.undo = None;
    }

    /// Undoes the changes of the open batch.
    pub fn rollback_batch(&mut self) {
        let Some(undo) = self.undo.take() else { return };
        for (key, previous) in undo.into_iter().rev() {
            match previous {
                Some(entry) => {
                    self.entries.insert(key, entry);
                }
                None => {
                    self.entries.remove(&key);
                }
            }
        }
    }

    /// Occurrences `record` adds (0 for nothing new), updating the ledger.
    pub fn observe(&mut self, record: &EventRecord) -> i64 {
        let key = LedgerKey::of(record);
        let uid = uid_hash(&record.uid);
        let count = record.count.max(1);
        if let Some(undo) = &mut self.undo {
            undo.push((key, self.entries.get(&key).cloned()));
        }
        let Some(entry) = self.entries.get_mut(&key) else {
            self.entries.insert(
                key,
                LedgerEntry {
                    uid,
                    max_count: count,
                    previous_uids: Vec::new(),
                    last_time_ms: record.time_ms,
                },
            );
            self.dirty.push(key);
            return count;
        };
        let delta = if entry.uid == uid {
            let delta = (count - entry.max_count).max(0);
            entry.max_count = entry.max_count.max(count);
            delta
        } else if entry.previous_uids.contains(&uid) {
            // A late delivery of an earlier incarnation: already superseded.
            0
        } else {
            let delta = if count > entry.max_count {
                count - entry.max_count
            } else {
                count
            };
            let old_uid = std::mem::replace(&mut entry.uid, uid);
            entry.previous_uids.push(old_uid);
            if entry.previous_uids.len() > PREVIOUS_UIDS_KEPT {
                entry.previous_uids.remove(0);
            }
            entry.max_count = count;
            delta
        };
        if delta > 0 {
            entry.last_time_ms = entry.last_time_ms.max(record.time_ms);
            self.dirty.push(key);
        }
        delta
    }

    /// Re-applies an observation already accepted earlier (WAL replay). Idempotent.
    pub fn replay(&mut self, record: &EventRecord) {
        let key = LedgerKey::of(record);
        let uid = uid_hash(&record.uid);
        let count = record.count.max(1);
        match self.entries.get_mut(&key) {
            Some(entry) if entry.uid == uid => {
                entry.max_count = entry.max_count.max(count);
                entry.last_time_ms = entry.last_time_ms.max(record.time_ms);
            }
            Some(entry) if entry.previous_uids.contains(&uid) => {}
            _ => {
                self.observe(record);
                return;
            }
        }
        self.dirty.push(key);
    }

    /// Entries changed since the last call, for persisting.
    pub fn take_dirty(&mut self) -> Vec<(LedgerKey, LedgerEntry)> {
        let mut keys = std::mem::take(&mut self.dirty);
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .filter_map(|key| self.entries.get(&key).cloned().map(|entry| (key, entry)))
            .collect()
    }

    /// Forgets entries whose last observation is older than `cutoff_ms`; returns their keys.
    pub fn forget_older_than(&mut self, cutoff_ms: i64) -> Vec<LedgerKey> {
        let old: Vec<LedgerKey> = self
            .entries
            .iter()
            .filter(|(_, entry)| entry.last_time_ms < cutoff_ms)
            .map(|(key, _)| *key)
            .collect();
        for key in &old {
            self.entries.remove(key);
        }
        old
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kec_model::{Category, ObjectRef};

    fn observation(uid: &str, count: i64, time_ms: i64) -> EventRecord {
        EventRecord {
            seq: 0,
            cluster: "c".into(),
            namespace: "prod".into(),
            name: "web-1.17a".into(),
            uid: uid.into(),
            resource_version: count.to_string(),
            api_version: "v1".into(),
            object: ObjectRef::default(),
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            event_type: "Warning".into(),
            source_component: "kubelet".into(),
            source_host: "node-1".into(),
            reporting_controller: String::new(),
            reporting_instance: String::new(),
            action: String::new(),
            time_ms,
            time_is_receipt: false,
            first_ms: 0,
            count,
            occurrences: 0,
            category: Category::PodCrash,
            node: "node-1".into(),
            raw: kec_model::RawJson::null(),
        }
    }

    #[test]
    fn replay_and_relist_add_nothing() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", 1, 10)), 1);
        assert_eq!(ledger.observe(&observation("u1", 1, 10)), 0, "replay");
        assert_eq!(
            ledger.observe(&observation("u1", 3, 30)),
            2,
            "count growth adds the delta"
        );
        assert_eq!(
            ledger.observe(&observation("u1", 3, 30)),
            0,
            "relist of the same state"
        );
    }

    #[test]
    fn out_of_order_delivery_adds_nothing_late() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", 5, 50)), 5);
        assert_eq!(ledger.observe(&observation("u1", 4, 40)), 0);
        assert_eq!(ledger.observe(&observation("u1", 6, 60)), 1);
    }

    #[test]
    fn first_observation_counts_its_whole_count() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", 7, 70)), 7);
    }

    #[test]
    fn re_post_under_new_uid_follows_the_name() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", 5, 50)), 5);
        // The Event expired; client-go re-POSTs the same name with its running count 6.
        assert_eq!(ledger.observe(&observation("u2", 6, 60)), 1);
        // A late replay of the old incarnation is superseded.
        assert_eq!(ledger.observe(&observation("u1", 5, 50)), 0);
        // A genuinely new Event object reusing the name starts over.
        assert_eq!(ledger.observe(&observation("u3", 1, 70)), 1);
    }

    #[test]
    fn non_positive_counts_count_once() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", -5, 10)), 1);
        assert_eq!(ledger.observe(&observation("u1", 0, 10)), 0);
    }

    #[test]
    fn replay_is_idempotent_and_dirty_tracking_dedups() {
        let mut ledger = Ledger::new();
        let record = observation("u1", 4, 40);
        ledger.replay(&record);
        ledger.replay(&record);
        assert_eq!(ledger.observe(&record), 0);
        let dirty = ledger.take_dirty();
        assert_eq!(dirty.len(), 1);
        assert_eq!(dirty[0].1.max_count, 4);
        assert!(ledger.take_dirty().is_empty());
    }

    #[test]
    fn rollback_undoes_a_batch() {
        let mut ledger = Ledger::new();
        assert_eq!(ledger.observe(&observation("u1", 2, 10)), 2);
        ledger.begin_batch();
        assert_eq!(ledger.observe(&observation("u1", 5, 20)), 3);
        let mut other = observation("x", 1, 20);
        other.name = "other".into();
        assert_eq!(ledger.observe(&other), 1);
        ledger.rollback_batch();
        assert_eq!(
            ledger.observe(&observation("u1", 5, 20)),
            3,
            "retry counts again"
        );
        assert_eq!(ledger.observe(&other), 1);
    }

    #[test]
    fn forgetting_old_entries() {
        let mut ledger = Ledger::new();
        ledger.observe(&observation("u1", 1, 10));
        assert_eq!(ledger.forget_older_than(5).len(), 0);
        assert_eq!(ledger.forget_older_than(11).len(), 1);
        assert!(ledger.is_empty());
        assert_eq!(ledger.observe(&observation("u1", 1, 10)), 1);
    }
}
