//! Event objects as kube-apiserver serializes them.
//!
//! The API server decodes an Event into a Go struct and encodes it back, so what comes out is
//! shaped by the Go field tags, whatever the client sent: unknown fields vanish, `omitempty`
//! strings and counts disappear when empty, and non-omitempty fields are always there
//! (`eventTime: null`, `reportingComponent: ""`, `source: {}`). Events are stored as core/v1
//! and converted to events.k8s.io/v1 on the way out (and back on the way in) with the field
//! mapping of `pkg/apis/events/v1/conversion.go`.

use serde_json::{Map, Value};

/// A serialized field: its name and, when it is always written, its zero value (`None` means
/// `omitempty`).
type FieldSpec = (&'static str, Option<fn() -> Value>);

/// core/v1 Event fields.
const CORE_EVENT_FIELDS: &[FieldSpec] = &[
    ("metadata", Some(empty_object)),
    ("involvedObject", Some(empty_object)),
    ("reason", None),
    ("message", None),
    ("source", Some(empty_object)),
    ("firstTimestamp", Some(null)),
    ("lastTimestamp", Some(null)),
    ("count", None),
    ("type", None),
    ("eventTime", Some(null)),
    ("series", None),
    ("action", None),
    ("related", None),
    ("reportingComponent", Some(empty_string)),
    ("reportingInstance", Some(empty_string)),
];

/// events.k8s.io/v1 Event fields, same convention.
const EVENTS_V1_FIELDS: &[FieldSpec] = &[
    ("metadata", Some(empty_object)),
    ("eventTime", Some(null)),
    ("series", None),
    ("reportingController", None),
    ("reportingInstance", None),
    ("action", None),
    ("reason", None),
    ("regarding", Some(empty_object)),
    ("related", None),
    ("note", None),
    ("type", None),
    ("deprecatedSource", Some(empty_object)),
    ("deprecatedFirstTimestamp", Some(null)),
    ("deprecatedLastTimestamp", Some(null)),
    ("deprecatedCount", None),
];

/// `(events.k8s.io/v1 name, core/v1 name)` of the fields that are renamed by the conversion;
/// the others (metadata, eventTime, series, action, reason, related, type, reportingInstance)
/// keep their name.
const RENAMED_FIELDS: &[(&str, &str)] = &[
    ("reportingController", "reportingComponent"),
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

fn empty_object() -> Value {
    Value::Object(Map::new())
}

fn null() -> Value {
    Value::Null
}

fn empty_string() -> Value {
    Value::from("")
}

/// Reshapes a core/v1 Event (without kind/apiVersion) the way a Go round trip does.
pub fn normalize_core_event(event: &mut Map<String, Value>) {
    normalize_fields(event, CORE_EVENT_FIELDS);
    for reference in ["involvedObject", "related"] {
        if let Some(Value::Object(reference)) = event.get_mut(reference) {
            drop_empty_values(reference);
        }
    }
    if let Some(Value::Object(source)) = event.get_mut("source") {
        drop_empty_values(source);
    }
}

/// Keeps the known fields, drops empty omitempty ones and fills the always-written ones.
fn normalize_fields(object: &mut Map<String, Value>, fields: &[FieldSpec]) {
    object.retain(|key, _| fields.iter().any(|(known, _)| known == key));
    for (field, always) in fields {
        match always {
            Some(default) => {
                let present = object.get(*field).is_some_and(|value| match value {
                    // A JSON null for an always-written string or object decodes to its zero value.
                    Value::Null => default().is_null(),
                    _ => true,
                });
                if !present {
                    object.insert((*field).to_string(), default());
                }
            }
            None => {
                if object.get(*field).is_some_and(is_empty_value) {
                    object.remove(*field);
                }
            }
        }
    }
}

/// `omitempty`: null, "", 0, false, {} and [] are not written.
fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(_) => false,
    }
}

fn drop_empty_values(object: &mut Map<String, Value>) {
    object.retain(|_, value| !is_empty_value(value));
}

/// The stored core/v1 Event as events.k8s.io/v1 serves it (no kind/apiVersion).
pub fn core_to_events_v1(core_event: &Map<String, Value>) -> Map<String, Value> {
    let mut converted = Map::new();
    for (key, value) in core_event {
        let new_key = RENAMED_FIELDS
            .iter()
            .find(|(_, core_name)| core_name == key)
            .map_or(key.as_str(), |(events_name, _)| events_name);
        converted.insert(new_key.to_string(), value.clone());
    }
    normalize_fields(&mut converted, EVENTS_V1_FIELDS);
    converted
}

/// An events.k8s.io/v1 Event (as a client sent it) in the stored core/v1 form.
pub fn events_v1_to_core(events_v1_event: &Map<String, Value>) -> Map<String, Value> {
    let mut converted = Map::new();
    for (key, value) in events_v1_event {
        if key == "kind" || key == "apiVersion" {
            continue;
        }
        // A field that exists only in core/v1 (e.g. `message` sent to events.k8s.io) is
        // unknown to the events.k8s.io decoder and dropped, not mapped.
        if CORE_ONLY_NAMES.contains(&key.as_str()) {
            continue;
        }
        let new_key = RENAMED_FIELDS
            .iter()
            .find(|(events_name, _)| events_name == key)
            .map_or(key.as_str(), |(_, core_name)| core_name);
        converted.insert(new_key.to_string(), value.clone());
    }
    normalize_core_event(&mut converted);
    converted
}

const CORE_ONLY_NAMES: &[&str] = &[
    "reportingComponent",
    "involvedObject",
    "message",
    "source",
    "firstTimestamp",
    "lastTimestamp",
    "count",
];

/// Occurrences an Event object stands for: `series.count` when there is a series, else `count`,
/// else 1 (an Event without either is one occurrence).
pub fn occurrence_count(core_event: &Value) -> u64 {
    let series_count = core_event
        .get("series")
        .and_then(|series| series.get("count"))
        .and_then(Value::as_u64)
        .filter(|count| *count > 0);
    let count = core_event
        .get("count")
        .and_then(Value::as_u64)
        .filter(|count| *count > 0);
    series_count.or(count).unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn core_events_get_the_always_written_fields_and_lose_empty_and_unknown_ones() {
        let mut event = object(json!({
            "metadata": {"name": "a"}, "involvedObject": {"kind": "Pod", "name": "p", "fieldPath": ""},
            "reason": "BackOff", "message": "", "count": 0, "clusterName": "old", "action": null
        }));
        normalize_core_event(&mut event);
        assert_eq!(
            Value::Object(event),
            json!({
                "metadata": {"name": "a"}, "involvedObject": {"kind": "Pod", "name": "p"},
                "reason": "BackOff", "source": {}, "firstTimestamp": null, "lastTimestamp": null,
                "eventTime": null, "reportingComponent": "", "reportingInstance": ""
            })
        );
    }

    #[test]
    fn events_v1_conversion_maps_fields_both_ways() {
        let mut core_event = object(json!({
            "metadata": {"name": "a", "namespace": "ns"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
            "reason": "Killing", "message": "Stopping container", "source": {"component": "kubelet"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z",
            "count": 3, "type": "Normal"
        }));
        normalize_core_event(&mut core_event);
        let events_v1 = core_to_events_v1(&core_event);
        assert_eq!(
            Value::Object(events_v1.clone()),
            json!({
                "metadata": {"name": "a", "namespace": "ns"},
                "regarding": {"kind": "Pod", "name": "p", "namespace": "ns"},
                "reason": "Killing", "note": "Stopping container",
                "deprecatedSource": {"component": "kubelet"},
                "deprecatedFirstTimestamp": "2026-01-01T00:00:00Z",
                "deprecatedLastTimestamp": "2026-01-01T00:01:00Z",
                "deprecatedCount": 3, "type": "Normal", "eventTime": null
            })
        );
        assert_eq!(events_v1_to_core(&events_v1), core_event);
    }

    #[test]
    fn occurrences_come_from_series_count_then_count() {
        assert_eq!(occurrence_count(&json!({"count": 4})), 4);
        assert_eq!(
            occurrence_count(&json!({"series": {"count": 7}, "count": 0})),
            7
        );
        assert_eq!(occurrence_count(&json!({"eventTime": "x"})), 1);
    }
}
