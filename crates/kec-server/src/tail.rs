//! Live tail: an in-memory broadcast bus that ingest publishes every stored observation to, and
//! `GET /api/v1/tail`, a server-sent event stream of the observations matching a query (the
//! details page's: field parameters, and `q` in the query language, tested in memory by
//! [`kec_store::RecordMatcher`] with the index's meaning).
//!
//! The bus is bounded: a subscriber that falls more than [`TAIL_CAPACITY`] observations behind
//! loses the oldest ones and is told how many with a `gap` message, never blocking ingest.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use kec_model::EventRecord;
use kec_store::Filter;
use tokio::sync::broadcast;

use crate::api::EventQuery;
use crate::error::ApiError;
use crate::state::AppState;

/// Observations the bus holds for its slowest subscriber before that one gets a gap.
pub const TAIL_CAPACITY: usize = 4096;

/// The bus ingest publishes to; cheap to clone.
#[derive(Clone)]
pub struct TailBus {
    sender: broadcast::Sender<Arc<EventRecord>>,
}

impl Default for TailBus {
    fn default() -> TailBus {
        TailBus::new(TAIL_CAPACITY)
    }
}

impl TailBus {
    /// A bus holding up to `capacity` observations for a slow subscriber.
    pub fn new(capacity: usize) -> TailBus {
        let (sender, _receiver) = broadcast::channel(capacity.max(1));
        TailBus { sender }
    }

    /// Whether anyone listens (ingest skips copying records when nobody does).
    pub fn has_subscribers(&self) -> bool {
        self.sender.receiver_count() > 0
    }

    /// Sends stored observations to every subscriber.
    pub fn publish(&self, records: impl IntoIterator<Item = EventRecord>) {
        for record in records {
            // An error only means nobody listens any more.
            let _nobody = self.sender.send(Arc::new(record));
        }
    }

    /// A new subscription, starting with the next published observation.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventRecord>> {
        self.sender.subscribe()
    }
}

/// What a tail message carries for one observation.
#[derive(serde::Serialize)]
pub struct TailItem<'a> {
    pub cluster: &'a str,
    pub uid: &'a str,
    pub time_ms: i64,
    #[serde(rename = "type")]
    pub event_type: &'a str,
    pub reason: &'a str,
    pub kind: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub message: &'a str,
    pub count: i64,
    pub occurrences: i64,
    pub node: &'a str,
}

impl<'a> TailItem<'a> {
    pub fn of(record: &'a EventRecord) -> TailItem<'a> {
        TailItem {
            cluster: &record.cluster,
            uid: &record.uid,
            time_ms: record.time_ms,
            event_type: &record.event_type,
            reason: &record.reason,
            kind: &record.object.kind,
            namespace: kec_store::Field::Namespace.value_of(record),
            name: &record.object.name,
            message: &record.message,
            count: record.count,
            occurrences: record.occurrences,
            node: &record.node,
        }
    }
}

/// Moves the values written `!value` of each term into a negated term of the same field.
pub fn split_exclusions(filter: &mut Filter) {
    let mut negated = Vec::new();
    for term in &mut filter.terms {
        if term.negate {
            continue;
        }
        let (excluded, kept): (Vec<String>, Vec<String>) = term
            .values
            .drain(..)
            .partition(|value| value.starts_with('!'));
        term.values = kept;
        let excluded: Vec<String> = excluded
            .into_iter()
            .map(|value| value.trim_start_matches('!').to_string())
            .filter(|value| !value.is_empty())
            .collect();
        if !excluded.is_empty() {
            negated.push(kec_store::TermFilter {
                field: term.field,
                values: excluded,
                negate: true,
            });
        }
    }
    filter.terms.retain(|term| !term.values.is_empty());
    filter.terms.extend(negated);
}

/// `GET /api/v1/tail`: `event` messages (one observation as JSON, plus `html`: its table row as
/// the events page draws it) for observations matching the query, as they are ingested; a `gap`
/// message with the number of observations skipped when this subscriber fell behind.
///
/// The field parameters filter as they do everywhere; `q` is the query language's search (the
/// details page's query box), tested on each record in memory with the index's meaning.
pub async fn tail(
    State(state): State<AppState>,
    Query(query): Query<EventQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let matcher = crate::ui::tail_matcher(&query)?;
    let receiver = state.tail.subscribe();
    let stream = futures_util::stream::unfold(
        (receiver, matcher),
        |(mut receiver, mut matcher)| async move {
            loop {
                match receiver.recv().await {
                    Ok(record) if matcher.matches(&record) => {
                        let event = tail_event(&record);
                        return Some((Ok(event), (receiver, matcher)));
                    }
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(skipped)) => {
                        let event = Event::default().event("gap").data(skipped.to_string());
                        return Some((Ok(event), (receiver, matcher)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn tail_event(record: &EventRecord) -> Event {
    let mut value = serde_json::to_value(TailItem::of(record)).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "html".into(),
            serde_json::Value::String(crate::ui::tail_row_html(record)),
        );
    }
    Event::default().event("event").data(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(reason: &str, namespace: &str, message: &str) -> EventRecord {
        let value = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "e", "namespace": namespace, "uid": "u1", "resourceVersion": "1"},
            "involvedObject": {"kind": "Pod", "namespace": namespace, "name": "web-1"},
            "reason": reason, "message": message, "type": "Warning", "count": 1,
        });
        match kec_model::convert::parse_value(value, "prod", 1_000) {
            Ok(kec_model::convert::ParsedLine::Observation(observation)) => observation.record,
            other => panic!("not an observation: {other:?}"),
        }
    }

    #[test]
    fn the_query_language_filters_the_tail() {
        let query = EventQuery {
            namespace: Some("shop".into()),
            reason: Some("!Pulled".into()),
            q: Some("back-off \"failed container\" -kind:Node".into()),
            ..EventQuery::default()
        };
        let mut matcher = crate::ui::tail_matcher(&query).expect("valid");
        let message = "Back-off restarting failed container web";
        assert!(matcher.matches(&record("BackOff", "shop", message)));
        assert!(!matcher.matches(&record("Pulled", "shop", message)));
        assert!(!matcher.matches(&record("BackOff", "default", message)));
        assert!(!matcher.matches(&record(
            "BackOff",
            "shop",
            "Back-off restarting container web"
        )));
        let bad = EventQuery {
            q: Some("type:Warning namspace:x".into()),
            ..EventQuery::default()
        };
        match crate::ui::tail_matcher(&bad) {
            Err(ApiError::Query(error)) => assert_eq!(error.column, 14),
            other => panic!("expected a query error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_lagging_subscriber_learns_how_much_it_missed() {
        let bus = TailBus::new(2);
        let mut receiver = bus.subscribe();
        assert!(bus.has_subscribers());
        bus.publish((0..5).map(|_| record("BackOff", "shop", "x")));
        match receiver.recv().await {
            Err(broadcast::error::RecvError::Lagged(skipped)) => assert_eq!(skipped, 3),
            other => panic!("expected a gap, got {other:?}"),
        }
        assert!(receiver.recv().await.is_ok());
    }
}
