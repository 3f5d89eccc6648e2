//! Property tests: the converter answers every input with a record or an error, never a panic,
//! and what it accepts satisfies the record's invariants. (The `fuzz/` targets explore further.)

use kec_model::{ParsedLine, parse_line};
use proptest::prelude::*;
use serde_json::{Value, json};

/// JSON values built from the keys and shapes an Event has, with wrong types mixed in.
fn event_like() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9:. \\-]{0,12}".prop_map(Value::String),
        Just(json!("2026-11-25T10:00:00Z")),
        Just(json!("2026-11-25T10:00:00.123456Z")),
        Just(json!("Warning")),
    ];
    let keys = prop::sample::select(vec![
        "kind",
        "apiVersion",
        "metadata",
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "involvedObject",
        "regarding",
        "reason",
        "message",
        "note",
        "type",
        "count",
        "series",
        "lastObservedTime",
        "firstTimestamp",
        "lastTimestamp",
        "eventTime",
        "source",
        "component",
        "host",
        "object",
        "deprecatedCount",
        "reportingController",
    ]);
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..8).prop_map(|pairs| {
                Value::Object(
                    pairs
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _result = parse_line(&bytes, "c", 0);
    }

    #[test]
    fn event_shaped_json_never_panics_and_accepted_records_are_sane(value in event_like()) {
        let line = value.to_string();
        if let Ok(ParsedLine::Observation(observation)) = parse_line(line.as_bytes(), "c", 7) {
            let record = observation.record;
            prop_assert!(record.count >= 1);
            prop_assert!(record.first_ms <= record.time_ms);
            prop_assert_eq!(record.occurrences, 0);
            prop_assert_eq!(record.cluster.as_str(), "c");
        }
    }
}
