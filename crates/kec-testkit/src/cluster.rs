//! [`ClusterState`]: the objects, the one global revision counter, the bounded change history
//! (etcd's, shared by all kinds) and the ground truth of Event occurrences.
//!
//! Invariants:
//! - `revision` only grows; every write takes the next revision, burned revisions are skipped.
//! - `history` holds every change with a revision >= `compaction_point`, oldest first, so the
//!   state at any revision `r >= compaction_point - 1` can be rebuilt and watched from.
//! - Stored objects carry `metadata.resourceVersion` = the revision of their last write, and no
//!   `kind`/`apiVersion` (added when served).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rand::Rng;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::clock::{Clock, format_time};
use crate::error::ApiStatus;
use crate::event_format::{normalize_core_event, occurrence_count};
use crate::resources::{ApiResource, ResourceKind, object_key};

/// What a change did to an object, as named in watch frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One write, as kept in the history.
#[derive(Debug)]
pub struct Change {
    pub revision: u64,
    pub kind: ResourceKind,
    pub key: String,
    pub change_type: ChangeType,
    /// The object before the change (`None` for ADDED).
    pub previous: Option<Arc<Value>>,
    /// The object after the change; for DELETED the last state with the deletion's revision.
    pub object: Arc<Value>,
}

#[derive(Debug, Clone)]
struct StoredObject {
    object: Arc<Value>,
    /// The object's JSON text, written once per write (as etcd keeps objects serialized), so a
    /// LIST copies text instead of serializing every object again.
    json: Arc<[u8]>,
    /// Server time of the last write (Event TTL counts from it).
    last_write: Timestamp,
}

impl StoredObject {
    fn new(object: &Arc<Value>, last_write: Timestamp) -> StoredObject {
        // Serializing a `Value` cannot fail (its map keys are strings).
        let json = serde_json::to_vec(&**object).unwrap_or_default();
        StoredObject {
            object: Arc::clone(object),
            json: json.into(),
            last_write,
        }
    }
}

/// What the fake knows about one Event name over its whole life, across uids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventGroundTruth {
    /// Occurrences produced: the sum of count increments, re-POSTs included.
    pub occurrences: u64,
    /// The occurrence count of the newest object with this name.
    pub last_count: u64,
    /// Every uid this name had, in order.
    pub uids: Vec<String>,
}

/// The outcome of an update or patch.
#[derive(Debug, Clone)]
pub enum WriteOutcome {
    /// Written at a new revision.
    Written(Arc<Value>),
    /// Identical to the stored object: nothing written, no revision, no watch frame.
    Unchanged(Arc<Value>),
}

impl WriteOutcome {
    pub fn object(&self) -> &Arc<Value> {
        match self {
            WriteOutcome::Written(object) | WriteOutcome::Unchanged(object) => object,
        }
    }
}

/// Why the state at a revision cannot be produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotError {
    /// Changes after the revision have been compacted away.
    Compacted { compaction_point: u64 },
    /// The revision does not exist yet.
    Future { current: u64 },
}

/// What a LIST page asks for.
#[derive(Clone, Copy)]
pub struct ListRequest<'a> {
    pub kind: ResourceKind,
    /// `None` lists all namespaces (or a cluster-scoped kind).
    pub namespace: Option<&'a str>,
    /// The revision whose state is listed.
    pub snapshot: u64,
    /// Key to start at (inclusive), from a continue token.
    pub start_key: Option<&'a str>,
    pub limit: Option<usize>,
    /// Selectors; only matching objects count towards `limit`.
    pub matches: &'a dyn Fn(&Value) -> bool,
    /// Whether to count the items after the page (`remainingItemCount`, only without selectors).
    pub count_remaining: bool,
}

/// One page of a LIST.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub items: Vec<Arc<Value>>,
    /// The stored JSON text of each item, when the item is the object as it is now (items
    /// that changed after the snapshot have none: serialize them).
    pub items_json: Vec<Option<Arc<[u8]>>>,
    /// Key of the last item when more items follow.
    pub last_key_if_more: Option<String>,
    /// Items after this page (only when counted).
    pub remaining_item_count: Option<u64>,
}

pub struct ClusterState {
    revision: u64,
    objects: Vec<BTreeMap<String, StoredObject>>,
    history: VecDeque<Arc<Change>>,
    history_capacity: usize,
    compaction_point: u64,
    ground_truth: BTreeMap<(String, String), EventGroundTruth>,
    clock: Clock,
    revision_tx: watch::Sender<u64>,
    /// `remainingItemCount`s of pages already served (see [`RemainingMemo`]).
    remaining_memo: Mutex<RemainingMemo>,
}

/// Where a counted page of a LIST ended: the next page's start key at one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PageEnd {
    kind: ResourceKind,
    snapshot: u64,
    prefix: Option<String>,
    next_start: String,
}

/// The `remainingItemCount` of recent pages, by where the next page starts. At a fixed snapshot
/// the objects in scope never change, so the next page's count is this one's less its items:
/// a LIST of N objects in pages of P costs N/P key walks instead of N²/(2P) (100k Events in
/// pages of 500 walked 10 million keys, the fake API server's top cost in `kec bench eventer`).
#[derive(Debug, Default)]
struct RemainingMemo {
    recent: VecDeque<(PageEnd, u64)>,
}

/// Pages remembered: a few LISTs paging at once (one per namespace, say).
const REMAINING_MEMO_PAGES: usize = 64;

impl RemainingMemo {
    fn take(&mut self, end: &PageEnd) -> Option<u64> {
        let position = self.recent.iter().position(|(known, _)| known == end)?;
        self.recent.remove(position).map(|(_, remaining)| remaining)
    }

    fn put(&mut self, end: PageEnd, remaining: u64) {
        if self.recent.len() >= REMAINING_MEMO_PAGES {
            self.recent.pop_front();
        }
        self.recent.push_back((end, remaining));
    }
}

impl ClusterState {
    pub fn new(
        initial_revision: u64,
        history_capacity: usize,
        clock: Clock,
        revision_tx: watch::Sender<u64>,
    ) -> ClusterState {
        revision_tx.send_replace(initial_revision);
        ClusterState {
            revision: initial_revision,
            objects: ResourceKind::ALL.iter().map(|_| BTreeMap::new()).collect(),
            history: VecDeque::new(),
            history_capacity: history_capacity.max(1),
            // Nothing before the start was ever recorded: treat it as compacted.
            compaction_point: initial_revision,
            ground_truth: BTreeMap::new(),
            clock,
            revision_tx,
            remaining_memo: Mutex::new(RemainingMemo::default()),
        }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn compaction_point(&self) -> u64 {
        self.compaction_point
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn store(&self, kind: ResourceKind) -> &BTreeMap<String, StoredObject> {
        &self.objects[kind.index()]
    }

    fn store_mut(&mut self, kind: ResourceKind) -> &mut BTreeMap<String, StoredObject> {
        &mut self.objects[kind.index()]
    }

    pub fn get(&self, kind: ResourceKind, namespace: &str, name: &str) -> Option<Arc<Value>> {
        self.store(kind)
            .get(&object_key(kind, namespace, name))
            .map(|stored| Arc::clone(&stored.object))
    }

    pub fn object_count(&self, kind: ResourceKind) -> usize {
        self.store(kind).len()
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    fn publish(&mut self, change: Change) {
        self.history.push_back(Arc::new(change));
        while self.history.len() > self.history_capacity {
            if let Some(dropped) = self.history.pop_front() {
                self.compaction_point = self.compaction_point.max(dropped.revision + 1);
            }
        }
        self.revision_tx.send_replace(self.revision);
    }

    /// Skips `count` revisions, as writes to kinds the fake does not serve (and leases of other
    /// components) would: resourceVersions seen by a client jump.
    pub fn burn_revisions(&mut self, count: u64) {
        self.revision = self.revision.saturating_add(count);
        self.revision_tx.send_replace(self.revision);
    }

    /// Drops history before `revision` (etcd compaction): watches and continue tokens from
    /// before it get 410.
    pub fn compact_to(&mut self, revision: u64) {
        let revision = revision.min(self.revision);
        while self
            .history
            .front()
            .is_some_and(|change| change.revision < revision)
        {
            self.history.pop_front();
        }
        self.compaction_point = self.compaction_point.max(revision);
    }

    /// Creates an object. `object` must have `metadata.name` (or `generateName`) and, for
    /// namespaced kinds, `metadata.namespace`. `keep_identity` keeps a given uid and
    /// creationTimestamp (loading recorded objects); otherwise the server assigns them.
    pub fn create(
        &mut self,
        resource: &ApiResource,
        mut object: Map<String, Value>,
        keep_identity: bool,
    ) -> Result<Arc<Value>, ApiStatus> {
        let kind = resource.storage;
        let now = self.clock.now();
        let mut metadata = take_metadata(&mut object);
        if metadata_str(&metadata, "name").is_empty() {
            let prefix = metadata_str(&metadata, "generateName");
            if prefix.is_empty() {
                return Err(ApiStatus::invalid(
                    resource.kind,
                    resource.group,
                    "",
                    &[crate::error::FieldError::required("metadata.name")],
                ));
            }
            let generated = format!("{prefix}{}", random_suffix(5));
            metadata.insert("name".into(), Value::from(generated));
        }
        let name = metadata_str(&metadata, "name");
        let namespace = metadata_str(&metadata, "namespace");
        let key = object_key(kind, &namespace, &name);
        if self.store(kind).contains_key(&key) {
            return Err(ApiStatus::already_exists(
                resource.plural,
                resource.group,
                &name,
            ));
        }
        if !keep_identity || metadata_str(&metadata, "uid").is_empty() {
            metadata.insert("uid".into(), Value::from(random_uid()));
        }
        if !keep_identity || metadata_str(&metadata, "creationTimestamp").is_empty() {
            metadata.insert("creationTimestamp".into(), Value::from(format_time(now)));
        }
        for server_owned in [
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            metadata.remove(server_owned);
        }
        let revision = self.next_revision();
        metadata.insert("resourceVersion".into(), Value::from(revision.to_string()));
        store_form(kind, &mut object, metadata);
        let object = Arc::new(Value::Object(object));
        if kind == ResourceKind::Event {
            self.count_created_event(&namespace, &name, &object);
        }
        self.store_mut(kind)
            .insert(key.clone(), StoredObject::new(&object, now));
        self.publish(Change {
            revision,
            kind,
            key,
            change_type: ChangeType::Added,
            previous: None,
            object: Arc::clone(&object),
        });
        Ok(object)
    }

    /// Replaces an existing object with `new_object` (identity fields are kept from the stored
    /// object). A result identical to the stored object is not written.
    pub fn update(
        &mut self,
        resource: &ApiResource,
        namespace: &str,
        name: &str,
        mut new_object: Map<String, Value>,
    ) -> Result<WriteOutcome, ApiStatus> {
        let kind = resource.storage;
        let key = object_key(kind, namespace, name);
        let Some(existing) = self.store(kind).get(&key).cloned() else {
            return Err(ApiStatus::not_found(resource.plural, resource.group, name));
        };
        let mut metadata = take_metadata(&mut new_object);
        let existing_metadata = existing
            .object
            .get("metadata")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        // Identity and server-owned fields cannot be changed by a client.
        for server_owned in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "resourceVersion",
            "deletionTimestamp",
            "generation",
        ] {
            match existing_metadata.get(server_owned) {
                Some(value) => {
                    metadata.insert(server_owned.to_string(), value.clone());
                }
                None => {
                    metadata.remove(server_owned);
                }
            }
        }
        store_form(kind, &mut new_object, metadata);
        let candidate = Value::Object(new_object);
        if candidate == *existing.object {
            return Ok(WriteOutcome::Unchanged(existing.object));
        }
        let revision = self.next_revision();
        let mut candidate = candidate;
        set_resource_version(&mut candidate, revision);
        let object = Arc::new(candidate);
        if kind == ResourceKind::Event {
            self.count_updated_event(namespace, name, &existing.object, &object);
        }
        let last_write = self.clock.now();
        self.store_mut(kind)
            .insert(key.clone(), StoredObject::new(&object, last_write));
        self.publish(Change {
            revision,
            kind,
            key,
            change_type: ChangeType::Modified,
            previous: Some(existing.object),
            object: Arc::clone(&object),
        });
        Ok(WriteOutcome::Written(object))
    }

    /// Deletes an object; the DELETED change carries its last state at the deletion's revision.
    pub fn delete(
        &mut self,
        resource: &ApiResource,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiStatus> {
        let kind = resource.storage;
        let key = object_key(kind, namespace, name);
        let Some(existing) = self.store_mut(kind).remove(&key) else {
            return Err(ApiStatus::not_found(resource.plural, resource.group, name));
        };
        Ok(self.publish_deletion(kind, key, existing.object))
    }

    fn publish_deletion(
        &mut self,
        kind: ResourceKind,
        key: String,
        last: Arc<Value>,
    ) -> Arc<Value> {
        let revision = self.next_revision();
        let mut tombstone = (*last).clone();
        set_resource_version(&mut tombstone, revision);
        let tombstone = Arc::new(tombstone);
        self.publish(Change {
            revision,
            kind,
            key,
            change_type: ChangeType::Deleted,
            previous: Some(last),
            object: Arc::clone(&tombstone),
        });
        tombstone
    }

    /// Deletes (as TTL expiry) every Event last written at or before `cutoff`, oldest key first.
    pub fn expire_events_written_before(&mut self, cutoff: Timestamp) -> usize {
        let expired = self
            .store(ResourceKind::Event)
            .iter()
            .filter(|(_, stored)| stored.last_write <= cutoff)
            .map(|(key, _)| key.clone())
            .collect::<Vec<_>>();
        for key in &expired {
            if let Some(stored) = self.store_mut(ResourceKind::Event).remove(key) {
                self.publish_deletion(ResourceKind::Event, key.clone(), stored.object);
            }
        }
        expired.len()
    }

    /// Expires one Event now, whatever its age. `false` when it does not exist.
    pub fn expire_event(&mut self, namespace: &str, name: &str) -> bool {
        let key = object_key(ResourceKind::Event, namespace, name);
        match self.store_mut(ResourceKind::Event).remove(&key) {
            Some(stored) => {
                self.publish_deletion(ResourceKind::Event, key, stored.object);
                true
            }
            None => false,
        }
    }

    // ----- ground truth -----

    fn count_created_event(&mut self, namespace: &str, name: &str, object: &Value) {
        let count = occurrence_count(object);
        let uid = object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let truth = self
            .ground_truth
            .entry((namespace.to_string(), name.to_string()))
            .or_default();
        // client-go re-POSTs an expired Event under the same name with its running count: only
        // the increase over the last count is new. A lower count starts a new series.
        let produced = if count > truth.last_count {
            count - truth.last_count
        } else {
            count
        };
        truth.occurrences += produced;
        truth.last_count = count;
        truth.uids.push(uid);
    }

    fn count_updated_event(&mut self, namespace: &str, name: &str, before: &Value, after: &Value) {
        let before_count = occurrence_count(before);
        let after_count = occurrence_count(after);
        let truth = self
            .ground_truth
            .entry((namespace.to_string(), name.to_string()))
            .or_default();
        truth.occurrences += after_count.saturating_sub(before_count);
        truth.last_count = after_count;
    }

    /// Whether an Event of this name exists or ever existed.
    pub fn event_name_ever_used(&self, namespace: &str, name: &str) -> bool {
        self.ground_truth
            .contains_key(&(namespace.to_string(), name.to_string()))
    }

    pub fn ground_truth(&self) -> &BTreeMap<(String, String), EventGroundTruth> {
        &self.ground_truth
    }

    // ----- reads at a revision -----

    /// Whether a read at `revision` is still possible. Like an etcd range read, it needs the
    /// revision itself to be at or after the compaction point (a watch only needs the
    /// changes after its revision, see [`ClusterState::changes_after`]).
    pub fn snapshot_available(&self, revision: u64) -> Result<(), SnapshotError> {
        if revision > self.revision {
            return Err(SnapshotError::Future {
                current: self.revision,
            });
        }
        if revision < self.compaction_point {
            return Err(SnapshotError::Compacted {
                compaction_point: self.compaction_point,
            });
        }
        Ok(())
    }

    /// One page of a LIST, as the objects were at `request.snapshot`.
    pub fn list_page(&self, request: &ListRequest<'_>) -> Result<ListPage, SnapshotError> {
        let ListRequest {
            kind,
            namespace,
            snapshot,
            start_key,
            limit,
            matches,
            count_remaining,
        } = *request;
        self.snapshot_available(snapshot)?;
        // The state at `snapshot` = current objects, overlaid with their state before every
        // later change of this kind (walking back from the newest, the oldest "before" wins).
        let mut overlay: BTreeMap<&str, Option<&Arc<Value>>> = BTreeMap::new();
        let first_later = self
            .history
            .partition_point(|change| change.revision <= snapshot);
        for change in self.history.range(first_later..).rev() {
            if change.kind == kind {
                overlay.insert(change.key.as_str(), change.previous.as_ref());
            }
        }
        let prefix = namespace.map(|namespace| format!("{namespace}/"));
        let lower = match (start_key, prefix.as_deref()) {
            (Some(start), Some(prefix)) if start < prefix => prefix.to_string(),
            (Some(start), _) => start.to_string(),
            (None, Some(prefix)) => prefix.to_string(),
            (None, None) => String::new(),
        };
        let in_scope = |key: &str| {
            prefix
                .as_deref()
                .is_none_or(|prefix| key.starts_with(prefix))
        };

        let mut current = self
            .store(kind)
            .range::<str, _>((
                std::ops::Bound::Included(lower.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(key, stored)| (key.as_str(), Some((&stored.object, Some(&stored.json)))))
            .peekable();
        let mut overlaid = overlay
            .range::<str, _>((
                std::ops::Bound::Included(lower.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .map(|(key, object)| (*key, object.map(|object| (object, None))))
            .peekable();
        let mut items = Vec::new();
        let mut items_json = Vec::new();
        let mut last_key = None;
        let mut more = false;
        let mut remaining = 0_u64;
        loop {
            // Merge the two key-ordered streams; the overlay wins on equal keys.
            let next = match (current.peek(), overlaid.peek()) {
                (None, None) => None,
                (Some(_), None) => current.next(),
                (None, Some(_)) => overlaid.next(),
                (Some((current_key, _)), Some((overlay_key, _))) => {
                    if current_key < overlay_key {
                        current.next()
                    } else {
                        if current_key == overlay_key {
                            current.next();
                        }
                        overlaid.next()
                    }
                }
            };
            let Some((key, object)) = next else { break };
            if !in_scope(key) {
                // Keys are ordered and the range starts at the namespace's prefix: the first key
                // outside it is past every key inside it.
                break;
            }
            let Some((object, json)) = object else {
                continue;
            };
            if !matches(object) {
                continue;
            }
            if limit.is_some_and(|limit| items.len() >= limit) {
                more = true;
                if count_remaining {
                    // Only without selectors: every object in scope counts, so count keys
                    // instead of walking the merge (`key` itself is the first remaining one),
                    // or take the previous page's count less this page's items.
                    let memo = start_key.and_then(|start| {
                        self.memo().take(&PageEnd {
                            kind,
                            snapshot,
                            prefix: prefix.clone(),
                            next_start: start.to_string(),
                        })
                    });
                    remaining = match memo {
                        Some(from_start) => from_start.saturating_sub(items.len() as u64),
                        None => self.count_in_scope_from(kind, key, prefix.as_deref(), &overlay),
                    };
                    if let Some(last_key) = &last_key {
                        self.memo().put(
                            PageEnd {
                                kind,
                                snapshot,
                                prefix: prefix.clone(),
                                next_start: format!("{last_key}\u{0}"),
                            },
                            remaining,
                        );
                    }
                }
                break;
            }
            items.push(Arc::clone(object));
            items_json.push(json.map(Arc::clone));
            last_key = Some(key.to_string());
        }
        Ok(ListPage {
            items,
            items_json,
            last_key_if_more: if more { last_key } else { None },
            remaining_item_count: (more && count_remaining).then_some(remaining),
        })
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, RemainingMemo> {
        self.remaining_memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Objects at the snapshot with keys from `first_key` (inclusive) within `prefix`: the
    /// current ones, corrected by the overlay of their state at the snapshot.
    fn count_in_scope_from(
        &self,
        kind: ResourceKind,
        first_key: &str,
        prefix: Option<&str>,
        overlay: &BTreeMap<&str, Option<&Arc<Value>>>,
    ) -> u64 {
        let in_scope = |key: &str| prefix.is_none_or(|prefix| key.starts_with(prefix));
        let range = (
            std::ops::Bound::Included(first_key),
            std::ops::Bound::Unbounded,
        );
        let current = self
            .store(kind)
            .range::<str, _>(range)
            .take_while(|(key, _)| in_scope(key))
            .count();
        let mut count = i64::try_from(current).unwrap_or(i64::MAX);
        for (key, at_snapshot) in overlay.range::<str, _>(range) {
            if !in_scope(key) {
                break;
            }
            let exists_now = self.store(kind).contains_key(*key);
            match (exists_now, at_snapshot.is_some()) {
                (true, false) => count -= 1,
                (false, true) => count += 1,
                _ => {}
            }
        }
        u64::try_from(count).unwrap_or(0)
    }

    /// Changes after `cursor`, oldest first; `Err` when some were compacted away.
    pub fn changes_after(&self, cursor: u64) -> Result<Vec<Arc<Change>>, SnapshotError> {
        if cursor.saturating_add(1) < self.compaction_point {
            return Err(SnapshotError::Compacted {
                compaction_point: self.compaction_point,
            });
        }
        let first = self
            .history
            .partition_point(|change| change.revision <= cursor);
        Ok(self.history.range(first..).cloned().collect())
    }

    /// Current objects of `kind` (in `namespace`), in key order, for a watch's initial burst.
    pub fn current_objects(&self, kind: ResourceKind, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let prefix = namespace.map(|namespace| format!("{namespace}/"));
        self.store(kind)
            .iter()
            .filter(|(key, _)| {
                prefix
                    .as_deref()
                    .is_none_or(|prefix| key.starts_with(prefix))
            })
            .map(|(_, stored)| Arc::clone(&stored.object))
            .collect()
    }
}

fn take_metadata(object: &mut Map<String, Value>) -> Map<String, Value> {
    match object.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => Map::new(),
    }
}

fn metadata_str(metadata: &Map<String, Value>, field: &str) -> String {
    metadata
        .get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn drop_empty_strings(metadata: &mut Map<String, Value>) {
    metadata.retain(|_, value| !matches!(value, Value::Null) && value.as_str() != Some(""));
}

pub fn set_resource_version(object: &mut Value, revision: u64) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("resourceVersion".into(), Value::from(revision.to_string()));
    }
}

/// A version-4 UUID, the format of every `metadata.uid`.
pub fn random_uid() -> String {
    let bits: u128 = rand::rng().random();
    let bits = (bits & !(0xf_u128 << 76) | (0x4_u128 << 76)) & !(0x3_u128 << 62) | (0x2_u128 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// `generateName` suffixes use apimachinery's alphabet (no vowels, no look-alike digits).
pub fn random_suffix(length: usize) -> String {
    const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..length)
        .map(|_| char::from(SAFE_ALPHABET[rng.random_range(0..SAFE_ALPHABET.len())]))
        .collect()
}

/// `Duration` to a `jiff::SignedDuration`, saturating.
pub fn signed(duration: Duration) -> jiff::SignedDuration {
    jiff::SignedDuration::try_from(duration).unwrap_or(jiff::SignedDuration::MAX)
}

/// Puts an object in the form it is stored in: metadata without empty strings, no kind or
/// apiVersion (LIST items carry none), and Events normalized as the API server serves them.
fn store_form(
    kind: ResourceKind,
    object: &mut serde_json::Map<String, Value>,
    mut metadata: serde_json::Map<String, Value>,
) {
    drop_empty_strings(&mut metadata);
    object.insert("metadata".into(), Value::Object(metadata));
    object.remove("kind");
    object.remove("apiVersion");
    if kind == ResourceKind::Event {
        normalize_core_event(object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClockMode;
    use crate::resources::{CORE_EVENTS, PODS};
    use serde_json::json;

    /// A page of the Pods of `ns` at `snapshot`, without selectors (so counted).
    fn pods_page(
        state: &ClusterState,
        snapshot: u64,
        start_key: Option<&str>,
        limit: Option<usize>,
    ) -> ListPage {
        state
            .list_page(&ListRequest {
                kind: ResourceKind::Pod,
                namespace: Some("ns"),
                snapshot,
                start_key,
                limit,
                matches: &|_| true,
                count_remaining: true,
            })
            .unwrap()
    }

    fn state(history: usize) -> ClusterState {
        let (revision_tx, _) = watch::channel(0);
        ClusterState::new(100, history, Clock::new(ClockMode::System), revision_tx)
    }

    fn pod(namespace: &str, name: &str) -> Map<String, Value> {
        match json!({"metadata": {"namespace": namespace, "name": name}, "spec": {}}) {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn uids_are_version_4() {
        let uid = random_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert!(matches!(&uid[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn snapshots_rebuild_the_past_across_later_writes() {
        let mut state = state(100);
        for name in ["a", "b", "c"] {
            state.create(&PODS, pod("ns", name), false).unwrap();
        }
        let snapshot = state.revision();
        state.delete(&PODS, "ns", "a").unwrap();
        state.create(&PODS, pod("ns", "aa"), false).unwrap();
        let mut changed = pod("ns", "b");
        changed.insert("spec".into(), json!({"nodeName": "n"}));
        state.update(&PODS, "ns", "b", changed).unwrap();

        let page = pods_page(&state, snapshot, None, None);
        let names = page
            .items
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(page.items[1]["spec"], json!({}));
    }

    #[test]
    fn remaining_item_counts_describe_the_snapshot_not_the_present() {
        let mut state = state(100);
        for name in ["a", "b", "c", "d", "e"] {
            state.create(&PODS, pod("ns", name), false).unwrap();
        }
        state.create(&PODS, pod("other", "x"), false).unwrap();
        let snapshot = state.revision();
        state.delete(&PODS, "ns", "d").unwrap();
        state.create(&PODS, pod("ns", "f"), false).unwrap();
        state.create(&PODS, pod("ns", "g"), false).unwrap();
        let page = pods_page(&state, snapshot, None, Some(2));
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.remaining_item_count, Some(3));
        assert_eq!(page.last_key_if_more.as_deref(), Some("ns/b"));
    }

    #[test]
    fn remaining_item_counts_stay_right_page_after_page_while_the_store_changes() {
        let mut state = state(100);
        for index in 0..23 {
            state
                .create(&PODS, pod("ns", &format!("p{index:02}")), false)
                .unwrap();
        }
        state.create(&PODS, pod("other", "x"), false).unwrap();
        let snapshot = state.revision();
        let mut start: Option<String> = None;
        let mut counts = Vec::new();
        loop {
            let page = pods_page(&state, snapshot, start.as_deref(), Some(5));
            let Some(last_key) = page.last_key_if_more else {
                break;
            };
            counts.push(page.remaining_item_count);
            // Changes after the snapshot, in and beyond the pages still to come, change nothing.
            state
                .delete(&PODS, "ns", &format!("p{:02}", 22 - counts.len()))
                .unwrap();
            state
                .create(&PODS, pod("ns", &format!("q{}", counts.len())), false)
                .unwrap();
            start = Some(format!("{last_key}\u{0}"));
        }
        assert_eq!(counts, [Some(18), Some(13), Some(8), Some(3)]);
        // Each page's count was taken by the next page; the last one has none to pass on.
        assert_eq!(state.memo().recent.len(), 1);
        // A page asked for afresh (no memo for this start) counts the same.
        let fresh = pods_page(&state, snapshot, Some("ns/p04\u{0}"), Some(5));
        assert_eq!(fresh.remaining_item_count, Some(13));
    }

    #[test]
    fn listed_items_carry_their_stored_text_unless_they_changed_after_the_snapshot() {
        let mut state = state(100);
        for name in ["a", "b"] {
            state.create(&PODS, pod("ns", name), false).unwrap();
        }
        let snapshot = state.revision();
        state.delete(&PODS, "ns", "a").unwrap();
        let page = pods_page(&state, snapshot, None, None);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items_json.len(), 2);
        assert!(page.items_json[0].is_none(), "a changed after the snapshot");
        let stored = page.items_json[1].as_deref().unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(stored).unwrap(),
            *page.items[1]
        );
    }

    #[test]
    fn history_overflow_moves_the_compaction_point() {
        let mut state = state(2);
        for name in ["a", "b", "c", "d"] {
            state.create(&PODS, pod("ns", name), false).unwrap();
        }
        // Revisions 101..=104; 101 and 102 were dropped.
        assert_eq!(state.compaction_point(), 103);
        assert!(state.changes_after(102).is_ok());
        assert!(state.changes_after(101).is_err());
        assert_eq!(state.changes_after(102).unwrap().len(), 2);
    }

    #[test]
    fn ground_truth_follows_names_across_uids() {
        let mut state = state(100);
        let event = |count: u64| match json!({"metadata": {"namespace": "ns", "name": "e"},
            "involvedObject": {"namespace": "ns"}, "count": count})
        {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        state.create(&CORE_EVENTS, event(1), false).unwrap();
        state.update(&CORE_EVENTS, "ns", "e", event(3)).unwrap();
        assert!(state.expire_event("ns", "e"));
        state.create(&CORE_EVENTS, event(4), false).unwrap();
        let truth = &state.ground_truth()[&("ns".to_string(), "e".to_string())];
        assert_eq!(truth.occurrences, 4);
        assert_eq!(truth.uids.len(), 2);
        assert_ne!(truth.uids[0], truth.uids[1]);
    }
}
