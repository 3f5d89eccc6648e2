//! [`EventRecorder`]: a producer of Events that behaves like client-go's `record` package, so
//! tests get realistic traffic with a few calls.
//!
//! Like client-go's `EventLogger`: the first occurrence of (source, involved object, type,
//! reason, message) is POSTed as `<object name>.<hex unix nanos>` with `count: 1`; each repeat
//! is a strategic-merge PATCH `{"count","lastTimestamp","message"}`; when that PATCH gets 404
//! (the Event expired) the SAME name is POSTed again with the running count and gets a new uid.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::clock::format_time;
use crate::error::{Error, Result};
use crate::handle::FakeApiHandle;
use crate::operations;
use crate::patch::PatchType;
use crate::resources::CORE_EVENTS;

/// What an Event is about: client-go's `ObjectReference`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct InvolvedObject {
    pub kind: String,
    /// Empty for cluster-scoped objects (the Event then lives in `default`).
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub api_version: String,
    pub field_path: String,
}

impl InvolvedObject {
    pub fn new(kind: &str, namespace: &str, name: &str) -> InvolvedObject {
        InvolvedObject {
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            ..InvolvedObject::default()
        }
    }

    pub fn pod(namespace: &str, name: &str) -> InvolvedObject {
        InvolvedObject {
            api_version: "v1".to_string(),
            ..InvolvedObject::new("Pod", namespace, name)
        }
    }

    pub fn node(name: &str) -> InvolvedObject {
        InvolvedObject::new("Node", "", name)
    }

    pub fn with_uid(mut self, uid: &str) -> InvolvedObject {
        self.uid = uid.to_string();
        self
    }

    pub fn with_field_path(mut self, field_path: &str) -> InvolvedObject {
        self.field_path = field_path.to_string();
        self
    }

    fn to_json(&self) -> Value {
        json!({
            "kind": self.kind, "namespace": self.namespace, "name": self.name, "uid": self.uid,
            "apiVersion": self.api_version, "fieldPath": self.field_path
        })
    }
}

/// What one [`EventRecorder::record`] call wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// POSTed a new Event.
    Created { namespace: String, name: String },
    /// PATCHed the count of an existing Event.
    Patched {
        namespace: String,
        name: String,
        count: u64,
    },
    /// The PATCH got 404 (expired): POSTed the same name again with the running count.
    Recreated {
        namespace: String,
        name: String,
        count: u64,
    },
}

#[derive(Debug, Clone)]
struct RecorderSeries {
    namespace: String,
    name: String,
    count: u64,
    first_timestamp: String,
}

/// See the module documentation. Cheap to create; keeps its own cache like a client-go process.
#[derive(Debug)]
pub struct EventRecorder {
    handle: FakeApiHandle,
    component: String,
    host: String,
    series: Mutex<HashMap<(InvolvedObject, String, String, String), RecorderSeries>>,
}

impl EventRecorder {
    pub(crate) fn new(handle: FakeApiHandle, component: &str, host: &str) -> EventRecorder {
        EventRecorder {
            handle,
            component: component.to_string(),
            host: host.to_string(),
            series: Mutex::new(HashMap::new()),
        }
    }

    /// Records one occurrence.
    pub fn record(
        &self,
        object: &InvolvedObject,
        event_type: &str,
        reason: &str,
        message: &str,
    ) -> Result<Recorded> {
        let now = self.handle.now();
        let timestamp = format_time(now);
        let key = (
            object.clone(),
            event_type.to_string(),
            reason.to_string(),
            message.to_string(),
        );
        let mut series_by_key = self
            .series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut cluster = self.handle.shared.cluster();
        if let Some(series) = series_by_key.get_mut(&key) {
            series.count += 1;
            let patch =
                json!({"count": series.count, "lastTimestamp": timestamp, "message": message});
            let patch_body = serde_json::to_vec(&patch).unwrap_or_default();
            let patched = operations::patch(
                &mut cluster,
                &CORE_EVENTS,
                Some(&series.namespace),
                &series.name,
                None,
                &patch_body,
                PatchType::StrategicMerge,
            );
            return match patched {
                Ok(_) => Ok(Recorded::Patched {
                    namespace: series.namespace.clone(),
                    name: series.name.clone(),
                    count: series.count,
                }),
                Err(status) if status.code == 404 => {
                    let event =
                        self.event_json(object, event_type, reason, message, series, &timestamp);
                    operations::create(&mut cluster, &CORE_EVENTS, Some(&series.namespace), event)?;
                    Ok(Recorded::Recreated {
                        namespace: series.namespace.clone(),
                        name: series.name.clone(),
                        count: series.count,
                    })
                }
                Err(status) => Err(Error::Api(status)),
            };
        }
        let namespace = if object.namespace.is_empty() {
            "default".to_string()
        } else {
            object.namespace.clone()
        };
        // Real clocks make these names unique; a frozen test clock could repeat one, and a
        // name must not be reused for a different series, so step past taken ones.
        let mut nanos = now.as_nanosecond();
        let mut name = format!("{}.{nanos:x}", object.name);
        while cluster.event_name_ever_used(&namespace, &name) {
            nanos += 1;
            name = format!("{}.{nanos:x}", object.name);
        }
        let series = RecorderSeries {
            name,
            namespace,
            count: 1,
            first_timestamp: timestamp.clone(),
        };
        let event = self.event_json(object, event_type, reason, message, &series, &timestamp);
        operations::create(&mut cluster, &CORE_EVENTS, Some(&series.namespace), event)?;
        let recorded = Recorded::Created {
            namespace: series.namespace.clone(),
            name: series.name.clone(),
        };
        series_by_key.insert(key, series);
        Ok(recorded)
    }

    /// Forgets every series, like a restarted client-go process: the next occurrence is a new
    /// Event with a new name.
    pub fn forget(&self) {
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    fn event_json(
        &self,
        object: &InvolvedObject,
        event_type: &str,
        reason: &str,
        message: &str,
        series: &RecorderSeries,
        timestamp: &str,
    ) -> Value {
        json!({
            "metadata": {"name": series.name, "namespace": series.namespace},
            "involvedObject": object.to_json(),
            "reason": reason,
            "message": message,
            "source": {"component": self.component, "host": self.host},
            "firstTimestamp": series.first_timestamp,
            "lastTimestamp": timestamp,
            "count": series.count,
            "type": event_type,
            "eventTime": null,
            // client-go 1.27+ copies the source into the reporting fields.
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        })
    }
}
