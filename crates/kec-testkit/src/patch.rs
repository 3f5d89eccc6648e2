//! PATCH bodies: strategic merge (with the list-merge rules of the Kubernetes types served
//! here), JSON merge patch (RFC 7386) and JSON patch (RFC 6902).
//!
//! The strategic merge follows apimachinery's `strategicpatch` closely where clients can see
//! it: lists with a merge key are merged item by item, and the merged list is ordered by
//! `mergeSortedSlice`, which puts items that are new to the server FIRST (a node status PATCH
//! that adds a condition type inserts it at the front). Content is not validated.

use serde_json::{Map, Value};

use crate::error::ApiStatus;

/// The PATCH flavours, named by their `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/strategic-merge-patch+json` (client-go's Event repeat, node status).
    StrategicMerge,
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
}

impl PatchType {
    /// The flavour a `Content-Type` asks for; `None` for unsupported ones (server-side apply).
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        match media_type {
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/json-patch+json" => Some(PatchType::Json),
            _ => None,
        }
    }
}

/// The 415 answer to a PATCH with a media type the fake does not apply.
pub fn unsupported_patch_type(content_type: &str) -> ApiStatus {
    ApiStatus::new(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, \
             application/strategic-merge-patch+json (got {content_type:?})"
        ),
    )
}

/// Applies `patch_body` to `original` (an object in the representation the request addressed).
pub fn apply_patch(
    original: &Value,
    patch_body: &[u8],
    patch_type: PatchType,
) -> Result<Value, ApiStatus> {
    let patch: Value = serde_json::from_slice(patch_body)
        .map_err(|error| ApiStatus::bad_request(format!("error decoding patch: {error}")))?;
    match patch_type {
        PatchType::StrategicMerge => {
            let Value::Object(patch_map) = &patch else {
                return Err(ApiStatus::bad_request(
                    "error decoding patch: a strategic merge patch must be a JSON object",
                ));
            };
            let mut patched = match original {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            let mut path = Vec::new();
            strategic_merge_map(&mut patched, patch_map, &mut path);
            Ok(Value::Object(patched))
        }
        PatchType::Merge => {
            let mut patched = original.clone();
            json_merge_patch(&mut patched, &patch);
            Ok(patched)
        }
        PatchType::Json => json_patch(original, &patch),
    }
}

// ----- strategic merge -----

/// How a list at a given path is patched.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ListStrategy {
    /// The patch list replaces the original (lists without `patchStrategy:"merge"`).
    Replace,
    /// Items are maps merged by this key.
    MergeByKey(&'static str),
    /// A set of scalars (`finalizers`).
    MergeScalars,
}

/// The `patchStrategy`/`patchMergeKey` tags of the list fields of the kinds served here.
fn list_strategy(path: &[String]) -> ListStrategy {
    let path = path.iter().map(String::as_str).collect::<Vec<_>>();
    match path.as_slice() {
        // Node, Pod, Deployment, ReplicaSet and Job conditions all merge by type.
        ["status", "conditions"] | ["status", "addresses"] => ListStrategy::MergeByKey("type"),
        ["status", "volumesAttached"] => ListStrategy::MergeByKey("name"),
        ["metadata", "ownerReferences"] => ListStrategy::MergeByKey("uid"),
        ["metadata", "finalizers"] => ListStrategy::MergeScalars,
        ["spec", "containers"]
        | ["spec", "initContainers"]
        | ["spec", "template", "spec", "containers"]
        | ["spec", "template", "spec", "initContainers"] => ListStrategy::MergeByKey("name"),
        _ => ListStrategy::Replace,
    }
}

const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList/";

fn strategic_merge_map(
    original: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    path: &mut Vec<String>,
) {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        *original = strip_directives_map(patch);
        return;
    }
    if let Some(Value::Array(retained)) = patch.get("$retainKeys") {
        original.retain(|key, _| retained.iter().any(|kept| kept.as_str() == Some(key)));
    }
    for (key, patch_value) in patch {
        if key.starts_with('$') {
            if let Some(list_key) = key.strip_prefix(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
                && let (Some(Value::Array(items)), Value::Array(removed)) =
                    (original.get_mut(list_key), patch_value)
            {
                items.retain(|item| !removed.contains(item));
            }
            continue;
        }
        if patch_value.is_null() {
            original.remove(key);
            continue;
        }
        path.push(key.clone());
        match (original.get_mut(key), patch_value) {
            (Some(Value::Object(original_child)), Value::Object(patch_child)) => {
                match patch_child.get("$patch").and_then(Value::as_str) {
                    Some("delete") => {
                        original.remove(key);
                    }
                    _ => strategic_merge_map(original_child, patch_child, path),
                }
            }
            (Some(Value::Array(original_items)), Value::Array(patch_items)) => {
                let element_order = patch
                    .get(&format!("{SET_ELEMENT_ORDER_PREFIX}{key}"))
                    .and_then(Value::as_array);
                let merged = merge_list(
                    original_items,
                    patch_items,
                    element_order,
                    list_strategy(path),
                    path,
                );
                original.insert(key.clone(), Value::Array(merged));
            }
            (_, Value::Object(patch_child)) => {
                if patch_child.get("$patch").and_then(Value::as_str) == Some("delete") {
                    original.remove(key);
                } else {
                    let mut fresh = Map::new();
                    strategic_merge_map(&mut fresh, patch_child, path);
                    original.insert(key.clone(), Value::Object(fresh));
                }
            }
            (_, other) => {
                original.insert(key.clone(), strip_directives(other));
            }
        }
        path.pop();
    }
}

fn merge_list(
    original: &[Value],
    patch: &[Value],
    element_order: Option<&Vec<Value>>,
    strategy: ListStrategy,
    path: &mut Vec<String>,
) -> Vec<Value> {
    match strategy {
        ListStrategy::Replace => patch.iter().map(strip_directives).collect(),
        ListStrategy::MergeScalars => {
            let mut merged_patch_items = Vec::new();
            for item in patch {
                if !merged_patch_items.contains(item) {
                    merged_patch_items.push(item.clone());
                }
            }
            let server_only = original
                .iter()
                .filter(|item| !merged_patch_items.contains(item))
                .cloned()
                .collect::<Vec<_>>();
            merge_sorted(server_only, merged_patch_items, original, Value::clone)
        }
        ListStrategy::MergeByKey(merge_key) => {
            let key_of = |item: &Value| item.get(merge_key).cloned();
            if patch
                .iter()
                .any(|item| item.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                return patch
                    .iter()
                    .filter(|item| item.get("$patch").is_none())
                    .map(strip_directives)
                    .collect();
            }
            let mut merged = original.to_vec();
            let mut patch_keys = Vec::new();
            for patch_item in patch {
                let Value::Object(patch_map) = patch_item else {
                    continue;
                };
                let key = key_of(patch_item);
                if patch_map.get("$patch").and_then(Value::as_str) == Some("delete") {
                    merged.retain(|item| key.is_none() || key_of(item) != key);
                    continue;
                }
                patch_keys.push(key.clone());
                match merged
                    .iter_mut()
                    .find(|item| key.is_some() && key_of(item) == key)
                {
                    Some(Value::Object(existing)) => strategic_merge_map(existing, patch_map, path),
                    _ => {
                        let mut fresh = Map::new();
                        strategic_merge_map(&mut fresh, patch_map, path);
                        merged.push(Value::Object(fresh));
                    }
                }
            }
            // The order the client asked for: `$setElementOrder/<list>` or the patch's own order.
            let patch_order = match element_order {
                Some(order) => order
                    .iter()
                    .map(|item| item.get(merge_key).cloned())
                    .collect::<Vec<_>>(),
                None => patch_keys.clone(),
            };
            let in_patch = |item: &Value| {
                let key = key_of(item);
                patch_order.contains(&key) || patch_keys.contains(&key)
            };
            let mut patch_items = merged
                .iter()
                .filter(|item| in_patch(item))
                .cloned()
                .collect::<Vec<_>>();
            patch_items.sort_by_key(|item| {
                let key = key_of(item);
                patch_order
                    .iter()
                    .position(|ordered| *ordered == key)
                    .unwrap_or(usize::MAX)
            });
            let server_only = merged
                .iter()
                .filter(|item| !in_patch(item))
                .cloned()
                .collect::<Vec<_>>();
            let server_order = original.iter().map(key_of).collect::<Vec<_>>();
            merge_sorted(server_only, patch_items, &server_order, key_of)
        }
    }
}

/// apimachinery's `mergeSortedSlice`: interleaves the server-only items (`left`) into the patch
/// items (`right`), keeping the relative order of each. A left item goes first only when both
/// items are in the server's order and it came first there, so items new to the server
/// (absent from `server_order`) are placed before the remaining server-only items.
fn merge_sorted<K: PartialEq>(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[K],
    key_of: impl Fn(&Value) -> K,
) -> Vec<Value> {
    let index_of = |item: &Value| {
        let key = key_of(item);
        server_order.iter().position(|ordered| *ordered == key)
    };
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(left_item), Some(right_item)) => {
                matches!((index_of(left_item), index_of(right_item)), (Some(l), Some(r)) if l < r)
            }
        };
        let next = if take_left { left.next() } else { right.next() };
        if let Some(item) = next {
            merged.push(item);
        }
    }
    merged
}

fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(strip_directives_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn strip_directives_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(key, _)| !key.starts_with('$'))
        .map(|(key, value)| (key.clone(), strip_directives(value)))
        .collect()
}

// ----- JSON merge patch (RFC 7386) -----

fn json_merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target_map) = target {
        for (key, patch_value) in patch_map {
            if patch_value.is_null() {
                target_map.remove(key);
            } else {
                let entry = target_map.entry(key.clone()).or_insert(Value::Null);
                json_merge_patch(entry, patch_value);
            }
        }
    }
}

// ----- JSON patch (RFC 6902) -----

fn json_patch(original: &Value, patch: &Value) -> Result<Value, ApiStatus> {
    let Value::Array(operations) = patch else {
        return Err(ApiStatus::bad_request(
            "error decoding patch: a json patch must be an array of operations",
        ));
    };
    let mut document = original.clone();
    for operation in operations {
        let op = operation.get("op").and_then(Value::as_str).unwrap_or("");
        let path = operation.get("path").and_then(Value::as_str).unwrap_or("");
        let failed = |what: &str| {
            ApiStatus::new(
                422,
                "Invalid",
                format!("the server rejected our request due to an error in our request: {what}"),
            )
        };
        match op {
            "add" | "replace" => {
                let value = operation.get("value").cloned().unwrap_or(Value::Null);
                if op == "replace" && document.pointer(path).is_none() {
                    return Err(failed(&format!(
                        "replace operation does not apply: doc is missing key: {path}"
                    )));
                }
                pointer_set(&mut document, path, value, op == "add")
                    .map_err(|reason| failed(&reason))?;
            }
            "remove" => {
                pointer_remove(&mut document, path).map_err(|reason| failed(&reason))?;
            }
            "test" => {
                let expected = operation.get("value").cloned().unwrap_or(Value::Null);
                if document.pointer(path) != Some(&expected) {
                    return Err(failed(&format!("testing value {path} failed")));
                }
            }
            "move" | "copy" => {
                let from = operation.get("from").and_then(Value::as_str).unwrap_or("");
                let value = document.pointer(from).cloned().ok_or_else(|| {
                    failed(&format!("{op} operation does not apply: missing {from}"))
                })?;
                if op == "move" {
                    pointer_remove(&mut document, from).map_err(|reason| failed(&reason))?;
                }
                pointer_set(&mut document, path, value, true).map_err(|reason| failed(&reason))?;
            }
            other => return Err(failed(&format!("unexpected kind of operation: {other:?}"))),
        }
    }
    Ok(document)
}

fn split_pointer(path: &str) -> Result<(String, String), String> {
    let Some(position) = path.rfind('/') else {
        return Err(format!("invalid json pointer {path:?}"));
    };
    let last = path[position + 1..].replace("~1", "/").replace("~0", "~");
    Ok((path[..position].to_string(), last))
}

fn pointer_set(document: &mut Value, path: &str, value: Value, insert: bool) -> Result<(), String> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent_path, last) = split_pointer(path)?;
    match document.pointer_mut(&parent_path) {
        Some(Value::Object(map)) => {
            map.insert(last, value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            if last == "-" {
                items.push(value);
                return Ok(());
            }
            let index = last
                .parse::<usize>()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if insert && index <= items.len() {
                items.insert(index, value);
                Ok(())
            } else if let Some(slot) = items.get_mut(index) {
                *slot = value;
                Ok(())
            } else {
                Err(format!("array index {index} out of bounds"))
            }
        }
        _ => Err(format!("doc is missing path: {path:?}")),
    }
}

fn pointer_remove(document: &mut Value, path: &str) -> Result<(), String> {
    let (parent_path, last) = split_pointer(path)?;
    let removed = match document.pointer_mut(&parent_path) {
        Some(Value::Object(map)) => map.remove(&last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(index) if index < items.len() => {
                items.remove(index);
                true
            }
            _ => false,
        },
        _ => false,
    };
    if removed {
        Ok(())
    } else {
        Err(format!(
            "remove operation does not apply: doc is missing path: {path:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strategic(original: Value, patch: Value) -> Value {
        apply_patch(
            &original,
            patch.to_string().as_bytes(),
            PatchType::StrategicMerge,
        )
        .unwrap()
    }

    #[test]
    fn new_condition_types_go_first_and_existing_ones_merge_in_place() {
        let node = json!({"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "KubeletReady"},
            {"type": "MemoryPressure", "status": "False"}
        ]}});
        let patched = strategic(
            node,
            json!({"status": {"conditions": [
                {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung"},
                {"type": "Ready", "status": "False"}
            ]}}),
        );
        assert_eq!(
            patched["status"]["conditions"],
            json!([
                {"type": "KernelDeadlock", "status": "True", "reason": "DockerHung"},
                {"type": "Ready", "status": "False", "reason": "KubeletReady"},
                {"type": "MemoryPressure", "status": "False"}
            ])
        );
    }

    #[test]
    fn a_single_new_condition_is_inserted_before_all_existing_ones() {
        let node = json!({"status": {"conditions": [{"type": "A"}, {"type": "B"}]}});
        let patched = strategic(node, json!({"status": {"conditions": [{"type": "C"}]}}));
        assert_eq!(
            patched["status"]["conditions"],
            json!([{"type": "C"}, {"type": "A"}, {"type": "B"}])
        );
    }

    #[test]
    fn client_go_event_repeat_patch_updates_three_fields() {
        let event = json!({"count": 1, "lastTimestamp": "t1", "message": "m", "reason": "BackOff"});
        let patched = strategic(
            event,
            json!({"count": 2, "lastTimestamp": "t2", "message": "m"}),
        );
        assert_eq!(
            patched,
            json!({"count": 2, "lastTimestamp": "t2", "message": "m", "reason": "BackOff"})
        );
    }

    #[test]
    fn directives_delete_replace_and_null_work() {
        let original = json!({"a": {"b": 1, "c": 2}, "d": [1, 2], "e": 5,
            "status": {"conditions": [{"type": "X"}, {"type": "Y"}]}});
        let patched = strategic(
            original,
            json!({"a": {"$patch": "replace", "z": 9}, "d": [3], "e": null,
                "status": {"conditions": [{"type": "X", "$patch": "delete"}]}}),
        );
        assert_eq!(
            patched,
            json!({"a": {"z": 9}, "d": [3], "status": {"conditions": [{"type": "Y"}]}})
        );
    }

    #[test]
    fn merge_patch_and_json_patch_follow_their_rfcs() {
        let original = json!({"a": {"b": 1}, "list": [1, 2]});
        let merged = apply_patch(
            &original,
            br#"{"a": {"b": null, "c": 3}, "list": [9]}"#,
            PatchType::Merge,
        )
        .unwrap();
        assert_eq!(merged, json!({"a": {"c": 3}, "list": [9]}));

        let patched = apply_patch(
            &original,
            br#"[{"op": "add", "path": "/list/-", "value": 3}, {"op": "replace", "path": "/a/b", "value": 2},
                 {"op": "test", "path": "/a/b", "value": 2}]"#,
            PatchType::Json,
        )
        .unwrap();
        assert_eq!(patched, json!({"a": {"b": 2}, "list": [1, 2, 3]}));
        let failed = apply_patch(
            &original,
            br#"[{"op": "test", "path": "/a/b", "value": 5}]"#,
            PatchType::Json,
        );
        assert!(failed.is_err());
    }

    #[test]
    fn content_types_select_the_patch_flavour() {
        assert_eq!(
            PatchType::from_content_type("application/strategic-merge-patch+json; charset=utf-8"),
            Some(PatchType::StrategicMerge)
        );
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml"),
            None
        );
    }
}
