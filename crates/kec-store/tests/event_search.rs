//! The details page's reads on the query language: pages newest first with cursors and exact
//! totals, exact groupings in one pass, one record by (time, seq), and the in-memory matcher
//! agreeing with the index.

use std::collections::BTreeSet;

use kec_model::EventRecord;
use kec_model::time::{DAY_MS, parse_time};
use kec_store::{
    EmbeddedStore, EventPageRequest, EventSearch, Field, Filter, Grouping, RecordMatcher,
    SearchRequest, StoreConfig,
};

fn now() -> i64 {
    parse_time("2026-11-25T12:00:00Z").unwrap()
}

struct Spec<'a> {
    cluster: &'a str,
    namespace: &'a str,
    name: &'a str,
    pod: &'a str,
    reason: &'a str,
    message: &'a str,
    count: i64,
    time_ms: i64,
}

fn event(spec: &Spec) -> EventRecord {
    let warning = matches!(spec.reason, "BackOff" | "Unhealthy");
    let time = jiff::Timestamp::from_millisecond(spec.time_ms)
        .unwrap()
        .to_string();
    let json = serde_json::json!({
        "metadata": {"name": spec.name, "namespace": spec.namespace, "uid": format!("uid-{}-{}", spec.cluster, spec.name), "resourceVersion": spec.count.to_string()},
        "involvedObject": {"kind": "Pod", "namespace": spec.namespace, "name": spec.pod, "uid": format!("pod-{}", spec.pod), "apiVersion": "v1"},
        "reason": spec.reason,
        "message": spec.message,
        "type": if warning { "Warning" } else { "Normal" },
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": time, "lastTimestamp": time, "count": spec.count,
    });
    match kec_model::parse_value(json, spec.cluster, 0).unwrap() {
        kec_model::ParsedLine::Observation(observation) => observation.record,
        other => panic!("{other:?}"),
    }
}

/// 3 BackOff observations of one Event (counts 1, 4, 9: occurrences 1 + 3 + 5), Pulled and
/// Unhealthy in shop and kube-system, over two days, in two clusters.
fn loaded() -> (tempfile::TempDir, EmbeddedStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(StoreConfig::new(dir.path())).unwrap();
    let t = now();
    let specs = [
        (
            "prod",
            "shop",
            "e1",
            "web-1",
            "BackOff",
            "Back-off restarting failed container",
            1,
            t - DAY_MS - 60_000,
        ),
        (
            "prod",
            "shop",
            "e1",
            "web-1",
            "BackOff",
            "Back-off restarting failed container",
            4,
            t - 3_600_000,
        ),
        (
            "prod",
            "shop",
            "e1",
            "web-1",
            "BackOff",
            "Back-off restarting failed container",
            9,
            t - 60_000,
        ),
        (
            "prod",
            "shop",
            "e2",
            "web-2",
            "Pulled",
            "Successfully pulled image nginx:1.27",
            1,
            t - 120_000,
        ),
        (
            "prod",
            "kube-system",
            "e3",
            "dns-1",
            "Unhealthy",
            "Readiness probe failed: connection refused",
            2,
            t - 30_000,
        ),
        (
            "prod",
            "kube-system",
            "e4",
            "dns-2",
            "Unhealthy",
            "Liveness probe failed: connection refused",
            1,
            t - 30_000,
        ),
        (
            "staging",
            "shop",
            "e5",
            "web-9",
            "BackOff",
            "Back-off restarting failed container",
            7,
            t - 10_000,
        ),
    ];
    for (cluster, namespace, name, pod, reason, message, count, time_ms) in specs {
        let record = event(&Spec {
            cluster,
            namespace,
            name,
            pod,
            reason,
            message,
            count,
            time_ms,
        });
        let outcome = store.ingest(vec![record], t).unwrap();
        assert!(outcome.rejected.is_empty(), "{outcome:?}");
    }
    store.commit(t).unwrap();
    (dir, store)
}

fn search(text: &str, cluster: Option<&str>) -> EventSearch {
    EventSearch {
        search: kec_query::parse(text).unwrap().search,
        cluster: cluster.map(str::to_string),
        from_ms: now() - 2 * DAY_MS,
        to_ms: now(),
        now_ms: now(),
    }
}

fn page(store: &EmbeddedStore, search: EventSearch, limit: usize) -> kec_store::SearchPage {
    store
        .search_events(&EventPageRequest {
            search,
            limit,
            cursor: None,
            with_totals: true,
        })
        .unwrap()
}

fn reasons(records: &[EventRecord]) -> Vec<(String, i64)> {
    records
        .iter()
        .map(|record| (record.reason.clone(), record.count))
        .collect()
}

#[test]
fn pages_are_newest_first_with_exact_totals() {
    let (_dir, store) = loaded();
    let found = page(&store, search("reason:BackOff", None), 10);
    assert_eq!(
        reasons(&found.records),
        [
            ("BackOff".to_string(), 7),
            ("BackOff".to_string(), 9),
            ("BackOff".to_string(), 4),
            ("BackOff".to_string(), 1)
        ]
    );
    assert_eq!(found.total_records, Some(4));
    // 1 + 3 + 5 from prod's Event, 7 from staging's.
    assert_eq!(found.total_occurrences, Some(16));
    assert_eq!(found.next_cursor, None);

    let prod = page(&store, search("reason:BackOff", Some("prod")), 10);
    assert_eq!(prod.total_records, Some(3));
    assert_eq!(prod.total_occurrences, Some(9));
    assert!(prod.records.iter().all(|record| record.cluster == "prod"));
}

#[test]
fn the_cursor_walks_every_match_once() {
    let (_dir, store) = loaded();
    let everything = page(&store, search("*", None), 100);
    assert_eq!(everything.total_records, Some(7));
    let mut walked = Vec::new();
    let mut cursor = None;
    loop {
        let next = store
            .search_events(&EventPageRequest {
                search: search("*", None),
                limit: 2,
                cursor: cursor.clone(),
                with_totals: false,
            })
            .unwrap();
        assert!(next.records.len() <= 2);
        walked.extend(next.records);
        match next.next_cursor {
            Some(next_cursor) => cursor = Some(next_cursor),
            None => break,
        }
    }
    let seqs = |records: &[EventRecord]| records.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(&walked), seqs(&everything.records));
    // Same as the filter path's order (it compiles through the same AST).
    let by_filter = store
        .search(&SearchRequest::newest(
            Filter::default().between(now() - 2 * DAY_MS, now()),
            100,
        ))
        .unwrap();
    assert_eq!(seqs(&walked), seqs(&by_filter.records));
    let bad = store.search_events(&EventPageRequest {
        search: search("*", None),
        limit: 2,
        cursor: Some("nope".into()),
        with_totals: false,
    });
    assert!(bad.is_err());
}

#[test]
fn language_features_select_the_right_records() {
    let (_dir, store) = loaded();
    let cases = [
        ("namespace:kube-* \"connection refused\"", 2, 3),
        ("-namespace:shop", 2, 3),
        ("reason:(Pulled OR Unhealthy) -readiness", 2, 2),
        ("count:>=4", 3, 15),
        ("nginx", 1, 1),
        (&format!("time:>={}", now() - 60_000) as &str, 4, 15),
    ];
    for (text, records, occurrences) in cases {
        let found = page(&store, search(text, None), 100);
        assert_eq!(
            (found.total_records, found.total_occurrences),
            (Some(records), Some(occurrences)),
            "{text}"
        );
        assert_eq!(found.records.len() as u64, records, "{text}");
    }
}

#[test]
fn groupings_are_exact_and_share_one_pass() {
    let (_dir, store) = loaded();
    let grouped = store
        .group_events(
            &search("*", None),
            &[
                Grouping {
                    group_by: Some(Field::Reason),
                    bucket_ms: None,
                    limit: 1,
                },
                Grouping {
                    group_by: Some(Field::Cluster),
                    bucket_ms: None,
                    limit: 0,
                },
                Grouping {
                    group_by: Some(Field::Type),
                    bucket_ms: Some(DAY_MS),
                    limit: 0,
                },
            ],
        )
        .unwrap();
    assert_eq!(grouped.len(), 3);
    // Only the top reason is kept, with its exact counts.
    assert_eq!(grouped[0].len(), 1);
    assert_eq!(grouped[0][0].group.as_deref(), Some("BackOff"));
    assert_eq!((grouped[0][0].records, grouped[0][0].occurrences), (4, 16));
    let clusters: Vec<(String, u64, i64)> = grouped[1]
        .iter()
        .map(|row| (row.group.clone().unwrap(), row.records, row.occurrences))
        .collect();
    assert!(clusters.contains(&("prod".into(), 6, 13)), "{clusters:?}");
    assert!(clusters.contains(&("staging".into(), 1, 7)), "{clusters:?}");
    let histogram_total: i64 = grouped[2].iter().map(|row| row.occurrences).sum();
    assert_eq!(histogram_total, 20);
    assert!(grouped[2].iter().all(|row| row.bucket_ms.is_some()));
    let bad = store.group_events(
        &search("*", None),
        &[Grouping {
            group_by: None,
            bucket_ms: Some(0),
            limit: 0,
        }],
    );
    assert!(bad.is_err());
}

#[test]
fn a_record_is_found_by_time_and_seq() {
    let (_dir, store) = loaded();
    let newest = page(&store, search("reason:Pulled", None), 1);
    let record = newest.records.first().unwrap();
    let again = store
        .record_at(record.time_ms, record.seq)
        .unwrap()
        .unwrap();
    assert_eq!(again, *record);
    assert_eq!(
        store.record_at(record.time_ms, record.seq + 1000).unwrap(),
        None
    );
    assert_eq!(
        store.record_at(record.time_ms + 1, record.seq).unwrap(),
        None
    );
}

#[test]
fn an_empty_window_is_refused() {
    let (_dir, store) = loaded();
    let mut empty = search("*", None);
    empty.to_ms = empty.from_ms;
    assert!(
        store
            .search_events(&EventPageRequest {
                search: empty.clone(),
                limit: 1,
                cursor: None,
                with_totals: true,
            })
            .is_err()
    );
    assert!(store.group_events(&empty, &[]).is_err());
}

/// The tail's in-memory matcher picks exactly what the index picks.
#[test]
fn the_matcher_agrees_with_the_index() {
    let (_dir, store) = loaded();
    let all = page(&store, search("*", None), 100).records;
    let queries = [
        "reason:BackOff",
        "namespace:kube-* \"connection refused\"",
        "-namespace:shop OR cluster:staging",
        "reason:(Pulled OR Unhealthy) -readiness",
        "count:[2 TO 8}",
        "occurrences:>1",
        "nginx",
        "pull*",
        "name:web-?",
        "\"probe failed\" NOT liveness",
        "time:<now-1h",
        "1.27",
    ];
    for text in queries {
        let by_index: BTreeSet<u64> = page(&store, search(text, None), 100)
            .records
            .iter()
            .map(|record| record.seq)
            .collect();
        let mut matcher =
            RecordMatcher::new(kec_query::parse(text).unwrap().search, now()).unwrap();
        let by_matcher: BTreeSet<u64> = all
            .iter()
            .filter(|record| matcher.matches(record))
            .map(|record| record.seq)
            .collect();
        assert_eq!(by_matcher, by_index, "{text}");
        assert!(
            !by_index.is_empty() || text == "time:<now-1h",
            "{text} matched nothing"
        );
    }
}

/// The facets' dense per-ordinal pass counts what the grouped pass counts, value by value.
#[test]
fn facets_agree_with_groupings() {
    let (_dir, store) = loaded();
    let fields = [Field::Reason, Field::Namespace, Field::Cluster, Field::Node];
    for text in [
        "*",
        "-namespace:shop",
        "connection refused",
        "reason:Nothing",
    ] {
        let search = search(text, None);
        let facets = store.facet_events(&search, &fields, 0).unwrap();
        let groupings: Vec<Grouping> = fields
            .iter()
            .map(|field| Grouping {
                group_by: Some(*field),
                bucket_ms: None,
                limit: 0,
            })
            .collect();
        let grouped = store.group_events(&search, &groupings).unwrap();
        for ((field, facet), group) in fields.iter().zip(&facets).zip(&grouped) {
            let mut expected = group.clone();
            expected.sort_by(|a, b| {
                b.occurrences
                    .cmp(&a.occurrences)
                    .then_with(|| a.group.cmp(&b.group))
            });
            assert_eq!(facet, &expected, "{text}: {field:?}");
        }
    }
    let top = store
        .facet_events(&search("*", None), &[Field::Reason], 1)
        .unwrap();
    assert_eq!(top[0].len(), 1);
    assert_eq!(
        (
            top[0][0].group.as_deref(),
            top[0][0].records,
            top[0][0].occurrences
        ),
        (Some("BackOff"), 4, 16)
    );
}
