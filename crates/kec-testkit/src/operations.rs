//! The write verbs (create, update, patch, delete) with kube-apiserver's rules, shared by the
//! HTTP handlers and the handle: namespace and name checks, optimistic concurrency, the
//! `status` subresource, Event validation and the events.k8s.io/v1 conversion.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::cluster::{ClusterState, WriteOutcome};
use crate::error::{ApiStatus, FieldError};
use crate::event_format::{core_to_events_v1, events_v1_to_core};
use crate::patch::{PatchType, apply_patch};
use crate::resources::{ApiResource, Representation, ResourceKind};

/// The stored object as the clients of `resource` see it, without kind/apiVersion (how LIST
/// items are written).
pub fn to_served(resource: &ApiResource, stored: &Value) -> Value {
    match (resource.representation, stored) {
        (Representation::EventsV1, Value::Object(core_event)) => {
            Value::Object(core_to_events_v1(core_event))
        }
        _ => stored.clone(),
    }
}

/// `to_served` plus `kind` and `apiVersion` (how GET answers and watch frames are written).
pub fn to_served_with_type(resource: &ApiResource, stored: &Value) -> Value {
    let mut served = to_served(resource, stored);
    if let Value::Object(map) = &mut served {
        map.insert("kind".into(), Value::from(resource.kind));
        map.insert("apiVersion".into(), Value::from(resource.api_version()));
    }
    served
}

/// The JSON bytes of `to_served` (`with_type`: of `to_served_with_type`) without copying the
/// stored object when no conversion is needed: LIST pages and watch streams of 100k Events
/// spend their time here.
pub fn served_bytes(resource: &ApiResource, stored: &Value, with_type: bool, out: &mut Vec<u8>) {
    let converted;
    let object = match (resource.representation, stored) {
        (Representation::EventsV1, Value::Object(core_event)) => {
            converted = Value::Object(core_to_events_v1(core_event));
            &converted
        }
        _ => stored,
    };
    let start = out.len();
    // Writing a `Value` into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, object);
    let is_non_empty_object = out.len() > start + 2 && out.get(start) == Some(&b'{');
    if with_type && out.get(start) == Some(&b'{') {
        let mut type_meta = format!(
            "\"kind\":\"{}\",\"apiVersion\":\"{}\"",
            resource.kind,
            resource.api_version()
        );
        if is_non_empty_object {
            type_meta.push(',');
        }
        out.splice(start + 1..start + 1, type_meta.into_bytes());
    }
}

/// A body sent to `resource`, in storage form.
fn from_served(resource: &ApiResource, body: Map<String, Value>) -> Map<String, Value> {
    match resource.representation {
        Representation::EventsV1 => events_v1_to_core(&body),
        Representation::Storage => body,
    }
}

/// An object in `resource`'s representation, in storage form; `None` if it is not an object
/// of that resource's API version.
pub fn to_storage_form(
    resource: &ApiResource,
    object: Map<String, Value>,
) -> Option<Map<String, Value>> {
    if let Some(api_version) = object.get("apiVersion").and_then(Value::as_str)
        && api_version != resource.api_version()
    {
        return None;
    }
    let mut stored = from_served(resource, object);
    stored.remove("kind");
    stored.remove("apiVersion");
    Some(stored)
}

fn body_object(resource: &ApiResource, body: Value) -> Result<Map<String, Value>, ApiStatus> {
    match body {
        Value::Object(map) => {
            if let Some(api_version) = map.get("apiVersion").and_then(Value::as_str)
                && api_version != resource.api_version()
            {
                return Err(ApiStatus::bad_request(format!(
                    "the API version in the data ({api_version}) does not match the expected API \
                     version ({})",
                    resource.api_version()
                )));
            }
            Ok(map)
        }
        _ => Err(ApiStatus::bad_request(format!(
            "Object '{}' is missing in the request body",
            resource.kind
        ))),
    }
}

fn metadata_field<'a>(object: &'a Map<String, Value>, field: &str) -> &'a str {
    object
        .get("metadata")
        .and_then(|metadata| metadata.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn set_metadata_field(object: &mut Map<String, Value>, field: &str, value: &str) {
    let metadata = object
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.insert(field.to_string(), Value::from(value));
    }
}

/// Fills the namespace from the URL; a different namespace in the body is a 400.
fn settle_namespace(
    resource: &ApiResource,
    object: &mut Map<String, Value>,
    url_namespace: Option<&str>,
) -> Result<(), ApiStatus> {
    if !resource.namespaced {
        if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
            metadata.remove("namespace");
        }
        return Ok(());
    }
    let Some(url_namespace) = url_namespace else {
        return Err(ApiStatus::bad_request(
            "the namespace of the object must be sent on the request path",
        ));
    };
    let body_namespace = metadata_field(object, "namespace");
    if !body_namespace.is_empty() && body_namespace != url_namespace {
        return Err(ApiStatus::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    set_metadata_field(object, "namespace", url_namespace);
    Ok(())
}

/// POST.
pub fn create(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    url_namespace: Option<&str>,
    body: Value,
) -> Result<Arc<Value>, ApiStatus> {
    let object = from_served(resource, body_object(resource, body)?);
    create_stored(cluster, resource, url_namespace, object)
}

/// POST of an object already in storage form.
fn create_stored(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    url_namespace: Option<&str>,
    mut object: Map<String, Value>,
) -> Result<Arc<Value>, ApiStatus> {
    settle_namespace(resource, &mut object, url_namespace)?;
    if resource.storage == ResourceKind::Event {
        let errors = validate_event(resource, &object, None);
        if !errors.is_empty() {
            return Err(ApiStatus::invalid(
                resource.kind,
                resource.group,
                metadata_field(&object, "name"),
                &errors,
            ));
        }
    }
    cluster.create(resource, object, false)
}

/// Rejects a write whose `metadata.resourceVersion` is set and stale.
fn check_precondition(
    resource: &ApiResource,
    name: &str,
    written: &Map<String, Value>,
    existing: &Value,
) -> Result<(), ApiStatus> {
    let sent = metadata_field(written, "resourceVersion");
    let current = existing
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !sent.is_empty() && sent != current {
        return Err(ApiStatus::conflict(resource.plural, resource.group, name));
    }
    Ok(())
}

/// The result of a write to the `status` subresource: only `status` changes.
fn only_status_from(existing: &Value, written: &Map<String, Value>) -> Map<String, Value> {
    let mut result = existing.as_object().cloned().unwrap_or_default();
    match written.get("status") {
        Some(status) => result.insert("status".into(), status.clone()),
        None => result.remove("status"),
    };
    result
}

/// PUT.
pub fn update(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    url_namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    body: Value,
) -> Result<WriteOutcome, ApiStatus> {
    let mut object = from_served(resource, body_object(resource, body)?);
    let body_name = metadata_field(&object, "name");
    if body_name != name {
        return Err(ApiStatus::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    settle_namespace(resource, &mut object, url_namespace)?;
    let namespace = url_namespace.unwrap_or("");
    let Some(existing) = cluster.get(resource.storage, namespace, name) else {
        // Events may be created by PUT (their strategy allows create-on-update); others 404.
        if resource.storage == ResourceKind::Event && subresource.is_none() {
            return create_stored(cluster, resource, url_namespace, object)
                .map(WriteOutcome::Written);
        }
        return Err(ApiStatus::not_found(resource.plural, resource.group, name));
    };
    check_precondition(resource, name, &object, &existing)?;
    if metadata_field(&object, "resourceVersion").is_empty()
        && resource.storage == ResourceKind::Lease
    {
        // The Lease strategy does not allow unconditional updates.
        return Err(ApiStatus::invalid(
            resource.kind,
            resource.group,
            name,
            &[FieldError {
                reason: "FieldValueInvalid",
                field: "metadata.resourceVersion".into(),
                value: Some("0x0".into()),
                detail: "must be specified for an update".into(),
            }],
        ));
    }
    if subresource == Some("status") {
        object = only_status_from(&existing, &object);
    }
    write_checked(cluster, resource, namespace, name, &existing, object)
}

/// PATCH.
pub fn patch(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    url_namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    patch_body: &[u8],
    patch_type: PatchType,
) -> Result<WriteOutcome, ApiStatus> {
    let namespace = url_namespace.unwrap_or("");
    let Some(existing) = cluster.get(resource.storage, namespace, name) else {
        return Err(ApiStatus::not_found(resource.plural, resource.group, name));
    };
    let original = to_served_with_type(resource, &existing);
    let patched = apply_patch(&original, patch_body, patch_type)?;
    let Value::Object(patched) = patched else {
        return Err(ApiStatus::bad_request(
            "the patch did not produce an object",
        ));
    };
    check_precondition(resource, name, &patched, &existing)?;
    let mut object = from_served(resource, patched);
    object.remove("kind");
    object.remove("apiVersion");
    if subresource == Some("status") {
        object = only_status_from(&existing, &object);
    }
    write_checked(cluster, resource, namespace, name, &existing, object)
}

fn write_checked(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    namespace: &str,
    name: &str,
    existing: &Value,
    mut object: Map<String, Value>,
) -> Result<WriteOutcome, ApiStatus> {
    if resource.storage == ResourceKind::Event {
        // Validation sees the namespace of the stored object.
        set_metadata_field(&mut object, "namespace", namespace);
        let errors = validate_event(resource, &object, Some(existing));
        if !errors.is_empty() {
            return Err(ApiStatus::invalid(
                resource.kind,
                resource.group,
                name,
                &errors,
            ));
        }
    }
    cluster.update(resource, namespace, name, object)
}

/// DELETE.
pub fn delete(
    cluster: &mut ClusterState,
    resource: &'static ApiResource,
    url_namespace: Option<&str>,
    name: &str,
) -> Result<Arc<Value>, ApiStatus> {
    cluster.delete(resource, url_namespace.unwrap_or(""), name)
}

// ----- Event validation (pkg/apis/core/validation/events.go) -----

const REPORTING_INSTANCE_LENGTH_LIMIT: usize = 128;
const ACTION_LENGTH_LIMIT: usize = 128;
const REASON_LENGTH_LIMIT: usize = 128;
const NOTE_LENGTH_LIMIT: usize = 1024;

fn text<'a>(object: &'a Map<String, Value>, pointer: &str) -> &'a str {
    let mut value = None;
    for (position, segment) in pointer.split('.').enumerate() {
        value = if position == 0 {
            object.get(segment)
        } else {
            value.and_then(|value: &Value| value.get(segment))
        };
    }
    value.and_then(Value::as_str).unwrap_or("")
}

fn is_unset(object: &Map<String, Value>, field: &str) -> bool {
    object.get(field).is_none_or(|value| {
        value.is_null() || value.as_str() == Some("") || value.as_u64() == Some(0)
    })
}

/// The checks kube-apiserver runs on an Event (stored core/v1 form). `existing` is the stored
/// object for updates. core/v1 requests get the legacy checks only; events.k8s.io/v1 requests
/// get the strict ones too.
fn validate_event(
    resource: &ApiResource,
    event: &Map<String, Value>,
    existing: Option<&Value>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let namespace = metadata_field(event, "namespace");
    let involved_namespace = text(event, "involvedObject.namespace");
    let core_request = resource.representation == Representation::Storage;
    let reporting_controller_field = if core_request {
        "reportingComponent"
    } else {
        "reportingController"
    };
    let does_not_match = || {
        FieldError::invalid(
            "involvedObject.namespace",
            involved_namespace,
            "does not match event.namespace",
        )
    };
    if is_unset(event, "eventTime") {
        // An Event about a cluster-scoped object (a Node) lives in `default` (or nowhere).
        if involved_namespace.is_empty() {
            if !namespace.is_empty() && namespace != "default" {
                errors.push(does_not_match());
            }
        } else if namespace != involved_namespace {
            errors.push(does_not_match());
        }
    } else {
        if involved_namespace.is_empty() && namespace != "default" && namespace != "kube-system" {
            errors.push(does_not_match());
        }
        if text(event, "reportingComponent").is_empty() {
            errors.push(FieldError::required(reporting_controller_field));
        }
        let reporting_instance = text(event, "reportingInstance");
        if reporting_instance.is_empty() {
            errors.push(FieldError::required("reportingInstance"));
        }
        for (field, value, limit) in [
            (
                "reportingInstance",
                reporting_instance,
                REPORTING_INSTANCE_LENGTH_LIMIT,
            ),
            ("action", text(event, "action"), ACTION_LENGTH_LIMIT),
            ("reason", text(event, "reason"), REASON_LENGTH_LIMIT),
            ("message", text(event, "message"), NOTE_LENGTH_LIMIT),
        ] {
            if value.len() > limit {
                errors.push(FieldError::invalid(
                    field,
                    "",
                    format!("can have at most {limit} characters"),
                ));
            }
        }
    }
    if core_request {
        return errors;
    }
    // Strict validation for events.k8s.io/v1.
    if let Some(series) = event.get("series").filter(|series| !series.is_null()) {
        if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
            errors.push(FieldError::invalid(
                "series.count",
                "",
                "should be at least 2",
            ));
        }
        if series.get("lastObservedTime").is_none_or(Value::is_null) {
            errors.push(FieldError::required("series.lastObservedTime"));
        }
    }
    match existing {
        None => {
            if is_unset(event, "eventTime") {
                errors.push(FieldError::required("eventTime"));
            }
            let event_type = text(event, "type");
            if event_type != "Normal" && event_type != "Warning" {
                errors.push(FieldError::invalid(
                    "type",
                    "",
                    format!("has invalid value: {event_type}"),
                ));
            }
            for field in ["firstTimestamp", "lastTimestamp", "count"] {
                if !is_unset(event, field) {
                    errors.push(FieldError::invalid(field, "", "needs to be unset"));
                }
            }
            if !text(event, "source.component").is_empty() || !text(event, "source.host").is_empty()
            {
                errors.push(FieldError::invalid("source", "", "needs to be unset"));
            }
        }
        Some(existing) => {
            for field in [
                "involvedObject",
                "reason",
                "type",
                "action",
                "reportingComponent",
                "reportingInstance",
                "eventTime",
            ] {
                if event.get(field) != existing.get(field) {
                    errors.push(FieldError {
                        reason: "FieldValueInvalid",
                        field: field.to_string(),
                        value: None,
                        detail: "field is immutable".into(),
                    });
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{CORE_EVENTS, EVENTS_V1};
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn served_bytes_add_type_meta_without_reserializing() {
        let stored = json!({"metadata": {"name": "a"}, "reason": "BackOff"});
        let mut out = Vec::new();
        served_bytes(&CORE_EVENTS, &stored, true, &mut out);
        let parsed: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed, to_served_with_type(&CORE_EVENTS, &stored));
        out.clear();
        served_bytes(&EVENTS_V1, &json!({}), true, &mut out);
        assert_eq!(
            serde_json::from_slice::<Value>(&out).unwrap(),
            json!({"kind": "Event", "apiVersion": "events.k8s.io/v1", "metadata": {},
                "eventTime": null, "regarding": {}, "deprecatedSource": {},
                "deprecatedFirstTimestamp": null, "deprecatedLastTimestamp": null})
        );
    }

    #[test]
    fn node_events_are_valid_only_in_default() {
        let node_event = |namespace: &str| {
            map(json!({"metadata": {"namespace": namespace, "name": "n.1"},
                "involvedObject": {"kind": "Node", "name": "n"}}))
        };
        assert!(validate_event(&CORE_EVENTS, &node_event("default"), None).is_empty());
        let errors = validate_event(&CORE_EVENTS, &node_event("kube-system"), None);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "involvedObject.namespace");
    }

    #[test]
    fn events_v1_creates_need_the_new_fields() {
        let event = map(json!({"metadata": {"namespace": "ns", "name": "p.1"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
            "type": "Normal", "reason": "Scheduled"}));
        let fields = validate_event(&EVENTS_V1, &event, None)
            .into_iter()
            .map(|error| error.field)
            .collect::<Vec<_>>();
        assert_eq!(fields, ["eventTime"]);
    }
}
