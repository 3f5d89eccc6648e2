//! Building [`EventRecord`]s from what the API server sends.
//!
//! Accepted input, one JSON document each:
//! - a core/v1 Event (`apiVersion: v1`), with or without `kind`/`apiVersion` (LIST items carry
//!   neither);
//! - an events.k8s.io/v1 Event;
//! - a watch frame `{"type": "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR", "object": ..}`.
//!
//! Event time is `lastTimestamp ?? series.lastObservedTime ?? eventTime ?? firstTimestamp ??
//! metadata.creationTimestamp`, and failing all of those the time kec received it (flagged).
//! The cumulative count is `count` (core) or `series.count` / `deprecatedCount` (events.k8s.io),
//! the first of them that is at least 1, else 1: an Event that exists happened at least once.

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, Time};
use serde_json::Value;

use crate::category::classify;
use crate::record::{EventRecord, ObjectRef};
use crate::time::to_ms;
use crate::{Error, Result};

/// What one input line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine {
    /// An observation of an Event (ADDED, MODIFIED, or a bare Event object).
    Observation(Box<Observation>),
    /// Housekeeping that adds no occurrence: a DELETED (TTL expiry) or BOOKMARK frame.
    Ignored(&'static str),
}

/// An observed Event, not yet through the occurrence ledger (`record.occurrences == 0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub record: EventRecord,
}

/// Parses one line of ingest input for `cluster`. `receipt_ms` is used only when the Event
/// carries no time at all.
pub fn parse_line(line: &[u8], cluster: &str, receipt_ms: i64) -> Result<ParsedLine> {
    let value: Value = serde_json::from_slice(line).map_err(Error::Json)?;
    parse_value(value, cluster, receipt_ms)
}

/// Like [`parse_line`], for an already parsed JSON value.
pub fn parse_value(value: Value, cluster: &str, receipt_ms: i64) -> Result<ParsedLine> {
    let Value::Object(map) = &value else {
        return Err(Error::NotAnEvent("expected a JSON object".into()));
    };
    // A watch frame has `type` and an `object`; an Event's own `type` is never paired with one.
    if let (Some(Value::String(frame_type)), Some(object)) = (map.get("type"), map.get("object")) {
        return match frame_type.as_str() {
            "ADDED" | "MODIFIED" => {
                let object = object.clone();
                event_from_value(object, cluster, receipt_ms)
            }
            "DELETED" => Ok(ParsedLine::Ignored("DELETED")),
            "BOOKMARK" => Ok(ParsedLine::Ignored("BOOKMARK")),
            "ERROR" => Err(Error::NotAnEvent(format!(
                "watch ERROR frame: {}",
                object
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("no message")
            ))),
            other => Err(Error::NotAnEvent(format!(
                "unknown watch frame type {other:?}"
            ))),
        };
    }
    event_from_value(value, cluster, receipt_ms)
}

fn event_from_value(value: Value, cluster: &str, receipt_ms: i64) -> Result<ParsedLine> {
    let Value::Object(map) = &value else {
        return Err(Error::NotAnEvent(
            "watch frame object is not a JSON object".into(),
        ));
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str);
    let kind = map.get("kind").and_then(Value::as_str);
    if let Some(kind) = kind
        && kind != "Event"
    {
        return Err(Error::NotAnEvent(format!(
            "kind is {kind:?}, expected \"Event\""
        )));
    }
    let is_events_api = match api_version {
        Some("events.k8s.io/v1") => true,
        Some("v1") => false,
        Some(other) => {
            return Err(Error::NotAnEvent(format!(
                "apiVersion {other:?} is neither \"v1\" nor \"events.k8s.io/v1\""
            )));
        }
        // LIST items carry no apiVersion: tell the two schemas apart by their own fields.
        None => [
            "regarding",
            "note",
            "reportingController",
            "deprecatedSource",
        ]
        .iter()
        .any(|field| map.contains_key(*field)),
    };
    if !map.contains_key("metadata") {
        return Err(Error::NotAnEvent("no metadata".into()));
    }
    let record = if is_events_api {
        let event: events::Event =
            serde_json::from_value(value.clone()).map_err(|source| Error::InvalidEvent {
                api_version: "events.k8s.io/v1",
                source,
            })?;
        from_events_v1(event, value, cluster, receipt_ms)
    } else {
        let event: core::Event =
            serde_json::from_value(value.clone()).map_err(|source| Error::InvalidEvent {
                api_version: "v1",
                source,
            })?;
        from_core_v1(event, value, cluster, receipt_ms)
    };
    Ok(ParsedLine::Observation(Box::new(Observation { record })))
}

fn meta_ms(time: Option<&Time>) -> Option<i64> {
    time.map(|t| to_ms(t.0))
}

fn micro_ms(time: Option<&MicroTime>) -> Option<i64> {
    time.map(|t| to_ms(t.0))
}

/// The first candidate count that is at least 1, else 1.
fn normalized_count(candidates: &[Option<i32>]) -> i64 {
    candidates
        .iter()
        .flatten()
        .copied()
        .find(|count| *count >= 1)
        .map_or(1, i64::from)
}

fn object_ref(reference: Option<core::ObjectReference>) -> ObjectRef {
    let reference = reference.unwrap_or_default();
    ObjectRef {
        kind: reference.kind.unwrap_or_default(),
        namespace: reference.namespace.unwrap_or_default(),
        name: reference.name.unwrap_or_default(),
        uid: reference.uid.unwrap_or_default(),
        api_version: reference.api_version.unwrap_or_default(),
        field_path: reference.field_path.unwrap_or_default(),
    }
}

struct Common {
    metadata: ObjectMeta,
    object: ObjectRef,
    reason: String,
    message: String,
    event_type: String,
    source_component: String,
    source_host: String,
    reporting_controller: String,
    reporting_instance: String,
    action: String,
    time_ms: Option<i64>,
    first_ms: Option<i64>,
    count: i64,
}

fn from_core_v1(event: core::Event, raw: Value, cluster: &str, receipt_ms: i64) -> EventRecord {
    let series_count = event.series.as_ref().and_then(|series| series.count);
    let series_last = micro_ms(
        event
            .series
            .as_ref()
            .and_then(|series| series.last_observed_time.as_ref()),
    );
    let source = event.source.unwrap_or_default();
    let time_ms = meta_ms(event.last_timestamp.as_ref())
        .or(series_last)
        .or(micro_ms(event.event_time.as_ref()))
        .or(meta_ms(event.first_timestamp.as_ref()))
        .or(meta_ms(event.metadata.creation_timestamp.as_ref()));
    let common = Common {
        object: object_ref(Some(event.involved_object)),
        reason: event.reason.unwrap_or_default(),
        message: event.message.unwrap_or_default(),
        event_type: event.type_.unwrap_or_default(),
        source_component: source.component.unwrap_or_default(),
        source_host: source.host.unwrap_or_default(),
        reporting_controller: event.reporting_component.unwrap_or_default(),
        reporting_instance: event.reporting_instance.unwrap_or_default(),
        action: event.action.unwrap_or_default(),
        time_ms,
        first_ms: meta_ms(event.first_timestamp.as_ref()),
        count: normalized_count(&[event.count, series_count]),
        metadata: event.metadata,
    };
    finish(common, "v1", raw, cluster, receipt_ms)
}

fn from_events_v1(event: events::Event, raw: Value, cluster: &str, receipt_ms: i64) -> EventRecord {
    let series_count = event.series.as_ref().map(|series| series.count);
    let series_last = event
        .series
        .as_ref()
        .map(|series| to_ms(series.last_observed_time.0));
    let source = event.deprecated_source.unwrap_or_default();
    let time_ms = meta_ms(event.deprecated_last_timestamp.as_ref())
        .or(series_last)
        .or(micro_ms(event.event_time.as_ref()))
        .or(meta_ms(event.deprecated_first_timestamp.as_ref()))
        .or(meta_ms(event.metadata.creation_timestamp.as_ref()));
    let common = Common {
        object: object_ref(event.regarding),
        reason: event.reason.unwrap_or_default(),
        message: event.note.unwrap_or_default(),
        event_type: event.type_.unwrap_or_default(),
        source_component: source.component.unwrap_or_default(),
        source_host: source.host.unwrap_or_default(),
        reporting_controller: event.reporting_controller.unwrap_or_default(),
        reporting_instance: event.reporting_instance.unwrap_or_default(),
        action: event.action.unwrap_or_default(),
        time_ms,
        first_ms: meta_ms(event.deprecated_first_timestamp.as_ref())
            .or(micro_ms(event.event_time.as_ref())),
        count: normalized_count(&[series_count, event.deprecated_count]),
        metadata: event.metadata,
    };
    finish(common, "events.k8s.io/v1", raw, cluster, receipt_ms)
}

fn finish(
    common: Common,
    api_version: &str,
    mut raw: Value,
    cluster: &str,
    receipt_ms: i64,
) -> EventRecord {
    let (time_ms, time_is_receipt) = match common.time_ms {
        Some(ms) => (ms, false),
        None => (receipt_ms, true),
    };
    // managedFields is server-side-apply bookkeeping, often larger than the Event itself and of
    // no use to anyone reading events: it is the one part of the original object not kept.
    if let Some(metadata) = raw.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    let name = common.metadata.name.unwrap_or_default();
    let uid = common
        .metadata
        .uid
        .filter(|uid| !uid.is_empty())
        .unwrap_or_else(|| name.clone());
    let component = if common.source_component.is_empty() {
        &common.reporting_controller
    } else {
        &common.source_component
    };
    let category = classify(
        &common.reason,
        &common.message,
        &common.object.kind,
        component,
    );
    let node = if common.object.kind == "Node" {
        common.object.name.clone()
    } else if component == "kubelet" {
        if common.source_host.is_empty() {
            common.reporting_instance.clone()
        } else {
            common.source_host.clone()
        }
    } else {
        String::new()
    };
    EventRecord {
        seq: 0,
        cluster: cluster.to_string(),
        namespace: common.metadata.namespace.unwrap_or_default(),
        name,
        uid,
        resource_version: common.metadata.resource_version.unwrap_or_default(),
        api_version: api_version.to_string(),
        object: common.object,
        reason: common.reason,
        message: common.message,
        event_type: common.event_type,
        source_component: common.source_component,
        source_host: common.source_host,
        reporting_controller: common.reporting_controller,
        reporting_instance: common.reporting_instance,
        action: common.action,
        time_ms,
        time_is_receipt,
        first_ms: common.first_ms.unwrap_or(time_ms).min(time_ms),
        count: common.count,
        occurrences: 0,
        category,
        node,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Category;
    use crate::time::parse_time;

    const CORE_FIXTURE: &str = include_str!("../tests/fixtures/core.v1.Event.json");
    const EVENTS_FIXTURE: &str = include_str!("../tests/fixtures/events.k8s.io.v1.Event.json");

    fn observation(line: &str) -> EventRecord {
        match parse_line(line.as_bytes(), "c1", 42).expect("parses") {
            ParsedLine::Observation(observation) => observation.record,
            other => panic!("expected an observation, got {other:?}"),
        }
    }

    #[test]
    fn core_v1_fixture_converts() {
        let record = observation(CORE_FIXTURE);
        assert_eq!(record.api_version, "v1");
        assert_eq!(record.cluster, "c1");
        assert_eq!(record.namespace, "4");
        assert_eq!(record.name, "2");
        assert_eq!(record.uid, "7");
        assert_eq!(record.resource_version, "11042405498087606203");
        assert_eq!(record.object.kind, "20");
        assert_eq!(record.object.namespace, "21");
        assert_eq!(record.object.name, "22");
        assert_eq!(record.object.uid, "īqJ枊a8衍`Ĩɘ.蘯");
        assert_eq!(record.object.field_path, "25");
        assert_eq!(record.reason, "26");
        assert_eq!(record.message, "27");
        assert_eq!(record.source_component, "28");
        assert_eq!(record.source_host, "29");
        assert_eq!(record.event_type, "30");
        assert_eq!(record.action, "31");
        assert_eq!(record.reporting_controller, "38");
        assert_eq!(record.reporting_instance, "39");
        // lastTimestamp wins even though firstTimestamp is later (fuzzed values).
        assert_eq!(record.time_ms, parse_time("2907-12-28T01:19:18Z").unwrap());
        assert!(!record.time_is_receipt);
        assert!(record.first_ms <= record.time_ms);
        // count is negative in the fixture: the series count (positive) is used instead.
        assert_eq!(record.count, 1_266_076_158);
        assert_eq!(record.occurrences, 0);
        assert_eq!(record.raw["metadata"]["clusterName"], "15");
        assert!(record.raw["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn events_v1_fixture_converts() {
        let record = observation(EVENTS_FIXTURE);
        assert_eq!(record.api_version, "events.k8s.io/v1");
        assert_eq!(record.namespace, "4");
        assert_eq!(record.object.kind, "24");
        assert_eq!(record.object.name, "26");
        assert_eq!(record.object.uid, "鯹)晿<");
        assert_eq!(record.reason, "23");
        assert_eq!(record.message, "36");
        assert_eq!(record.event_type, "37");
        assert_eq!(record.reporting_controller, "20");
        assert_eq!(record.reporting_instance, "21");
        assert_eq!(record.source_component, "38");
        assert_eq!(record.source_host, "39");
        assert_eq!(record.time_ms, parse_time("2964-12-12T12:04:40Z").unwrap());
        // Both series.count and deprecatedCount are negative: an Event happened at least once.
        assert_eq!(record.count, 1);
    }

    #[test]
    fn time_falls_back_in_design_order() {
        let base = serde_json::json!({
            "metadata": {"name": "e", "namespace": "ns", "uid": "u",
                         "creationTimestamp": "2026-01-01T00:00:05Z"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
            "reason": "Started", "type": "Normal"
        });
        let at = |value: &serde_json::Value| match parse_value(value.clone(), "c", 7).unwrap() {
            ParsedLine::Observation(o) => (o.record.time_ms, o.record.time_is_receipt),
            other => panic!("{other:?}"),
        };
        let mut event = base.clone();
        assert_eq!(
            at(&event),
            (parse_time("2026-01-01T00:00:05Z").unwrap(), false)
        );
        event["firstTimestamp"] = "2026-01-01T00:00:04Z".into();
        assert_eq!(at(&event).0, parse_time("2026-01-01T00:00:04Z").unwrap());
        event["eventTime"] = "2026-01-01T00:00:03.500000Z".into();
        assert_eq!(at(&event).0, parse_time("2026-01-01T00:00:03.5Z").unwrap());
        event["series"] =
            serde_json::json!({"count": 3, "lastObservedTime": "2026-01-01T00:00:02.000000Z"});
        assert_eq!(at(&event).0, parse_time("2026-01-01T00:00:02Z").unwrap());
        event["lastTimestamp"] = "2026-01-01T00:00:01Z".into();
        assert_eq!(at(&event).0, parse_time("2026-01-01T00:00:01Z").unwrap());
        let mut bare = base.clone();
        bare["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("creationTimestamp");
        assert_eq!(at(&bare), (7, true));
    }

    #[test]
    fn watch_frames_and_list_items() {
        let event = serde_json::json!({
            "metadata": {"name": "web.1", "namespace": "prod", "uid": "u1", "resourceVersion": "9"},
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "prod"},
            "reason": "BackOff", "message": "Back-off restarting failed container app",
            "type": "Warning", "count": 4, "source": {"component": "kubelet", "host": "node-1"},
            "lastTimestamp": "2026-01-01T00:00:00Z", "eventTime": null,
            "reportingComponent": "", "reportingInstance": ""
        });
        let frame = serde_json::json!({"type": "MODIFIED", "object": event});
        let record = observation(&frame.to_string());
        assert_eq!(record.count, 4);
        assert_eq!(record.category, Category::PodCrash);
        assert_eq!(record.node, "node-1");
        assert_eq!(record.api_version, "v1");
        let deleted = serde_json::json!({"type": "DELETED", "object": event});
        assert_eq!(
            parse_line(deleted.to_string().as_bytes(), "c", 0).unwrap(),
            ParsedLine::Ignored("DELETED")
        );
        // A bare LIST item (no kind, no apiVersion) is a core/v1 Event.
        assert_eq!(observation(&event.to_string()).reason, "BackOff");
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for line in [
            "",
            "not json",
            "[]",
            "42",
            "{}",
            r#"{"kind":"Pod","metadata":{}}"#,
            r#"{"apiVersion":"apps/v1","metadata":{}}"#,
            r#"{"type":"ERROR","object":{"kind":"Status","code":410,"message":"too old"}}"#,
            r#"{"type":"WHAT","object":{}}"#,
            r#"{"metadata":{"name":5},"involvedObject":{}}"#,
            r#"{"metadata":{},"count":"many"}"#,
            r#"{"metadata":{},"lastTimestamp":"yesterday"}"#,
        ] {
            assert!(
                parse_line(line.as_bytes(), "c", 0).is_err(),
                "{line:?} should be rejected"
            );
        }
    }

    #[test]
    fn events_api_without_series_counts_once() {
        let event = serde_json::json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "n.1", "namespace": "default", "uid": "u"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kubelet",
            "reportingInstance": "node-9", "action": "Killing", "reason": "Killing",
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"}, "type": "Normal",
            "note": "Stopping container app"
        });
        let record = observation(&event.to_string());
        assert_eq!(record.count, 1);
        assert_eq!(record.node, "node-9");
        assert_eq!(record.message, "Stopping container app");
    }
}
