//! The embedded store end to end: ingest through the ledger, durability, search, aggregation,
//! retention. Every test uses its own temporary data directory.

use kec_model::EventRecord;
use kec_model::time::{DAY_MS, parse_time};
use kec_store::{AggregateRequest, EmbeddedStore, Field, Filter, SearchRequest, StoreConfig};

const NOW: &str = "2026-11-25T12:00:00Z";

fn now() -> i64 {
    parse_time(NOW).unwrap()
}

/// A hand-made observation of an Event, built from its JSON like ingest builds it.
fn event(name: &str, pod: &str, reason: &str, kind: &str, count: i64, time_ms: i64) -> EventRecord {
    event_in("shop", name, pod, reason, kind, count, time_ms, None)
}

#[allow(clippy::too_many_arguments)]
fn event_in(
    namespace: &str,
    name: &str,
    pod: &str,
    reason: &str,
    kind: &str,
    count: i64,
    time_ms: i64,
    message: Option<&str>,
) -> EventRecord {
    let warning = matches!(reason, "BackOff" | "Unhealthy" | "FailedScheduling");
    let time = jiff::Timestamp::from_millisecond(time_ms)
        .unwrap()
        .to_string();
    let message = message.map_or_else(
        || match reason {
            "BackOff" => {
                format!("Back-off restarting failed container app in pod {pod}: connection refused")
            }
            _ => format!("{reason} happened to {pod}: connection refused"),
        },
        str::to_string,
    );
    let json = serde_json::json!({
        "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}"), "resourceVersion": count.to_string()},
        "involvedObject": {"kind": kind, "namespace": namespace, "name": pod, "uid": format!("pod-{pod}"), "apiVersion": "v1"},
        "reason": reason,
        "message": message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": time, "lastTimestamp": time, "count": count,
    });
    match kec_model::parse_value(json, "prod", 0).unwrap() {
        kec_model::ParsedLine::Observation(observation) => observation.record,
        other => panic!("{other:?}"),
    }
}

fn open(dir: &std::path::Path) -> EmbeddedStore {
    EmbeddedStore::open(StoreConfig::new(dir)).unwrap()
}

fn all(store: &EmbeddedStore) -> Vec<EventRecord> {
    store
        .search(&SearchRequest::newest(Filter::default(), 10_000))
        .unwrap()
        .records
}

#[test]
fn reingesting_adds_nothing_and_growth_adds_the_delta() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let t = now() - 60_000;
    let first = store
        .ingest(vec![event("e1", "web-1", "BackOff", "Pod", 1, t)], now())
        .unwrap();
    assert_eq!(
        (first.accepted, first.duplicates, first.occurrences),
        (1, 0, 1)
    );
    // Relist: the same state again, twice in one batch.
    let relist = store
        .ingest(
            vec![
                event("e1", "web-1", "BackOff", "Pod", 1, t),
                event("e1", "web-1", "BackOff", "Pod", 1, t),
            ],
            now(),
        )
        .unwrap();
    assert_eq!((relist.accepted, relist.duplicates), (0, 2));
    // The count grew to 4: one record with the delta 3.
    let grown = store
        .ingest(
            vec![event("e1", "web-1", "BackOff", "Pod", 4, t + 1000)],
            now(),
        )
        .unwrap();
    assert_eq!((grown.accepted, grown.occurrences), (1, 3));
    // Out of order: count 3 arrives after count 4.
    let late = store
        .ingest(
            vec![event("e1", "web-1", "BackOff", "Pod", 3, t + 500)],
            now(),
        )
        .unwrap();
    assert_eq!((late.accepted, late.duplicates), (0, 1));
    store.commit(now()).unwrap();
    let records = all(&store);
    assert_eq!(records.len(), 2);
    assert_eq!(records.iter().map(|r| r.occurrences).sum::<i64>(), 4);
    assert_eq!(records[0].count, 4, "newest first");
    assert!(records[0].seq > records[1].seq);
}

#[test]
fn acknowledged_batches_survive_a_crash_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let t = now() - 60_000;
    {
        let store = open(dir.path());
        store
            .ingest(vec![event("e1", "web-1", "BackOff", "Pod", 2, t)], now())
            .unwrap();
        store.commit(now()).unwrap();
        store
            .ingest(
                vec![event("e2", "web-2", "Started", "Pod", 1, t + 1)],
                now(),
            )
            .unwrap();
        store
            .ingest(
                vec![event("e1", "web-1", "BackOff", "Pod", 5, t + 2)],
                now(),
            )
            .unwrap();
        // Dropped without commit: the last two batches live only in the write-ahead log.
    }
    let store = open(dir.path());
    let records = all(&store);
    assert_eq!(records.len(), 3);
    assert_eq!(records.iter().map(|r| r.occurrences).sum::<i64>(), 6);
    // The ledger came back too: replaying the batches adds nothing.
    let again = store
        .ingest(
            vec![event("e1", "web-1", "BackOff", "Pod", 5, t + 2)],
            now(),
        )
        .unwrap();
    assert_eq!(again.duplicates, 1);
    let clusters = store.clusters().unwrap();
    assert_eq!(clusters.len(), 1);
    assert_eq!((clusters[0].records, clusters[0].occurrences), (3, 6));
    // Sequence numbers keep increasing across restarts.
    let next = store
        .ingest(
            vec![event("e3", "web-3", "Started", "Pod", 1, t + 3)],
            now(),
        )
        .unwrap();
    assert_eq!(next.accepted, 1);
    store.commit(now()).unwrap();
    let seqs: Vec<u64> = all(&store).iter().map(|r| r.seq).collect();
    let mut unique = seqs.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        seqs.len(),
        "no sequence number reused: {seqs:?}"
    );
}

#[test]
fn a_data_directory_is_opened_by_one_store_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let error = EmbeddedStore::open(StoreConfig::new(dir.path()))
        .err()
        .expect("second open fails");
    assert!(error.to_string().contains("in use"), "{error}");
    drop(store);
    open(dir.path());
}

#[test]
fn search_filters_text_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let t = now() - 3_600_000;
    let batch = vec![
        event("a", "web-1", "BackOff", "Pod", 1, t),
        event_in("pay", "b", "web-2", "Started", "Pod", 1, t + 10, None),
        event("c", "web-1", "Unhealthy", "Pod", 1, t + 20),
        event_in(
            "shop",
            "d",
            "api",
            "ScalingReplicaSet",
            "Deployment",
            1,
            t + 30,
            Some("Scaled up replica set api-5d8f to 3"),
        ),
    ];
    store.ingest(batch, now()).unwrap();
    store.commit(now()).unwrap();
    let names = |filter: Filter| -> Vec<String> {
        store
            .search(&SearchRequest::newest(filter, 100))
            .unwrap()
            .records
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    assert_eq!(
        names(Filter::default().with(Field::Name, "web-1")),
        ["c", "a"]
    );
    assert_eq!(
        names(Filter::default().with(Field::Type, "Warning")),
        ["c", "a"]
    );
    assert_eq!(
        names(Filter::default().with(Field::Kind, "Deployment")),
        ["d"]
    );
    assert_eq!(
        names(Filter::default().with(Field::Namespace, "pay")),
        ["b"]
    );
    assert_eq!(
        names(Filter::default().with(Field::Category, "PodCrash")),
        ["a"]
    );
    assert_eq!(
        names(Filter::default().with(Field::Cluster, "other")),
        Vec::<String>::new()
    );
    let mut negated = Filter::default().with(Field::Reason, "BackOff");
    negated.terms[0].negate = true;
    assert_eq!(names(negated), ["d", "c", "b"]);
    let mut either = Filter::default();
    either.terms.push(kec_store::TermFilter {
        field: Field::Reason,
        values: vec!["BackOff".into(), "Started".into()],
        negate: false,
    });
    assert_eq!(names(either), ["b", "a"]);
    let text = Filter {
        text: Some("replica".into()),
        ..Filter::default()
    };
    assert_eq!(names(text), ["d"]);
    let phrase = Filter {
        text: Some("\"connection refused\"".into()),
        ..Filter::default()
    };
    assert_eq!(names(phrase).len(), 3);
    assert_eq!(names(Filter::default().between(t + 10, t + 30)), ["c", "b"]);
}

#[test]
fn paging_visits_every_record_once_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // 250 events over three days, several sharing the same millisecond.
    let batch: Vec<EventRecord> = (0..250)
        .map(|i| {
            event(
                &format!("e{i}"),
                &format!("pod-{}", i % 7),
                "Started",
                "Pod",
                1,
                now() - (i / 3) as i64 * 3_000_000,
            )
        })
        .collect();
    store.ingest(batch, now()).unwrap();
    store.commit(now()).unwrap();
    assert!(store.days().unwrap().len() >= 3);
    let mut seen = Vec::new();
    let mut request = SearchRequest::newest(Filter::default(), 40);
    request.with_totals = true;
    let mut pages = 0;
    loop {
        let page = store.search(&request).unwrap();
        assert_eq!(page.total_records, Some(250));
        assert_eq!(page.total_occurrences, Some(250));
        pages += 1;
        seen.extend(page.records.iter().map(|r| (r.time_ms, r.seq)));
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, 7);
    assert_eq!(seen.len(), 250);
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first, without repeats");
    sorted.dedup();
    assert_eq!(sorted.len(), 250);
    request.cursor = Some("garbage".into());
    assert!(store.search(&request).unwrap_err().is_client_error());
}

#[test]
fn timeline_is_oldest_first_for_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let t = now() - 100_000;
    store
        .ingest(
            vec![
                event("s", "web-1", "Scheduled", "Pod", 1, t),
                event("p", "web-1", "Pulled", "Pod", 1, t + 5),
                event("x", "web-2", "Pulled", "Pod", 1, t + 6),
                event("b", "web-1", "BackOff", "Pod", 1, t + 9),
            ],
            now(),
        )
        .unwrap();
    store
        .ingest(
            vec![event("b", "web-1", "BackOff", "Pod", 3, t + 20)],
            now(),
        )
        .unwrap();
    store.commit(now()).unwrap();
    let timeline = store
        .timeline("prod", "shop", "Pod", "web-1", 1000)
        .unwrap();
    let reasons: Vec<(&str, i64)> = timeline
        .iter()
        .map(|r| (r.reason.as_str(), r.occurrences))
        .collect();
    assert_eq!(
        reasons,
        [
            ("Scheduled", 1),
            ("Pulled", 1),
            ("BackOff", 1),
            ("BackOff", 2)
        ]
    );
    assert!(
        store
            .timeline("prod", "shop", "Pod", "nope", 10)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn aggregations_sum_occurrences() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let t = (now() / 300_000) * 300_000 - 600_000;
    store
        .ingest(
            vec![
                event("a", "p1", "BackOff", "Pod", 5, t),
                event("b", "p2", "Unhealthy", "Pod", 2, t + 1),
                event("c", "p3", "Started", "Pod", 1, t + 300_000),
                event("d", "p4", "BackOff", "Pod", 1, t + 300_001),
            ],
            now(),
        )
        .unwrap();
    store.commit(now()).unwrap();
    let by_reason = store
        .aggregate(&AggregateRequest {
            filter: Filter::default().with(Field::Type, "Warning"),
            group_by: Some(Field::Reason),
            bucket_ms: None,
            limit: 10,
        })
        .unwrap();
    let pairs: Vec<(String, u64, i64)> = by_reason
        .into_iter()
        .map(|r| (r.group.unwrap(), r.records, r.occurrences))
        .collect();
    assert_eq!(
        pairs,
        [
            ("BackOff".to_string(), 2, 6),
            ("Unhealthy".to_string(), 1, 2)
        ]
    );
    let histogram = store
        .aggregate(&AggregateRequest {
            filter: Filter::default(),
            group_by: Some(Field::Type),
            bucket_ms: Some(300_000),
            limit: 0,
        })
        .unwrap();
    let cells: Vec<(i64, String, i64)> = histogram
        .into_iter()
        .map(|r| (r.bucket_ms.unwrap() - t, r.group.unwrap(), r.occurrences))
        .collect();
    assert_eq!(
        cells,
        [
            (0, "Warning".to_string(), 7),
            (300_000, "Normal".to_string(), 1),
            (300_000, "Warning".to_string(), 1),
        ]
    );
    let bad = AggregateRequest {
        bucket_ms: Some(0),
        ..AggregateRequest::default()
    };
    assert!(store.aggregate(&bad).unwrap_err().is_client_error());
}

#[test]
fn retention_drops_whole_days_and_refuses_too_old_events() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    config.retention_days = 3;
    let store = EmbeddedStore::open(config.clone()).unwrap();
    let outcome = store
        .ingest(
            (0..3)
                .map(|day| {
                    event(
                        &format!("e{day}"),
                        "p",
                        "Started",
                        "Pod",
                        1,
                        now() - day * DAY_MS,
                    )
                })
                .chain([event("old", "p", "Started", "Pod", 1, now() - 10 * DAY_MS)])
                .chain([event(
                    "future",
                    "p",
                    "Started",
                    "Pod",
                    1,
                    now() + 2 * DAY_MS,
                )])
                .collect(),
            now(),
        )
        .unwrap();
    assert_eq!(outcome.accepted, 3);
    assert_eq!(outcome.rejected.len(), 2);
    assert_eq!(outcome.rejected[0].0, 3);
    assert!(outcome.rejected[0].1.contains("retention"));
    store.commit(now()).unwrap();
    assert_eq!(
        store.days().unwrap(),
        ["2026-11-23", "2026-11-24", "2026-11-25"]
    );
    // Two days later, the two oldest days are past retention.
    let later = now() + 2 * DAY_MS;
    assert_eq!(
        store.enforce_retention(later).unwrap(),
        ["2026-11-23", "2026-11-24"]
    );
    assert_eq!(store.days().unwrap(), ["2026-11-25"]);
    assert_eq!(all(&store).len(), 1);
    assert!(!dir.path().join("events/2026-11-23").exists());
    drop(store);
    let reopened = EmbeddedStore::open(config).unwrap();
    assert_eq!(reopened.days().unwrap(), ["2026-11-25"]);
}
