//! [`FakeApiHandle`]: drives the fake API server's state from a test, injects faults, reads
//! what clients sent and what the ground truth is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::clock::format_time;
use crate::cluster::{EventGroundTruth, random_uid, signed};
use crate::config::FakeApiServerConfig;
use crate::emitter::{EventRecorder, InvolvedObject};
use crate::error::{Error, Result};
use crate::faults::{FaultId, FaultRule};
use crate::operations::{self, to_served_with_type};
use crate::recording::RecordedRequest;
use crate::resources::{API_RESOURCES, ApiResource, ResourceKind};
use crate::state::SharedState;

/// A cloneable handle on the fake API server's state. Every method takes effect at once and is
/// seen by clients exactly as the same write through the API would be (new resourceVersion,
/// watch frames), unless it says otherwise.
#[derive(Clone)]
pub struct FakeApiHandle {
    pub(crate) shared: Arc<SharedState>,
}

impl std::fmt::Debug for FakeApiHandle {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FakeApiHandle")
            .field("resource_version", &self.resource_version())
            .finish_non_exhaustive()
    }
}

/// What [`FakeApiHandle::load_watch_frames`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadedFrames {
    pub created: usize,
    pub updated: usize,
    pub deleted: usize,
    /// Frames that were not `{"type","object"}` of a served kind, or changed nothing.
    pub skipped: usize,
}

fn into_object(value: Value) -> Result<Map<String, Value>> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Error::InvalidObject {
            reason: format!("expected a JSON object, got {other}"),
        }),
    }
}

fn metadata_text(object: &Map<String, Value>, field: &str) -> String {
    object
        .get("metadata")
        .and_then(|metadata| metadata.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// The namespace of an object handed to the handle; Events default to their involved object's
/// namespace, then `default` (where the API server keeps Events about cluster-scoped objects).
fn namespace_for(kind: ResourceKind, object: &Map<String, Value>) -> Result<Option<String>> {
    if !kind.is_namespaced() {
        return Ok(None);
    }
    let namespace = metadata_text(object, "namespace");
    if !namespace.is_empty() {
        return Ok(Some(namespace));
    }
    if kind == ResourceKind::Event {
        let involved = object
            .get("involvedObject")
            .and_then(|involved| involved.get("namespace"))
            .and_then(Value::as_str)
            .unwrap_or("");
        return Ok(Some(if involved.is_empty() {
            "default".to_string()
        } else {
            involved.to_string()
        }));
    }
    Err(Error::InvalidObject {
        reason: format!("a {kind:?} needs metadata.namespace"),
    })
}

impl FakeApiHandle {
    /// State without a listening server (drive it with [`crate::app`] and `oneshot`).
    /// [`crate::FakeApiServer::start`] makes one of these and serves it.
    pub fn new(config: FakeApiServerConfig) -> FakeApiHandle {
        let handle = FakeApiHandle {
            shared: Arc::new(SharedState::new(config)),
        };
        handle.write_startup_objects();
        handle
    }

    pub fn config(&self) -> &FakeApiServerConfig {
        &self.shared.config
    }

    // ----- time and revisions -----

    /// The server's "now".
    pub fn now(&self) -> Timestamp {
        self.shared.clock.now()
    }

    /// Moves the server's clock forward (timestamps it writes, Event TTL).
    pub fn advance_clock(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// The newest resourceVersion (etcd revision).
    pub fn resource_version(&self) -> u64 {
        self.shared.cluster().revision()
    }

    /// Burns `count` revisions, as writes to other kinds (leases, endpoints) do in a real
    /// cluster: the next object gets a resourceVersion `count + 1` higher.
    pub fn burn_resource_versions(&self, count: u64) {
        self.shared.cluster().burn_revisions(count);
    }

    /// Compacts all history (etcd compaction at the newest revision): a watch or continue token
    /// from before it gets 410 (one revision before: 500 for Events).
    pub fn compact(&self) {
        let mut cluster = self.shared.cluster();
        let revision = cluster.revision();
        cluster.compact_to(revision);
    }

    /// Compacts history before `revision`.
    pub fn compact_to(&self, revision: u64) {
        self.shared.cluster().compact_to(revision);
    }

    /// The oldest revision still in history; revisions before it are compacted.
    pub fn compaction_point(&self) -> u64 {
        self.shared.cluster().compaction_point()
    }

    // ----- objects -----

    fn resource_of(kind: ResourceKind) -> &'static ApiResource {
        kind.storage_resource()
    }

    /// Creates an object through the API's create rules (validation included), as if POSTed.
    /// `object` is in the storage form (core/v1 for Events); the answer is as GET serves it.
    pub fn create_object(&self, kind: ResourceKind, object: Value) -> Result<Value> {
        let resource = Self::resource_of(kind);
        let object = into_object(object)?;
        let namespace = namespace_for(kind, &object)?;
        let created = operations::create(
            &mut self.shared.cluster(),
            resource,
            namespace.as_deref(),
            Value::Object(object),
        )?;
        Ok(to_served_with_type(resource, &created))
    }

    /// Creates the object, or replaces the stored one (no resourceVersion precondition, no
    /// validation): how a test sets Pods, Deployments, Nodes, ConfigMaps and Secrets.
    pub fn apply_object(&self, kind: ResourceKind, object: Value) -> Result<Value> {
        let resource = Self::resource_of(kind);
        let object = into_object(object)?;
        let namespace = namespace_for(kind, &object)?.unwrap_or_default();
        let name = metadata_text(&object, "name");
        let mut cluster = self.shared.cluster();
        let stored = if cluster.get(kind, &namespace, &name).is_some() {
            cluster
                .update(resource, &namespace, &name, object)?
                .object()
                .clone()
        } else {
            let mut object = object;
            if let Some(Value::Object(metadata)) = object.get_mut("metadata")
                && kind.is_namespaced()
            {
                metadata.insert("namespace".into(), Value::from(namespace));
            }
            cluster.create(resource, object, true)?
        };
        Ok(to_served_with_type(resource, &stored))
    }

    /// The stored object as GET serves it.
    pub fn get_object(&self, kind: ResourceKind, namespace: &str, name: &str) -> Option<Value> {
        let resource = Self::resource_of(kind);
        self.shared
            .cluster()
            .get(kind, namespace, name)
            .map(|object| to_served_with_type(resource, &object))
    }

    /// Deletes an object (a DELETED frame follows); returns its last state.
    pub fn delete_object(&self, kind: ResourceKind, namespace: &str, name: &str) -> Result<Value> {
        let resource = Self::resource_of(kind);
        let deleted = self.shared.cluster().delete(resource, namespace, name)?;
        Ok(to_served_with_type(resource, &deleted))
    }

    /// Current objects of a kind (in a namespace), in key order, as GET serves them.
    pub fn list_objects(&self, kind: ResourceKind, namespace: Option<&str>) -> Vec<Value> {
        let resource = Self::resource_of(kind);
        self.shared
            .cluster()
            .current_objects(kind, namespace)
            .iter()
            .map(|object| to_served_with_type(resource, object))
            .collect()
    }

    pub fn object_count(&self, kind: ResourceKind) -> usize {
        self.shared.cluster().object_count(kind)
    }

    // ----- events -----

    /// Creates a core/v1 Event (validated like a POST; namespace defaults as
    /// [`Self::create_object`] says).
    pub fn create_event(&self, event: Value) -> Result<Value> {
        self.create_object(ResourceKind::Event, event)
    }

    /// A producer that behaves like client-go's event recorder (see [`EventRecorder`]).
    pub fn event_recorder(&self, component: &str, host: &str) -> EventRecorder {
        EventRecorder::new(self.clone(), component, host)
    }

    /// Creates `count` Events in `namespace` as fast as possible (each its own revision), for
    /// very large lists. Returns their names.
    pub fn generate_events(&self, namespace: &str, count: usize) -> Result<Vec<String>> {
        let resource = ResourceKind::Event.storage_resource();
        let timestamp = format_time(self.now());
        let mut names = Vec::with_capacity(count);
        let mut cluster = self.shared.cluster();
        for index in 0..count {
            let pod = format!("bulk-{index:06}");
            let name = format!("{pod}.{:016x}", rand_suffix_nanos(index));
            let event = json!({
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {"kind": "Pod", "namespace": namespace, "name": pod,
                    "uid": random_uid(), "apiVersion": "v1"},
                "reason": "BackOff", "message": "Back-off restarting failed container app",
                "type": "Warning", "source": {"component": "kubelet", "host": "node-1"},
                "firstTimestamp": timestamp, "lastTimestamp": timestamp, "count": 1
            });
            cluster.create(resource, into_object(event)?, false)?;
            names.push(name);
        }
        Ok(names)
    }

    /// Applies watch-frame-shaped objects (`{"type":"ADDED"|"MODIFIED"|"DELETED","object":..}`,
    /// as `kec_sim::DemoCluster::advance_to` produces) as writes: ADDED/MODIFIED create or
    /// replace (keeping the object's uid and creationTimestamp), DELETED deletes. The server
    /// assigns its own resourceVersions; occurrences count into the ground truth.
    pub fn load_watch_frames(&self, frames: &[Value]) -> Result<LoadedFrames> {
        let mut loaded = LoadedFrames::default();
        let mut cluster = self.shared.cluster();
        for frame in frames {
            let frame_type = frame.get("type").and_then(Value::as_str).unwrap_or("");
            let Some(Value::Object(object)) = frame.get("object") else {
                loaded.skipped += 1;
                continue;
            };
            let api_version = object
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or("v1");
            let kind_name = object
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("Event");
            let Some(resource) = API_RESOURCES.iter().copied().find(|resource| {
                resource.kind == kind_name && resource.api_version() == api_version
            }) else {
                loaded.skipped += 1;
                continue;
            };
            let kind = resource.storage;
            // Bring events.k8s.io objects to the stored form first.
            let stored_form = match operations::to_storage_form(resource, object.clone()) {
                Some(stored_form) => stored_form,
                None => {
                    loaded.skipped += 1;
                    continue;
                }
            };
            let storage_resource = kind.storage_resource();
            let namespace = namespace_for(kind, &stored_form)?.unwrap_or_default();
            let name = metadata_text(&stored_form, "name");
            let existing = cluster.get(kind, &namespace, &name);
            match frame_type {
                "DELETED" => {
                    if existing.is_some() {
                        cluster.delete(storage_resource, &namespace, &name)?;
                        loaded.deleted += 1;
                    } else {
                        loaded.skipped += 1;
                    }
                }
                "ADDED" | "MODIFIED" => {
                    let same_uid = existing.as_ref().is_some_and(|existing| {
                        existing.pointer("/metadata/uid").and_then(Value::as_str)
                            == Some(metadata_text(&stored_form, "uid").as_str())
                    });
                    if existing.is_some() && same_uid {
                        match cluster.update(storage_resource, &namespace, &name, stored_form)? {
                            crate::cluster::WriteOutcome::Written(_) => loaded.updated += 1,
                            crate::cluster::WriteOutcome::Unchanged(_) => loaded.skipped += 1,
                        }
                    } else {
                        if existing.is_some() {
                            // A new object under the same name: the old one is gone first.
                            cluster.delete(storage_resource, &namespace, &name)?;
                        }
                        let mut stored_form = stored_form;
                        if let Some(Value::Object(metadata)) = stored_form.get_mut("metadata")
                            && kind.is_namespaced()
                        {
                            metadata.insert("namespace".into(), Value::from(namespace));
                        }
                        cluster.create(storage_resource, stored_form, true)?;
                        loaded.created += 1;
                    }
                }
                _ => loaded.skipped += 1,
            }
        }
        Ok(loaded)
    }

    // ----- TTL -----

    /// Expires every Event whose last write is at least the configured TTL old (DELETED frames
    /// follow). Returns how many.
    pub fn expire_due_events(&self) -> usize {
        self.expire_events_older_than(self.shared.config.event_ttl)
    }

    /// Expires every Event last written at least `age` ago, whatever the TTL.
    pub fn expire_events_older_than(&self, age: Duration) -> usize {
        let mut cluster = self.shared.cluster();
        let cutoff = cluster
            .now()
            .checked_sub(signed(age))
            .unwrap_or(Timestamp::MIN);
        cluster.expire_events_written_before(cutoff)
    }

    /// Expires one Event now, as TTL would. `false` if it does not exist.
    pub fn expire_event(&self, namespace: &str, name: &str) -> bool {
        self.shared.cluster().expire_event(namespace, name)
    }

    // ----- ground truth -----

    /// Occurrences of all Events ever written (sum of count increments across uids).
    pub fn total_occurrences(&self) -> u64 {
        self.shared
            .cluster()
            .ground_truth()
            .values()
            .map(|truth| truth.occurrences)
            .sum()
    }

    /// Occurrences of all Events ever written in one namespace.
    pub fn total_occurrences_in(&self, namespace: &str) -> u64 {
        self.shared
            .cluster()
            .ground_truth()
            .iter()
            .filter(|((event_namespace, _), _)| event_namespace == namespace)
            .map(|(_, truth)| truth.occurrences)
            .sum()
    }

    /// Occurrences produced under one Event name, across uids.
    pub fn occurrences(&self, namespace: &str, name: &str) -> u64 {
        self.shared
            .cluster()
            .ground_truth()
            .get(&(namespace.to_string(), name.to_string()))
            .map_or(0, |truth| truth.occurrences)
    }

    /// Ground truth per (namespace, name).
    pub fn event_ground_truth(&self) -> BTreeMap<(String, String), EventGroundTruth> {
        self.shared.cluster().ground_truth().clone()
    }

    // ----- faults -----

    pub fn inject_fault(&self, rule: FaultRule) -> FaultId {
        self.shared.faults().inject(rule)
    }

    pub fn clear_fault(&self, id: FaultId) {
        self.shared.faults().clear(id);
    }

    pub fn clear_faults(&self) {
        self.shared.faults().clear_all();
    }

    /// Rules still active (counted rules disappear when used up).
    pub fn active_faults(&self) -> Vec<FaultRule> {
        self.shared.faults().active()
    }

    // ----- requests and watches -----

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let mut requests = self.shared.requests().clone();
        requests.sort_by_key(|request| request.sequence);
        requests
    }

    pub fn clear_requests(&self) {
        self.shared.requests().clear();
    }

    /// Watch streams currently open.
    pub fn open_watches(&self) -> usize {
        self.shared.open_watches.load(Ordering::SeqCst)
    }

    /// Makes every watch that allowed bookmarks (on kinds other than Events) send one now.
    pub fn send_bookmarks(&self) {
        self.shared
            .bookmark_tx
            .send_modify(|generation| *generation += 1);
    }

    // ----- startup -----

    fn write_startup_objects(&self) {
        let now = format_time(self.now());
        for node in &self.shared.config.initial_nodes {
            let _ = self.apply_object(ResourceKind::Node, node_object(node, &now));
        }
        if !self.shared.config.startup_events {
            return;
        }
        let Some(node) = self.shared.config.initial_nodes.first().cloned() else {
            return;
        };
        let node_uid = self
            .get_object(ResourceKind::Node, "", &node)
            .and_then(|object| {
                object
                    .pointer("/metadata/uid")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        // kubelet refers to its node with the node name as uid; the node controller uses the
        // real uid.
        let kubelet = self.event_recorder("kubelet", &node);
        let kubelet_node = InvolvedObject::node(&node).with_uid(&node);
        let _ = kubelet.record(&kubelet_node, "Normal", "Starting", "Starting kubelet.");
        for condition in [
            "NodeHasSufficientMemory",
            "NodeHasNoDiskPressure",
            "NodeReady",
        ] {
            let _ = kubelet.record(
                &kubelet_node,
                "Normal",
                condition,
                &format!("Node {node} status is now: {condition}"),
            );
        }
        let controller = self.event_recorder("node-controller", "");
        let _ = controller.record(
            &InvolvedObject::node(&node).with_uid(&node_uid),
            "Normal",
            "RegisteredNode",
            &format!("Node {node} event: Registered Node {node} in Controller"),
        );
    }
}

/// Distinct hex suffixes for generated Event names without reading the clock per Event.
fn rand_suffix_nanos(index: usize) -> u64 {
    0x1800_0000_0000_0000_u64.wrapping_add((index as u64).wrapping_mul(0x9e37_79b9))
}

/// A Ready node as kubelet reports it.
pub fn node_object(name: &str, now: &str) -> Value {
    let condition = |condition_type: &str, status: &str, reason: &str, message: &str| {
        json!({"type": condition_type, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": now})
    };
    json!({
        "metadata": {"name": name, "labels": {
            "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64"}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            ],
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.36.0", "containerRuntimeVersion": "containerd://2.1.0",
                "operatingSystem": "linux", "architecture": "amd64"}
        }
    })
}
