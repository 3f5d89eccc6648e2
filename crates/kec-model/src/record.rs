//! The normalized event record: one observation of an Event that added occurrences.

use serde::{Deserialize, Serialize};

use crate::Category;

/// The object an Event is about (`involvedObject` in core/v1, `regarding` in events.k8s.io/v1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    pub kind: String,
    /// Empty for cluster-scoped objects such as Nodes.
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub api_version: String,
    /// e.g. `spec.containers{app}`: which container of a pod the Event is about.
    pub field_path: String,
}

/// One stored observation of a Kubernetes Event.
///
/// Invariant: `occurrences >= 1` once the ledger has accepted the record; the sum of
/// `occurrences` over records is the true number of times things happened, whereas `count`
/// is the cumulative figure Kubernetes reported at this observation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Store-assigned sequence number, unique and increasing in ingest order (0 before ingest).
    #[serde(default)]
    pub seq: u64,
    pub cluster: String,
    /// Namespace of the Event object itself.
    pub namespace: String,
    /// Name of the Event object.
    pub name: String,
    /// uid of the Event object (its name when the object has none).
    pub uid: String,
    pub resource_version: String,
    /// `v1` or `events.k8s.io/v1`: the API version the Event was read as.
    pub api_version: String,
    pub object: ObjectRef,
    pub reason: String,
    pub message: String,
    /// `Normal` or `Warning` (other values are kept as given).
    #[serde(rename = "type")]
    pub event_type: String,
    pub source_component: String,
    pub source_host: String,
    pub reporting_controller: String,
    pub reporting_instance: String,
    pub action: String,
    /// The time the Event says it happened (see [`crate::convert`] for the fallback order).
    pub time_ms: i64,
    /// True when the Event carried no time at all and `time_ms` is the time kec received it.
    #[serde(default)]
    pub time_is_receipt: bool,
    /// First seen, as the Event says, or `time_ms`.
    pub first_ms: i64,
    /// Cumulative count as Kubernetes reports it, normalized to at least 1.
    pub count: i64,
    /// Occurrences this observation added (set by the ledger; 0 before).
    pub occurrences: i64,
    pub category: Category,
    /// The node the object runs on, when known: the Node itself, or the reporting kubelet's host.
    pub node: String,
    /// The original object as received, less `metadata.managedFields` (for the details view).
    pub raw: RawJson,
}

/// A JSON document kept as the text it arrived in: never re-parsed into a tree on the ingest
/// path, and serialized as embedded JSON (not as a string).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<serde_json::value::RawValue>);

impl RawJson {
    /// Wraps text that is known to be one valid JSON document.
    pub fn from_json_text(text: String) -> Result<RawJson, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(RawJson)
    }

    /// The JSON text of a value.
    pub fn from_value(value: &serde_json::Value) -> RawJson {
        // Serializing a Value cannot fail (its map keys are strings), and its text is valid JSON.
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_string());
        RawJson::from_json_text(text).unwrap_or_else(|_| RawJson::null())
    }

    /// JSON `null`.
    pub fn null() -> RawJson {
        RawJson(serde_json::value::RawValue::NULL.to_owned())
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Parses the text into a tree (for display and tests; not on the ingest path).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::from_str(self.get()).unwrap_or(serde_json::Value::Null)
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &RawJson) -> bool {
        self.get() == other.get()
    }
}

impl Default for RawJson {
    fn default() -> RawJson {
        RawJson::null()
    }
}

impl EventRecord {
    /// True when the Event's type is `Warning`.
    pub fn is_warning(&self) -> bool {
        self.event_type == "Warning"
    }
}
