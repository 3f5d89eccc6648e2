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
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::category::classify;
use crate::record::{EventRecord, ObjectRef, RawJson};
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

/// The top-level keys that tell what a document is, read without building a JSON tree.
/// An Event's own `type` ("Warning") is never paired with an `object`, a frame's always is.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", default, borrow)]
    frame_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    object: Option<&'a RawValue>,
    #[serde(default, borrow)]
    kind: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "apiVersion", default, borrow)]
    api_version: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    items: Option<Vec<&'a RawValue>>,
    #[serde(default)]
    metadata: Option<IgnoredAny>,
    // Fields only events.k8s.io/v1 has, to tell LIST items (which carry no apiVersion) apart.
    #[serde(default)]
    regarding: Option<IgnoredAny>,
    #[serde(default)]
    note: Option<IgnoredAny>,
    #[serde(rename = "reportingController", default)]
    reporting_controller: Option<IgnoredAny>,
    #[serde(rename = "deprecatedSource", default)]
    deprecated_source: Option<IgnoredAny>,
    /// What kec eventer added (see [`crate::enrichment`]).
    #[serde(rename = "kecEnrichment", default)]
    enrichment: Option<EnrichedNode>,
}

/// The part of the enrichment the record uses.
#[derive(serde::Deserialize)]
struct EnrichedNode {
    #[serde(default)]
    node: Option<String>,
}

fn envelope(document: &[u8]) -> Result<Envelope<'_>> {
    serde_json::from_slice(document).map_err(|error| {
        if error.is_data() {
            Error::NotAnEvent(format!("not an Event object: {error}"))
        } else {
            Error::Json(error)
        }
    })
}

/// Parses one document of ingest input for `cluster`: an Event or a watch frame holding one.
/// `receipt_ms` is used only when the Event carries no time at all.
pub fn parse_line(line: &[u8], cluster: &str, receipt_ms: i64) -> Result<ParsedLine> {
    let envelope = envelope(line)?;
    if envelope.items.is_some() {
        return Err(Error::NotAnEvent(
            "a List: its items are Events, the List is not".into(),
        ));
    }
    parse_envelope(envelope, line, cluster, receipt_ms)
}

/// Parses one document that may also be a List (`EventList`): one result per Event in it.
pub fn parse_document(document: &[u8], cluster: &str, receipt_ms: i64) -> Vec<Result<ParsedLine>> {
    let envelope = match envelope(document) {
        Ok(envelope) => envelope,
        Err(error) => return vec![Err(error)],
    };
    let is_list = envelope
        .kind
        .as_deref()
        .is_some_and(|kind| kind.ends_with("List"));
    match (is_list, envelope.items) {
        (true, Some(items)) => items
            .into_iter()
            .map(|item| parse_line(item.get().as_bytes(), cluster, receipt_ms))
            .collect(),
        (true, None) => vec![Err(Error::NotAnEvent(
            "a List without an items array".into(),
        ))],
        (false, Some(_)) => {
            vec![Err(Error::NotAnEvent(
                "items outside a List: not an Event".into(),
            ))]
        }
        (false, None) => {
            let envelope = match crate::convert::envelope(document) {
                Ok(envelope) => envelope,
                Err(error) => return vec![Err(error)],
            };
            vec![parse_envelope(envelope, document, cluster, receipt_ms)]
        }
    }
}

/// Like [`parse_line`], for an already parsed JSON value.
pub fn parse_value(value: Value, cluster: &str, receipt_ms: i64) -> Result<ParsedLine> {
    let text = serde_json::to_vec(&value).map_err(Error::Json)?;
    parse_line(&text, cluster, receipt_ms)
}

fn parse_envelope(
    envelope: Envelope<'_>,
    document: &[u8],
    cluster: &str,
    receipt_ms: i64,
) -> Result<ParsedLine> {
    if let (Some(frame_type), Some(object)) = (envelope.frame_type.as_deref(), envelope.object) {
        return match frame_type {
            "ADDED" | "MODIFIED" => {
                let inner = crate::convert::envelope(object.get().as_bytes())?;
                if inner.object.is_some() || inner.items.is_some() {
                    return Err(Error::NotAnEvent(
                        "a watch frame's object is not an Event".into(),
                    ));
                }
                event_from_envelope(inner, object.get().as_bytes(), cluster, receipt_ms)
            }
            "DELETED" => Ok(ParsedLine::Ignored("DELETED")),
            "BOOKMARK" => Ok(ParsedLine::Ignored("BOOKMARK")),
            "ERROR" => {
                let message = serde_json::from_str::<Value>(object.get())
                    .ok()
                    .and_then(|status| {
                        status
                            .get("message")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                    })
                    .unwrap_or_else(|| "no message".to_string());
                Err(Error::NotAnEvent(format!("watch ERROR frame: {message}")))
            }
            other => Err(Error::NotAnEvent(format!(
                "unknown watch frame type {other:?}"
            ))),
        };
    }
    if envelope.object.is_some() {
        return Err(Error::NotAnEvent(
            "an object field without a watch frame type".into(),
        ));
    }
    event_from_envelope(envelope, document, cluster, receipt_ms)
}

fn event_from_envelope(
    envelope: Envelope<'_>,
    document: &[u8],
    cluster: &str,
    receipt_ms: i64,
) -> Result<ParsedLine> {
    if let Some(kind) = envelope.kind.as_deref()
        && kind != "Event"
    {
        return Err(Error::NotAnEvent(format!(
            "kind is {kind:?}, expected \"Event\""
        )));
    }
    let is_events_api = match envelope.api_version.as_deref() {
        Some("events.k8s.io/v1") => true,
        Some("v1") => false,
        Some(other) => {
            return Err(Error::NotAnEvent(format!(
                "apiVersion {other:?} is neither \"v1\" nor \"events.k8s.io/v1\""
            )));
        }
        None => {
            envelope.regarding.is_some()
                || envelope.note.is_some()
                || envelope.reporting_controller.is_some()
                || envelope.deprecated_source.is_some()
        }
    };
    if envelope.metadata.is_none() {
        return Err(Error::NotAnEvent("no metadata".into()));
    }
    let raw = raw_json(document)?;
    let enriched_node = envelope.enrichment.and_then(|enrichment| enrichment.node);
    let mut record = if is_events_api {
        let event: events::Event =
            serde_json::from_slice(document).map_err(|source| Error::InvalidEvent {
                api_version: "events.k8s.io/v1",
                source,
            })?;
        from_events_v1(event, raw, cluster, receipt_ms)
    } else {
        let event: core::Event =
            serde_json::from_slice(document).map_err(|source| Error::InvalidEvent {
                api_version: "v1",
                source,
            })?;
        from_core_v1(event, raw, cluster, receipt_ms)
    };
    if record.node.is_empty()
        && let Some(node) = enriched_node
    {
        record.node = node;
    }
    Ok(ParsedLine::Observation(Box::new(Observation { record })))
}

/// The original object as text, less `metadata.managedFields` (server-side-apply bookkeeping,
/// often larger than the Event itself and of no use to anyone reading events: the one part of
/// the original object not kept). Documents without it are kept byte for byte.
fn raw_json(document: &[u8]) -> Result<RawJson> {
    let text = std::str::from_utf8(document)
        .map_err(|error| Error::NotAnEvent(format!("not UTF-8: {error}")))?
        .trim();
    if !text.contains("\"managedFields\"") {
        return RawJson::from_json_text(text.to_string()).map_err(Error::Json);
    }
    let mut value: Value = serde_json::from_str(text).map_err(Error::Json)?;
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
    Ok(RawJson::from_value(&value))
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

fn from_core_v1(event: core::Event, raw: RawJson, cluster: &str, receipt_ms: i64) -> EventRecord {
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

fn from_events_v1(
    event: events::Event,
    raw: RawJson,
    cluster: &str,
    receipt_ms: i64,
) -> EventRecord {
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
    raw: RawJson,
    cluster: &str,
    receipt_ms: i64,
) -> EventRecord {
    let (time_ms, time_is_receipt) = match common.time_ms {
        Some(ms) => (ms, false),
        None => (receipt_ms, true),
    };
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
        let raw = record.raw.to_value();
        assert_eq!(raw["metadata"]["clusterName"], "15");
        assert!(raw["metadata"].get("managedFields").is_none());
        assert_eq!(raw["metadata"]["ownerReferences"][0]["uid"], "Dz廔ȇ{sŊƏp");
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
    fn lists_yield_one_result_per_item() {
        let item = r#"{"metadata":{"name":"e","namespace":"d"},"involvedObject":{"kind":"Pod","name":"p"},"reason":"Started"}"#;
        let list = format!(
            r#"{{"kind":"EventList","apiVersion":"v1","items":[{item},{{"kind":"Pod","metadata":{{}}}}]}}"#
        );
        let results = parse_document(list.as_bytes(), "c", 0);
        assert_eq!(results.len(), 2);
        assert!(matches!(results[0], Ok(ParsedLine::Observation(_))));
        assert!(results[1].is_err());
        assert_eq!(parse_document(item.as_bytes(), "c", 0).len(), 1);
        assert!(parse_line(list.as_bytes(), "c", 0).is_err());
        assert!(parse_document(br#"{"kind":"EventList"}"#, "c", 0)[0].is_err());
    }

    #[test]
    fn raw_text_is_kept_byte_for_byte() {
        let line =
            r#"{"metadata": {"name": "e", "namespace": "d"}, "reason": "Started",  "x": 1.50}"#;
        let record = observation(line);
        assert_eq!(record.raw.get(), line);
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
