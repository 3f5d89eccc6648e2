//! What `kec eventer` adds to an Event from its caches (the node a pod runs on, its owner
//! workload, selected labels), carried in the Event object itself under one extra top-level
//! key, [`ENRICHMENT_KEY`], so every sink and the center see it and the original fields stay
//! untouched. Decoders of Kubernetes Events ignore unknown top-level keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{EventRecord, RawJson};

/// The top-level key of the enrichment in an Event object.
pub const ENRICHMENT_KEY: &str = "kecEnrichment";

/// The enrichment of one Event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrichment {
    /// The node the involved pod runs (or ran) on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The workload that owns the involved object, followed up the owner chain
    /// (Pod -> ReplicaSet -> Deployment, Pod -> Job -> CronJob).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<Workload>,
    /// Selected labels of the involved object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// An owner workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

impl Enrichment {
    pub fn is_empty(&self) -> bool {
        self.node.is_none() && self.workload.is_none() && self.labels.is_empty()
    }
}

impl EventRecord {
    /// This record with the enrichment added to its Event object (replacing one it had) and
    /// its `node` filled in when it had none.
    pub fn with_enrichment(&self, enrichment: &Enrichment) -> EventRecord {
        let mut record = self.clone();
        if enrichment.is_empty() {
            return record;
        }
        if record.node.is_empty()
            && let Some(node) = &enrichment.node
        {
            record.node = node.clone();
        }
        record.raw = raw_with_enrichment(&self.raw, enrichment);
        record
    }
}

/// The Event object's text with the enrichment as its last top-level key. The usual case (an
/// object without one) appends to the text without parsing it.
fn raw_with_enrichment(raw: &RawJson, enrichment: &Enrichment) -> RawJson {
    let Ok(value) = serde_json::to_string(enrichment) else {
        return raw.clone();
    };
    let text = raw.get().trim_end();
    let key = format!("\"{ENRICHMENT_KEY}\"");
    if !text.contains(&key)
        && let Some(body) = text.strip_suffix('}')
    {
        let body = body.trim_end();
        let separator = if body.ends_with('{') { "" } else { "," };
        if let Ok(spliced) = RawJson::from_json_text(format!("{body}{separator}{key}:{value}}}")) {
            return spliced;
        }
    }
    // Already enriched, or not an object: go through a tree.
    match raw.to_value() {
        serde_json::Value::Object(mut object) => {
            if let Ok(enrichment) = serde_json::to_value(enrichment) {
                object.insert(ENRICHMENT_KEY.to_string(), enrichment);
            }
            RawJson::from_value(&serde_json::Value::Object(object))
        }
        _ => raw.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> EventRecord {
        match crate::parse_line(json.as_bytes(), "c", 0) {
            Ok(crate::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("{other:?}"),
        }
    }

    fn enrichment() -> Enrichment {
        Enrichment {
            node: Some("node-7".into()),
            workload: Some(Workload {
                kind: "Deployment".into(),
                name: "web".into(),
            }),
            labels: BTreeMap::from([("app".to_string(), "web".to_string())]),
        }
    }

    #[test]
    fn the_enrichment_travels_in_the_event_and_the_center_reads_the_node_back() {
        let plain = record(
            r#"{"metadata":{"name":"web-1.1","namespace":"prod"},"reason":"Scheduled","source":{"component":"default-scheduler"},
                "involvedObject":{"kind":"Pod","name":"web-1","namespace":"prod"}}"#,
        );
        assert_eq!(plain.node, "");
        let enriched = plain.with_enrichment(&enrichment());
        assert_eq!(enriched.node, "node-7");
        let value = enriched.raw.to_value();
        assert_eq!(value[ENRICHMENT_KEY]["workload"]["kind"], "Deployment");
        assert_eq!(value[ENRICHMENT_KEY]["labels"]["app"], "web");
        assert_eq!(value["reason"], "Scheduled", "the original fields stay");
        let again = record(enriched.raw.get());
        assert_eq!(
            again.node, "node-7",
            "the center derives the node from the enrichment"
        );
        let twice = enriched.with_enrichment(&Enrichment {
            node: Some("node-8".into()),
            ..Enrichment::default()
        });
        let value = twice.raw.to_value();
        assert_eq!(
            value[ENRICHMENT_KEY]["node"], "node-8",
            "replaced, not duplicated"
        );
        assert!(value[ENRICHMENT_KEY].get("workload").is_none());
    }

    #[test]
    fn an_empty_enrichment_changes_nothing() {
        let plain = record(r#"{"metadata":{"name":"e","namespace":"d"}}"#);
        assert_eq!(plain.with_enrichment(&Enrichment::default()), plain);
    }
}
